"""The containers screen against the real engine: every key does what it says to real containers."""

from __future__ import annotations

import os
import pty
import select
import time

import pytest

from .pilot import drive, make_app, status, tui_env, until  # noqa: F401

pytestmark = pytest.mark.requires("root", "overlay", "busybox")


def rows(app):  # type: ignore[no-untyped-def]
    """What the table shows: {name: {column: text}}."""
    from tuidock.tui.screens.containers import COLUMN_KEYS, ContainersScreen

    screen = next((s for s in app.screen_stack if isinstance(s, ContainersScreen)), None)
    if screen is None or not screen.is_mounted:
        return {}
    table = screen.query_one("#containers")
    out = {}
    for i in range(table.row_count):
        cells = [str(c) for c in table.get_row_at(i)]
        out[cells[0]] = dict(zip(COLUMN_KEYS, cells, strict=True))
    return out


def order(app):  # type: ignore[no-untyped-def]
    from tuidock.tui.screens.containers import ContainersScreen

    screen = next(s for s in app.screen_stack if isinstance(s, ContainersScreen))
    table = screen.query_one("#containers")
    return [str(table.get_row_at(i)[0]) for i in range(table.row_count)]


async def select_row(pilot, app, name):  # type: ignore[no-untyped-def]
    from tuidock.tui.screens.containers import ContainersScreen

    screen = next(s for s in app.screen_stack if isinstance(s, ContainersScreen))
    table = screen.query_one("#containers")
    await until(pilot, lambda: name in rows(app), f"{name} in the table")
    table.move_cursor(row=order(app).index(name))
    await pilot.pause(0.05)


def test_table_shows_every_container_with_live_cgroup_stats(tui_env):
    tui_env.cli("run", "-d", "--name", "busy", "--memory", "64m", "busybox", "sh", "-c",
                "while true; do :; done", check=True)
    tui_env.cli("create", "--name", "made", "busybox", "true", check=True)
    app = make_app(tui_env)

    async def scenario(pilot):  # type: ignore[no-untyped-def]
        shown = await until(pilot, lambda: (r := rows(app)).get("busy", {}).get("cpu", "-") != "-" and r,
                            "busy's CPU %")
        assert shown["busy"]["status"].startswith("Up ")
        assert shown["made"]["status"] == "Created" and shown["made"]["cpu"] == "-"
        assert shown["busy"]["memory"].endswith("/ 64MiB")
        assert int(shown["busy"]["pids"]) >= 1
        # A busy loop: docker's CPU % (100 = one core) is far above idle.
        await until(pilot, lambda: float(rows(app)["busy"]["cpu"].rstrip("%")) > 20, "busy's CPU above 20%")
        # A container created from another terminal appears without any key pressed.
        tui_env.cli("run", "-d", "--name", "late", "busybox", "sleep", "100", check=True)
        await until(pilot, lambda: "late" in rows(app), "late in the table")
        tui_env.cli("rm", "-f", "late", check=True)
        await until(pilot, lambda: "late" not in rows(app), "late gone from the table")

    drive(app, scenario)


def test_start_stop_pause_restart_and_delete_keys(tui_env):
    tui_env.cli("create", "--name", "k", "busybox", "sleep", "1000", check=True)
    app = make_app(tui_env)

    async def scenario(pilot):  # type: ignore[no-untyped-def]
        await select_row(pilot, app, "k")
        await pilot.press("s")
        await until(pilot, lambda: status(tui_env, "k") == "running", "k running after s")
        await until(pilot, lambda: rows(app)["k"]["status"].startswith("Up"), "k shown as Up")
        await pilot.press("p")
        await until(pilot, lambda: status(tui_env, "k") == "paused", "k paused after p")
        await until(pilot, lambda: "(Paused)" in rows(app)["k"]["status"], "k shown as paused")
        await pilot.press("p")
        await until(pilot, lambda: status(tui_env, "k") == "running", "k running after the second p")
        before = tui_env.cli("inspect", "-f", "{{.State.Pid}}", "k").stdout.strip()
        await pilot.press("r")
        await until(pilot, lambda: tui_env.cli("inspect", "-f", "{{.State.Pid}}", "k").stdout.strip()
                    not in (before, "0"), "a new PID 1 after r")
        await pilot.press("x")
        await until(pilot, lambda: status(tui_env, "k") == "exited", "k exited after x", timeout=20)
        await pilot.press("d")
        await until(pilot, lambda: type(app.screen).__name__ == "ConfirmDialog", "the confirmation after d")
        await pilot.press("n")  # no: nothing happens
        await until(pilot, lambda: type(app.screen).__name__ == "ContainersScreen", "the dialog closed after n")
        await pilot.pause(0.3)
        assert status(tui_env, "k") == "exited"
        await pilot.press("d")
        await until(pilot, lambda: type(app.screen).__name__ == "ConfirmDialog", "the confirmation after d")
        await pilot.press("y")
        await until(pilot, lambda: tui_env.cli("inspect", "k").returncode != 0, "k removed after d, y")
        await until(pilot, lambda: "k" not in rows(app), "k gone from the table")

    drive(app, scenario)


