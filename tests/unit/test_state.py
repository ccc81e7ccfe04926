"""state.json: serialisation, runc's state shape, and :func:`observe` against a fake procfs."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from runtime import state
from runtime.state import CREATE_GRACE_NS, State, Status

from .procfake import add_process

MON, PID = 4100, 4242
MON_START, PID_START = 123456, 123470


@pytest.fixture
def proc(tmp_path: Path) -> Path:
    p = tmp_path / "proc"
    p.mkdir()
    return p


def running(**kw: object) -> State:
    base: dict[str, object] = dict(id="3f2a9c1b7d0e" + "0" * 52, bundle="/var/lib/tuidock/containers/3f2a",
                                   status=Status.RUNNING, pid=PID, pid_start=PID_START, monitor_pid=MON,
                                   monitor_start=MON_START, created_ns=1, started_ns=2)
    base.update(kw)
    return State(**base)  # type: ignore[arg-type]


# ---- serialisation ---------------------------------------------------------------


def test_json_round_trip() -> None:
    st = running(exit_code=3, exit_signal=None, oom_killed=True, error="boom", restart_count=2,
                 cgroup="/tuidock/x", terminal=True, rootfs_steps=("overlay on /m", "pivot_root"),
                 annotations={"org.tuidock.container.name": "web"})
    d = json.loads(json.dumps(st.to_json()))
    assert d["status"] == "running"
    assert d["rootfs_steps"] == ["overlay on /m", "pivot_root"]
    assert State.from_json(d) == st


def test_from_json_ignores_unknown_keys_and_fills_defaults() -> None:
    st = State.from_json({"id": "x", "bundle": "/b", "status": "stopped", "from_the_future": 1})
    assert st == State("x", "/b", Status.STOPPED)
    assert State.from_json({"id": "x", "bundle": "/b"}).status is Status.CREATING


def test_save_and_load(tmp_path: Path) -> None:
    assert state.load(str(tmp_path)) is None
    st = running()
    state.save(str(tmp_path), st)
    assert state.load(str(tmp_path)) == st
    new = state.update(str(tmp_path), status=Status.PAUSED)
    assert new.status is Status.PAUSED and state.load(str(tmp_path)) == new
    assert list(tmp_path.glob("*.tmp*")) == []


def test_update_without_state_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        state.update(str(tmp_path), status=Status.STOPPED)


@pytest.mark.parametrize("status, oci, has_pid", [
    (Status.CREATING, "creating", False),
    (Status.CREATED, "created", True),
    (Status.RUNNING, "running", True),
    (Status.PAUSED, "paused", True),
    (Status.RESTARTING, "stopped", False),
    (Status.STOPPED, "stopped", False),
])
def test_to_oci_is_runcs_state_shape(status: Status, oci: str, has_pid: bool) -> None:
    st = running(status=status, annotations={"a": "b"})
    assert st.to_oci() == {"ociVersion": "1.0.2", "id": st.id, "status": oci, "pid": PID if has_pid else 0,
                           "bundle": st.bundle, "annotations": {"a": "b"}}


def test_status_rules() -> None:
    assert Status.CREATED.can_start() and Status.STOPPED.can_start() and not Status.RUNNING.can_start()
    assert {s for s in Status if s.is_active()} == {Status.CREATING, Status.RUNNING, Status.PAUSED,
                                                   Status.RESTARTING}
    assert running().running and running(status=Status.PAUSED).running
    assert not running(status=Status.CREATED).running


# ---- observe ---------------------------------------------------------------------


def test_monitor_alive_leaves_the_state_unchanged(proc: Path) -> None:
    add_process(proc, MON, "python3 -m runtime.monitor", start=MON_START)
    add_process(proc, PID, "sh", start=PID_START)
    st = running()
    assert state.observe(st, str(proc)) is st


def test_monitor_and_pid_dead_means_killed(proc: Path) -> None:
    before = time.time_ns()
    st = state.observe(running(), str(proc))
    assert st.status is Status.STOPPED
    assert (st.exit_code, st.exit_signal, st.pid) == (137, 9, 0)
    assert "monitor died" in st.error
    assert st.finished_ns >= before


def test_a_recorded_error_and_finish_time_are_kept(proc: Path) -> None:
    st = state.observe(running(error="earlier failure", finished_ns=77), str(proc))
    assert (st.status, st.error, st.finished_ns) == (Status.STOPPED, "earlier failure", 77)


def test_monitor_dead_but_process_alive_is_still_running(proc: Path) -> None:
    add_process(proc, PID, "sh", start=PID_START)
    st = running()
    assert state.observe(st, str(proc)) == st


def test_pid_reuse_counts_as_dead(proc: Path) -> None:
    # Both pids exist, but started later than recorded: they are other processes now.
    add_process(proc, MON, "bash", start=MON_START + 1000)
    add_process(proc, PID, "nginx", start=PID_START + 1000)
    st = state.observe(running(), str(proc))
    assert st.status is Status.STOPPED and st.exit_code == 137


def test_zombie_monitor_counts_as_dead(proc: Path) -> None:
    add_process(proc, MON, "python3", state="Z", start=MON_START)
    assert state.observe(running(), str(proc)).status is Status.STOPPED


def test_monitor_with_spaces_and_parens_in_its_name(proc: Path) -> None:
    add_process(proc, MON, "tuidock (monitor) x) (y", start=MON_START)
    st = running()
    assert state.observe(st, str(proc)) is st


def test_creating_without_monitor_within_grace_stays_creating(proc: Path) -> None:
    st = State("c", "/b", Status.CREATING, created_ns=time.time_ns())
    assert state.observe(st, str(proc)) is st


def test_creating_without_monitor_after_grace_is_stopped(proc: Path) -> None:
    st = State("c", "/b", Status.CREATING, created_ns=time.time_ns() - CREATE_GRACE_NS - 1)
    out = state.observe(st, str(proc))
    assert out.status is Status.STOPPED and out.exit_code == 125 and out.error


def test_creating_with_a_dead_monitor_is_stopped_at_once(proc: Path) -> None:
    st = State("c", "/b", Status.CREATING, monitor_pid=MON, monitor_start=MON_START, created_ns=time.time_ns())
    out = state.observe(st, str(proc))
    assert out.status is Status.STOPPED and out.exit_code == 125
    assert "while creating" in out.error


def test_created_container_whose_monitor_died(proc: Path) -> None:
    out = state.observe(running(status=Status.CREATED, started_ns=0), str(proc))
    assert out.status is Status.STOPPED and out.exit_code == 137


def test_stopped_is_never_reinterpreted(proc: Path) -> None:
    st = running(status=Status.STOPPED, exit_code=0)
    assert state.observe(st, str(proc)) is st


def test_monitor_alive_helper(proc: Path) -> None:
    add_process(proc, MON, start=MON_START)
    assert state.monitor_alive(running(), str(proc))
    assert not state.monitor_alive(running(monitor_pid=0), str(proc))
    assert not state.monitor_alive(running(monitor_start=1), str(proc))
