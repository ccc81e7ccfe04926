"""The container view against a real container: overview, stats, mounts, logs and processes tabs."""

from __future__ import annotations

import os

import pytest

from .pilot import drive, make_app, tui_env, until  # noqa: F401

pytestmark = pytest.mark.requires("root", "overlay", "busybox")


def text_of(widget) -> str:  # type: ignore[no-untyped-def]
    """What a widget shows, as plain text."""
    from rich.console import Console

    console = Console(width=200, record=True, file=open(os.devnull, "w"))
    content = widget.content if hasattr(widget, "content") else widget.render()
    console.print(content)
    return console.export_text()


def table_rows(table) -> list[list[str]]:  # type: ignore[no-untyped-def]
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def open_detail(pilot, app, name):  # type: ignore[no-untyped-def]
    from tuidock.tui.screens.containers import ContainersScreen

    screen = await until(pilot, lambda: isinstance(app.screen, ContainersScreen) and app.screen.is_mounted
                         and name in [app.screen.infos[c].name for c in app.screen.infos] and app.screen,
                         f"{name} listed")
    table = screen.query_one("#containers")
    names = [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
    table.move_cursor(row=names.index(name))
    await pilot.press("enter")
    return await until(pilot, lambda: type(app.screen).__name__ == "ContainerScreen" and app.screen, "the detail view")


def test_detail_tabs_show_the_real_container(tui_env, tmp_path):
    bind = tmp_path / "bound"
    bind.mkdir()
    tui_env.cli("run", "-d", "--name", "web", "--memory", "48m", "--cpus", "0.5", "-v", "webdata:/data",
                "-v", f"{bind}:/srv:ro", "--tmpfs", "/scratch", "busybox", "sh", "-c",
                "echo first-line; echo to-stderr >&2; while true; do echo tick; sleep 0.3; done", check=True)
    pid = int(tui_env.cli("inspect", "-f", "{{.State.Pid}}", "web").stdout)
    app = make_app(tui_env)

    async def scenario(pilot):  # type: ignore[no-untyped-def]
        from textual.widgets import DataTable, RichLog, Static

        detail = await open_detail(pilot, app, "web")
        overview = detail.query_one("#overview-text", Static)
        await until(pilot, lambda: "Network" in text_of(overview) and "busybox" in text_of(overview), "overview")
        text = text_of(overview)
        assert "48MiB" in text and "0.5" in text and "/data" in text and "first-line" in text
        assert str(pid) in text

        await pilot.press("2")
        numbers = detail.query_one("#numbers", Static)
        await until(pilot, lambda: "CPU time" in text_of(numbers), "stats numbers")
        assert "of 48MiB" in text_of(detail.query_one("#plot-memory")) or "/ 48MiB" in str(
            detail.query_one("#plot-memory").border_subtitle)
        assert "50% quota" in str(detail.query_one("#plot-cpu").border_subtitle)

        await pilot.press("5")
        mounts = detail.query_one("#mount-table", DataTable)
        await until(pilot, lambda: mounts.row_count > 5, "mounts")
        by_target = {r[0]: r for r in table_rows(mounts)}
        assert by_target["/"][1] == "root" and by_target["/"][3] == "overlay"
        assert by_target["/data"][1] == "volume" and "webdata" in by_target["/data"][2]
        assert by_target["/srv"][1] == "bind" and by_target["/srv"][2] == str(bind) and by_target["/srv"][5] == "ro"
        assert by_target["/scratch"][1] == "tmpfs" and by_target["/scratch"][3] == "tmpfs"
        # What the container sees is not in the host's mount table.
        assert str(bind) not in open("/proc/self/mountinfo").read()

        await pilot.press("6")
        log = detail.query_one("#log", RichLog)
        await until(pilot, lambda: sum("tick" in str(line.text) for line in log.lines) >= 3, "ticks followed live")
        assert any("first-line" in str(line.text) for line in log.lines)
        before = len(log.lines)
        await until(pilot, lambda: len(log.lines) > before, "more lines while watching")
        await pilot.press("t")
        await until(pilot, lambda: str(log.lines[0].text)[:2] == "20", "timestamps shown")
        await pilot.press("slash")
        for ch in "stderr":
            await pilot.press(ch)
        status = detail.query_one("#logstatus", Static)
        await until(pilot, lambda: "1 hits" in text_of(status), "one hit for 'stderr'")

        await pilot.press("escape")  # back to the log, still in the container view
        assert app.screen is detail and log.has_focus
        await pilot.press("7")
        procs = detail.query_one("#procs", DataTable)
        await until(pilot, lambda: procs.row_count >= 2, "processes")
        rows = table_rows(procs)
        first = next(r for r in rows if r[0] == "1")
        assert first[1] == str(pid)  # container PID 1 is this host PID
        assert first[2] == "root" and first[7].startswith("11:")  # docker's default capability set

    drive(app, scenario)


def test_the_detail_view_goes_back_when_the_container_is_removed(tui_env):
    tui_env.cli("run", "-d", "--name", "gone", "busybox", "sleep", "1000", check=True)
    app = make_app(tui_env)

    async def scenario(pilot):  # type: ignore[no-untyped-def]
        await open_detail(pilot, app, "gone")
        tui_env.cli("rm", "-f", "gone", check=True)
        await until(pilot, lambda: type(app.screen).__name__ == "ContainersScreen", "back on the containers screen")

    drive(app, scenario)