def test_an_engine_error_is_a_notification_not_a_crash(tui_env):
    tui_env.cli("run", "-d", "--name", "up", "busybox", "sleep", "1000", check=True)
    app = make_app(tui_env)

    async def scenario(pilot):  # type: ignore[no-untyped-def]
        await select_row(pilot, app, "up")
        await pilot.press("s")  # already running: the engine refuses
        await until(pilot, lambda: any("already running" in str(n.message) or "is running" in str(n.message)
                                       for n in app._notifications), "the engine's refusal as a notification")
        assert app.is_running and status(tui_env, "up") == "running"

    drive(app, scenario)


def test_run_dialog_starts_a_container_and_flags_bad_input_inline(tui_env):
    app = make_app(tui_env)

    async def scenario(pilot):  # type: ignore[no-untyped-def]
        from textual.widgets import Button, Input, Static

        await pilot.pause(0.5)
        await pilot.press("n")
        dialog = await until(pilot, lambda: type(app.screen).__name__ == "RunDialog" and app.screen, "the dialog")
        await until(pilot, lambda: dialog._images_loaded, "the image list")
        dialog.query_one("#memory", Input).value = "12q"
        error = dialog.query_one("#memory-error", Static)
        await until(pilot, lambda: error.display, "the memory field's error")
        assert "12q" in str(error.render())
        assert dialog.query_one("#run", Button).disabled
        dialog.query_one("#memory", Input).value = "32m"
        dialog.query_one("#name", Input).value = "fromdialog"
        dialog.query_one("#command", Input).value = "sh -c 'echo dialog-made; sleep 1000'"
        dialog.query_one("#env", Input).value = "GREETING=hi"
        await until(pilot, lambda: not error.display and not dialog.query_one("#run", Button).disabled,
                    "the form valid again")
        assert "tuidock run --name fromdialog" in str(dialog.query_one("#cmdline", Static).render())
        await pilot.press("ctrl+r")
        await until(pilot, lambda: status(tui_env, "fromdialog") == "running", "the dialog's container running")
        assert tui_env.cli("inspect", "-f", "{{.HostConfig.Memory}}", "fromdialog").stdout.strip() == str(32 << 20)
        assert "GREETING=hi" in tui_env.cli("exec", "fromdialog", "env").stdout
        await until(pilot, lambda: "dialog-made" in tui_env.cli("logs", "fromdialog").stdout, "its output")

    drive(app, scenario)


def test_filter_and_sort(tui_env):
    for name in ("alpha", "bravo", "charlie"):
        tui_env.cli("run", "-d", "--name", name, "busybox", "sleep", "1000", check=True)
    app = make_app(tui_env)

    async def scenario(pilot):  # type: ignore[no-untyped-def]
        await until(pilot, lambda: len(rows(app)) == 3, "three rows")
        await pilot.press("slash")
        for ch in "rav":
            await pilot.press(ch)
        await until(pilot, lambda: list(rows(app)) == ["bravo"], "only bravo after /rav")
        await pilot.press("escape")
        await until(pilot, lambda: len(rows(app)) == 3, "three rows after escape")
        screen = app.screen
        while screen.sort_column != 0:  # o cycles the sort column; column 0 is the name
            await pilot.press("o")
        await until(pilot, lambda: order(app) == ["alpha", "bravo", "charlie"], "sorted by name")
        await pilot.press("O")
        await until(pilot, lambda: order(app) == ["charlie", "bravo", "alpha"], "reversed")

    drive(app, scenario)


