"""Operations on OCI bundles, as runc offers them: create, start, state, kill, delete.

A container here is a state directory (``state.json``, ``ctr.log``, the
monitor's ``ctl.sock``) plus a bundle (``config.json`` and its root). The
engine keeps both in ``containers/<id>/``; ``tuidock-runtime`` keeps state
under its ``--root`` and takes bundles from anywhere, as runc does.
"""

from __future__ import annotations

import os
import re
import signal
import time
from typing import Any

from .. import cgroups, control, fsutil, launch, procfs, state
from ..errors import Conflict, InvalidArgument, NotFound, RuntimeFailure
from ..state import State, Status
from . import spec as ocispec

ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def check_id(cid: str) -> None:
    if not ID_RE.match(cid) or len(cid) > 1024:
        raise InvalidArgument(f"container id {cid!r}: invalid (letters, digits, '_', '.', '-')")


def create(state_dir: str, bundle: str, cid: str, run_dir: str, *, start: bool = False,
           attach: dict[str, Any] | None = None, stdin: bool = False,
           console_size: tuple[int, int] | None = None, hooks: str | None = None,
           extra: dict[str, Any] | None = None) -> tuple[control.Connection, dict[str, Any]]:
    """Create (and optionally start) a container from ``bundle``; ``state_dir`` must exist.

    Returns the connection to its monitor (attached if ``attach`` was given)
    and the monitor's reply (``{"created": pid}`` or ``{"started": pid}``).
    """
    spec = ocispec.load(os.path.join(bundle, "config.json"))
    st = State(id=cid, bundle=bundle, status=Status.CREATING, created_ns=time.time_ns(),
               annotations=spec.annotations, terminal=spec.process.terminal)
    state.save(state_dir, st)
    request: dict[str, Any] = {
        "id": cid, "bundle": bundle, "state_dir": state_dir, "start": start, "attach": attach,
        "stdin": stdin, "console_size": list(console_size) if console_size else None, "hooks": hooks,
        **(extra or {}),
    }
    conn = launch.spawn_monitor(run_dir, request)
    try:
        reply = conn.reply()
    except BaseException:
        conn.close()
        raise
    return conn, reply


def load(state_dir: str, cid: str = "") -> State:
    st = state.load(state_dir)
    if st is None:
        raise NotFound(f"container {cid or os.path.basename(state_dir)}: does not exist")
    return state.observe(st)


def start(state_dir: str) -> int:
    st = load(state_dir)
    if st.status is not Status.CREATED:
        raise Conflict(f"container {st.id[:12]}: cannot start a container that is {st.status.value}")
    conn = control.Connection.open(state_dir)
    try:
        return int(conn.call("start")["started"])
    finally:
        conn.close()


def kill(state_dir: str, sig: int) -> None:
    """Send ``sig`` to the container's PID 1 (through its monitor when it lives)."""
    st = load(state_dir)
    if st.status not in (Status.CREATED, Status.RUNNING, Status.PAUSED):
        raise Conflict(f"container {st.id[:12]}: is not running")
    if state.monitor_alive(st):
        conn = control.Connection.open(state_dir)
        try:
            conn.call("kill", signal=sig)
        finally:
            conn.close()
        return
    if st.pid and procfs.is_alive(st.pid, st.pid_start):
        os.kill(st.pid, sig)


def stop(state_dir: str, sig: int = signal.SIGTERM, timeout: float = 10.0) -> State:
    """Signal, wait up to ``timeout`` seconds, then SIGKILL; returns the final state."""
    st = load(state_dir)
    if not st.status.is_active():
        return st
    if state.monitor_alive(st):
        try:
            conn = control.Connection.open(state_dir, timeout=None)
        except NotFound:
            return load(state_dir)
        try:
            conn.call("stop", signal=sig, timeout=timeout)
        except RuntimeFailure:
            pass  # the monitor finished while we asked
        finally:
            conn.close()
        wait_monitor(state_dir)
    elif st.pid and procfs.is_alive(st.pid, st.pid_start):
        os.kill(st.pid, signal.SIGKILL)
    return load(state_dir)


def wait_monitor(state_dir: str, timeout: float = 30.0) -> None:
    """Wait until the monitor has exited (it removes its socket last but one)."""
    st = state.load(state_dir)
    if st is None or not st.monitor_pid:
        return
    deadline = time.monotonic() + timeout
    delay = 0.001
    while state.monitor_alive(st) and time.monotonic() < deadline:
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def wait(state_dir: str) -> State:
    """Block until the container stops (docker wait)."""
    st = load(state_dir)
    if st.status.is_active() or st.status is Status.CREATED:
        try:
            conn = control.Connection.open(state_dir, timeout=None)
        except NotFound:
            return load(state_dir)
        try:
            conn.call("wait")
        except RuntimeFailure:
            pass
        finally:
            conn.close()
        wait_monitor(state_dir)
    return load(state_dir)


def pause(state_dir: str, frozen: bool) -> State:
    st = load(state_dir)
    want, verb = (Status.RUNNING, "pause") if frozen else (Status.PAUSED, "unpause")
    if st.status is not want:
        raise Conflict(f"container {st.id[:12]}: cannot {verb} a container that is {st.status.value}")
    cg = cgroups.open_cgroup(st.cgroup)
    cg.freeze(frozen)
    return state.update(state_dir, status=Status.PAUSED if frozen else Status.RUNNING)


def cleanup(st: State) -> None:
    """Remove what a dead container may have left: its cgroup (after a crash, the monitor could not)."""
    if st.cgroup:
        cg = cgroups.open_cgroup(st.cgroup)
        if cg.exists():
            cg.destroy()


def delete(state_dir: str, force: bool = False, remove_dir: bool = True) -> None:
    """Remove a container; a running one only with ``force`` (then it is killed first)."""
    st = load(state_dir)
    if st.status in (Status.RUNNING, Status.PAUSED, Status.RESTARTING, Status.CREATING) and not force:
        raise Conflict(f"container {st.id[:12]}: cannot delete a {st.status.value} container (stop it first, or force)")
    if st.status is not Status.STOPPED:
        if state.monitor_alive(st):
            try:
                conn = control.Connection.open(state_dir, timeout=None)
                try:
                    conn.call("stop", signal=signal.SIGKILL, timeout=0)
                except RuntimeFailure:
                    pass
                finally:
                    conn.close()
            except NotFound:
                pass
            wait_monitor(state_dir)
        elif st.pid and procfs.is_alive(st.pid, st.pid_start):
            os.kill(st.pid, signal.SIGKILL)
    cleanup(load(state_dir))
    if remove_dir:
        fsutil.remove_tree(state_dir)
