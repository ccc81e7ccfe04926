"""Keys typed in one burst with a focus change: each lands where the focus is by then, as a person expects.

Textual forwards every queued key to the widget focused when the app takes
it, and a binding that moves the focus runs only after its key has gone
round the widget tree, so without care `/bench` opened the filter and sent
`bench` to the table (where `e` is exec). These tests queue the whole burst
before the app handles the first key (``burst``), as a terminal delivers
fast typing; ``pilot.press`` would wait after every key and hide the bug.
"""

from __future__ import annotations

import pytest

from .pilot import burst, drive, make_app, status, tui_env, until  # noqa: F401
from .test_containers import rows, select_row

pytestmark = pytest.mark.requires("root", "overlay", "busybox")


def recorder(app):  # type: ignore[no-untyped-def]
    """Every terminal hand-over (exec, attach, run -it) the app asks for, instead of doing it."""
    handed: list[list[str]] = []

    def fake_terminal(argv: list[str], banner: str) -> int:
        handed.append(argv)
        return 0

    app.run_in_terminal = fake_terminal
    return handed


def test_slash_and_the_filter_text_in_one_burst(tui_env):
    for name in ("keys-bench", "keys-other"):
        tui_env.cli("run", "-d", "--name", name, "busybox", "sleep", "1000", check=True)
    app = make_app(tui_env)
    handed = recorder(app)

    async def scenario(pilot):  # type: ignore[no-untyped-def]
        from textual.widgets import Input

        await until(pilot, lambda: len(rows(app)) == 2, "two rows")
        await select_row(pilot, app, "keys-other")  # running: an `e` reaching the table would exec into it
        await burst(pilot, *"/bench")
        screen = app.screen
        assert type(screen).__name__ == "ContainersScreen", f"a key of the filter text opened {screen}"
        box = screen.query_one("#filter", Input)
        await until(pilot, lambda: box.value == "bench", f"the filter to hold 'bench' (it holds {box.value!r})")
        assert screen.focused is box
        await until(pilot, lambda: list(rows(app)) == ["keys-bench"], "only keys-bench after /bench")
        await pilot.pause(0.3)
        assert handed == [], f"a key of the filter text ran an action: {handed}"
        assert not [n for n in app._notifications if "exec" in str(n.message)]
        # `/` typed inside the filter is a character, not the filter key again.
        await burst(pilot, "/", "x")
        await until(pilot, lambda: box.value == "bench/x", "bench/x in the filter")
        box.value = "bench"
        await pilot.pause()
        # enter closes the filter: the keys after it are the table's again, in the same burst.
        await burst(pilot, "enter", "e")
        await until(pilot, lambda: len(handed) == 1, "e after enter: exec handed over")
        assert box.value == "bench" and list(rows(app)) == ["keys-bench"]
        bench_id = tui_env.cli("inspect", "-f", "{{.Id}}", "keys-bench").stdout.strip()
        assert "exec" in handed[0] and handed[0][-2:] == [bench_id, "sh"]
        # escape clears it; a key right behind it is the table's, not the filter's.
        await burst(pilot, "/", "escape", "o")
        await until(pilot, lambda: app.screen.sort_column == 3, "o after escape: sorted by the next column")
        await until(pilot, lambda: box.value == "" and len(rows(app)) == 2, "the filter cleared, both rows back")
        assert not screen.query_one("#filterbar").display
        assert status(tui_env, "keys-bench") == "running"

    drive(app, scenario)


def test_run_dialog_fields_typed_in_one_burst(tui_env):
    app = make_app(tui_env)

    async def scenario(pilot):  # type: ignore[no-untyped-def]
        from textual.widgets import Input

        await pilot.pause(0.3)
        await burst(pilot, "n")
        dialog = await until(pilot, lambda: type(app.screen).__name__ == "RunDialog" and app.screen, "the dialog")
        await until(pilot, lambda: dialog._images_loaded, "the image list")
        # Name, enter, command, enter, environment: typed as fast as a paste.
        await burst(pilot, *"keys-web", "enter", *"sleep", "space", *"1000", "enter", *"A=1")
        for field, want in (("name", "keys-web"), ("command", "sleep 1000"), ("env", "A=1")):
            box = dialog.query_one(f"#{field}", Input)
            await until(pilot, lambda box=box, want=want: box.value == want,
                        f"#{field} to hold {want!r} (it holds {box.value!r})")
        assert dialog.focused is dialog.query_one("#env", Input)
        # Enter on the last field runs it, with everything typed before it in the same burst.
        dialog.query_one("#pids", Input).focus()
        await pilot.pause()
        await burst(pilot, *"50", "enter")
        await until(pilot, lambda: status(tui_env, "keys-web") == "running", "the dialog's container running")
        assert tui_env.cli("inspect", "-f", "{{.HostConfig.PidsLimit}}", "keys-web").stdout.strip() == "50"

    drive(app, scenario)