def run_in_pty(argv: list[str], typed: bytes, expect: bytes, then: bytes = b"", timeout: float = 20.0) -> bytes:
    """Run ``argv`` on a new pseudo-terminal, as the suspended app would on the real one.

    Types ``typed`` once the program has printed something (or after 1.5 s: an
    attach shows nothing until there is new output), reads until ``expect``,
    then types ``then`` and waits for the program to end.
    """
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(argv[0], argv)
    out = b""
    start = time.monotonic()
    sent = False
    try:
        while time.monotonic() < start + timeout and expect not in out:
            r, _, _ = select.select([fd], [], [], 0.2)
            if r:
                try:
                    out += os.read(fd, 4096)
                except OSError:
                    break
            if not sent and (out or time.monotonic() > start + 1.5):
                os.write(fd, typed)
                sent = True
        if expect in out and then:
            os.write(fd, then)
    finally:
        deadline = time.monotonic() + 10
        while os.waitpid(pid, os.WNOHANG) == (0, 0):
            if time.monotonic() > deadline:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                break
            time.sleep(0.05)
    return out


def test_exec_and_attach_keys_hand_the_container_a_terminal(tui_env):
    tui_env.cli("run", "-d", "-it", "--name", "sh1", "busybox", "sh", check=True)
    app = make_app(tui_env)
    handed: list[list[str]] = []

    def fake_terminal(argv: list[str], banner: str) -> int:
        # The suspended app would give the real terminal to argv: give it a pty and type into it.
        handed.append(argv)
        if "exec" in argv:
            assert b"in-42" in run_in_pty(argv, b"echo in-$((6*7)); exit\r", b"in-42")
        else:  # attach, then detach with ctrl-p ctrl-q
            assert b"attached-42" in run_in_pty(argv, b"echo attached-$((6*7))\r", b"attached-42", then=b"\x10\x11")
        return 0

    app.run_in_terminal = fake_terminal  # type: ignore[method-assign]

    async def scenario(pilot):  # type: ignore[no-untyped-def]
        await select_row(pilot, app, "sh1")
        await pilot.press("e")
        await until(pilot, lambda: len(handed) == 1, "exec handed over")
        assert handed[0][-4:] == ["--detach-keys", "ctrl-p,ctrl-q", handed[0][-2], "sh"]
        assert "exec" in handed[0] and "-it" in handed[0]
        await pilot.press("a")
        await until(pilot, lambda: len(handed) == 2, "attach handed over")
        assert "attach" in handed[1]
        assert status(tui_env, "sh1") == "running"  # detached, not stopped

    drive(app, scenario)


def test_help_lists_the_keys(tui_env):
    app = make_app(tui_env)

    async def scenario(pilot):  # type: ignore[no-untyped-def]
        await pilot.pause(0.3)
        await pilot.press("question_mark")
        await until(pilot, lambda: type(app.screen).__name__ == "HelpScreen", "the help screen")
        text = " ".join(what for _, what in app.screen.entries)
        for words in ("Start", "Stop", "Exec", "Attach", "Delete", "Filter", "Command palette"):
            assert words in text
        await pilot.press("escape")
        await until(pilot, lambda: type(app.screen).__name__ == "ContainersScreen", "back on the containers")

    drive(app, scenario)


def test_quit_leaves_containers_running(tui_env):
    tui_env.cli("run", "-d", "--name", "stays", "busybox", "sleep", "1000", check=True)
    app = make_app(tui_env)

    async def scenario(pilot):  # type: ignore[no-untyped-def]
        await until(pilot, lambda: "stays" in rows(app), "stays in the table")
        await pilot.press("q")

    drive(app, scenario)
    assert app.return_code == 0
    assert status(tui_env, "stays") == "running"
