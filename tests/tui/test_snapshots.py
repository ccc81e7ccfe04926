"""Snapshot tests: each screen drawn from fixed content, compared with the accepted SVG in __snapshots__/.

The app runs with its sampler off and is handed a hand-made snapshot (three
containers at a fixed time, five minutes of fixed stats), so the pictures do
not depend on this machine. Update them after a deliberate change with
``pytest tests/tui/test_snapshots.py --snapshot-update`` and look at the diff.
"""

from __future__ import annotations

import math
import time

import pytest

from runtime.cgroups import stats as st
from runtime.cgroups.resources import Resources
from runtime.engine.model import Config, ContainerInfo, ContainerRecord, ContainerStatus, HostConfig
from runtime.state import State, Status
from tuidock.tui.backend import Endpoint, Snapshot

from .pilot import until

NOW = 1_763_900_000.0  # fixed "now" for every status and clock on screen
SIZE = (140, 40)


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()


def info(n: int, name: str, status: ContainerStatus, cmd: tuple[str, ...], memory: int | None = None,
         exit_code: int | None = None) -> ContainerInfo:
    cid = f"{n:x}" * 64
    record = ContainerRecord(cid[:64], name, int((NOW - 3600) * 1e9), "sha256:" + "ab" * 32, (),
                             Config(image="busybox", cmd=cmd, hostname=cid[:12]),
                             HostConfig(resources=Resources(memory=memory)))
    up = status in (ContainerStatus.RUNNING, ContainerStatus.PAUSED)
    state = None if status is ContainerStatus.CREATED else State(
        cid[:64], "/bundle", Status.RUNNING if up else Status.STOPPED, pid=4242 + n if up else 0,
        started_ns=int((NOW - 180 * n) * 1e9), finished_ns=0 if up else int((NOW - 7) * 1e9), exit_code=exit_code)
    return ContainerInfo(record, state, status)


def sample(c: ContainerInfo, i: int, memory_limit: int | None) -> st.ContainerStats:
    """Sample ``i`` of a slow sine wave, one a second, ending at NOW."""
    wave = (math.sin(i / 9) + 1) / 2
    return st.ContainerStats(
        c.id, c.name, c.pid, int((NOW - 299 + i) * 1e9), 1,
        st.CpuStats(int(i * 4e8), None, None, 40 * wave, 2, 0.5 if memory_limit else None, i * 10, i * 2 if
                    memory_limit else 0, i * 1000),
        st.MemoryStats(int(20e6 + 10e6 * wave), int(30e6 + 10e6 * wave), memory_limit or 24 << 30,
                       memory_limit is not None, 0.0, 12 << 20, 8 << 20, 1 << 20, None, 0, 0),
        st.PidsStats(3 + int(4 * wave), 64), st.BlockIO(i * 4096, i * 8192),
        st.NetStats(i * 1500, i, i * 700, i, ()), None)


def fixed_snapshot(app) -> Snapshot:  # type: ignore[no-untyped-def]
    for screen in app.screen_stack:
        screen.sub_title = "/var/lib/tuidock"  # not the test's temporary root, which changes every run
    web = info(1, "web", ContainerStatus.RUNNING, ("httpd", "-f"), memory=64 << 20)
    job = info(2, "batch-job", ContainerStatus.EXITED, ("sh", "-c", "exit 3"), exit_code=3)
    later = info(3, "later", ContainerStatus.CREATED, ("true",))
    samples = [sample(web, i, 64 << 20) for i in range(300)]
    app.backend.history.add(samples, {web.id})
    return Snapshot(1, NOW, (web, job, later), {web.id: samples[-1]},
                    {web.id: Endpoint("10.77.0.2", ("0.0.0.0:8080->80/tcp",))})


def make(tmp_path):  # type: ignore[no-untyped-def]
    from runtime.engine.engine import Engine
    from tuidock.tui.app import TuidockApp

    settings = {"detach_keys": "ctrl-p,ctrl-q", "refresh_interval": 1.0, "theme": "textual-dark", "keys": {}}
    return TuidockApp(Engine(str(tmp_path / "root"), "/tuidock-snapshots"), settings=settings, sample=False)


def test_containers_screen(snap_compare, tmp_path):  # type: ignore[no-untyped-def]
    app = make(tmp_path)

    async def before(pilot):  # type: ignore[no-untyped-def]
        await pilot.pause()
        app.deliver(fixed_snapshot(app))
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=before)


def test_help_screen(snap_compare, tmp_path):  # type: ignore[no-untyped-def]
    app = make(tmp_path)

    async def before(pilot):  # type: ignore[no-untyped-def]
        await pilot.pause()
        app.deliver(fixed_snapshot(app))
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=before)


def test_run_dialog_with_an_error(snap_compare, tmp_path):  # type: ignore[no-untyped-def]
    app = make(tmp_path)

    async def before(pilot):  # type: ignore[no-untyped-def]
        from textual.widgets import Input

        await pilot.pause()
        app.deliver(fixed_snapshot(app))
        await pilot.press("n")
        dialog = await until(pilot, lambda: type(app.screen).__name__ == "RunDialog" and app.screen, "the dialog")
        # The image list loads in a worker (an empty store here); the errors show once the form is checked.
        await until(pilot, lambda: dialog._images_loaded, "the image list")
        for box in dialog.query(Input):
            box.cursor_blink = False  # a blinking cursor is drawn or not by the clock: a loaded machine differs
        dialog.query_one("#name", Input).value = "web2"
        dialog.query_one("#memory", Input).value = "64x"
        dialog.set_focus(dialog.query_one("#name", Input))
        await until(pilot, lambda: dialog.query_one("#memory-error").display, "the memory field's error")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=before)


def test_stats_tab(snap_compare, tmp_path):  # type: ignore[no-untyped-def]
    app = make(tmp_path)

    async def before(pilot):  # type: ignore[no-untyped-def]
        from tuidock.tui.screens.container import ContainerScreen

        await pilot.pause()
        snap = fixed_snapshot(app)
        app.deliver(snap)
        await app.push_screen(ContainerScreen(snap.containers[0].id, "stats"))
        await pilot.pause()
        app.deliver(snap)
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=before)