def test_a_name_typed_right_behind_n_lands_in_the_run_dialog(tui_env):
    app = make_app(tui_env)

    async def scenario(pilot):  # type: ignore[no-untyped-def]
        from textual.widgets import Input

        await until(pilot, lambda: type(app.screen).__name__ == "ContainersScreen", "the containers screen")
        await pilot.pause(0.3)
        # `n` and the name in one burst: the dialog is still being composed when the name's keys arrive.
        await burst(pilot, "n", *"keys-fast")
        dialog = await until(pilot, lambda: type(app.screen).__name__ == "RunDialog" and app.screen, "the dialog")
        box = dialog.query_one("#name", Input)
        await until(pilot, lambda: box.value == "keys-fast", f"the name typed behind n (the box holds {box.value!r})")
        assert dialog.focused is box

    drive(app, scenario)


def test_editing_keys_act_on_the_field_they_were_typed_in(tui_env):
    app = make_app(tui_env)

    async def scenario(pilot):  # type: ignore[no-untyped-def]
        from textual.widgets import Input

        await until(pilot, lambda: type(app.screen).__name__ == "ContainersScreen", "the containers screen")
        await burst(pilot, "n")
        dialog = await until(pilot, lambda: type(app.screen).__name__ == "RunDialog" and app.screen, "the dialog")
        await until(pilot, lambda: dialog._images_loaded, "the image list")
        # A typo mended right before enter, then a field left with tab, all as fast as a paste: the backspace
        # belongs to the name, the text behind tab to the environment.
        await burst(pilot, *"keys-webx", "backspace", "enter", *"sleep", "space", *"1000", "left", "left", "left",
                    "left", "backspace", "tab", *"A=1")
        want = {"name": "keys-web", "command": "sleep1000", "env": "A=1"}
        for field, value in want.items():
            box = dialog.query_one(f"#{field}", Input)
            await until(pilot, lambda box=box, value=value: box.value == value,
                        f"#{field} to hold {value!r} (it holds {box.value!r})")
        assert dialog.focused is dialog.query_one("#env", Input)
        # shift+tab goes back, and ctrl+w typed behind it erases a word of the command, not of the environment
        # (a field selects its text as it takes the focus: `end` goes past it).
        await burst(pilot, "shift+tab", "end", "ctrl+w", "tab", "end", *"B")
        await until(pilot, lambda: dialog.query_one("#command", Input).value == "", "the command's word erased")
        await until(pilot, lambda: dialog.query_one("#env", Input).value == "A=1B", "B typed into the environment")

    drive(app, scenario)


def test_a_prompt_dialog_takes_its_fields_typed_in_one_burst(tui_env):
    app = make_app(tui_env)

    def networks() -> list[str]:
        return tui_env.cli("network", "ls", "--format", "{{.Name}}", check=True).stdout.split()

    async def scenario(pilot):  # type: ignore[no-untyped-def]
        await until(pilot, lambda: type(app.screen).__name__ == "ContainersScreen", "the containers screen")
        await pilot.pause(0.3)
        # `4` opens the networks screen and `c` its create dialog, the name follows at once (mended with
        # backspace right before enter moves on), then enter through the empty subnet and gateway answers.
        await burst(pilot, "4", "c", *"keys-netx", "backspace", "enter", "enter", "enter")
        await until(pilot, lambda: "keys-net" in networks(), f"keys-net created (networks: {networks()})")
        assert type(app.screen).__name__ == "NetworksScreen"

    try:
        drive(app, scenario)
    finally:
        tui_env.cli("network", "rm", "keys-net")
