"""A container's runtime state (state.json): written by its monitor, read by everyone.

The file holds the OCI state fields (``ociVersion``, ``id``, ``status``,
``pid``, ``bundle``, ``annotations``) and what tuidock needs beyond them: the
pid's start time (so a recycled pid is never mistaken for the container), the
monitor's pid, timestamps, exit code, signal, OOM kill. Writes go through
:func:`runtime.fsutil.write_json` under the directory's lock file.

A reader never trusts ``status`` alone: :func:`observe` checks the recorded
processes against /proc and reports what is true now, so a container whose
monitor and PID 1 were killed while nobody watched shows as stopped.
"""

from __future__ import annotations

import enum
import os
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from . import fsutil, procfs

STATE_FILE = "state.json"
CREATE_GRACE_NS = 60 * 1_000_000_000
LOCK_FILE = "lock"


class Status(enum.Enum):
    """OCI statuses, plus the ones docker shows."""

    CREATING = "creating"
    CREATED = "created"
    RUNNING = "running"
    PAUSED = "paused"
    RESTARTING = "restarting"
    STOPPED = "stopped"

    def can_start(self) -> bool:
        return self in (Status.CREATED, Status.STOPPED)

    def is_active(self) -> bool:
        """Has live processes (or a monitor about to start them)."""
        return self in (Status.CREATING, Status.RUNNING, Status.PAUSED, Status.RESTARTING)


@dataclass(frozen=True)
class State:
    id: str
    bundle: str
    status: Status = Status.CREATING
    pid: int = 0
    pid_start: int | None = None
    monitor_pid: int = 0
    monitor_start: int | None = None
    created_ns: int = 0
    started_ns: int = 0
    finished_ns: int = 0
    exit_code: int | None = None
    exit_signal: int | None = None
    oom_killed: bool = False
    error: str = ""
    restart_count: int = 0
    cgroup: str = ""
    terminal: bool = False
    stop_requested: bool = False
    rootfs_steps: tuple[str, ...] = ()
    annotations: dict[str, str] = field(default_factory=dict)

    @property
    def running(self) -> bool:
        return self.status in (Status.RUNNING, Status.PAUSED)

    def to_oci(self) -> dict[str, Any]:
        """The state as ``runc state`` prints it."""
        status = "stopped" if self.status is Status.RESTARTING else self.status.value
        return {
            "ociVersion": "1.0.2",
            "id": self.id,
            "status": status,
            "pid": self.pid if self.status in (Status.CREATED, Status.RUNNING, Status.PAUSED) else 0,
            "bundle": self.bundle,
            "annotations": self.annotations,
        }

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["status"] = self.status.value
        d["rootfs_steps"] = list(self.rootfs_steps)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> State:
        d = dict(d)
        d["status"] = Status(d.get("status", "creating"))
        d["rootfs_steps"] = tuple(d.get("rootfs_steps") or ())
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in known})


def path(state_dir: str) -> str:
    return os.path.join(state_dir, STATE_FILE)


def lock(state_dir: str) -> Any:
    return fsutil.locked(os.path.join(state_dir, LOCK_FILE))


def load(state_dir: str) -> State | None:
    try:
        return State.from_json(fsutil.read_json(path(state_dir)))
    except FileNotFoundError:
        return None


def save(state_dir: str, st: State) -> None:
    fsutil.write_json(path(state_dir), st.to_json())


def update(state_dir: str, **changes: Any) -> State:
    """Read-modify-write under the state directory's lock."""
    with lock(state_dir):
        cur = load(state_dir)
        if cur is None:
            raise FileNotFoundError(path(state_dir))
        new = replace(cur, **changes)
        save(state_dir, new)
        return new


def monitor_alive(st: State, proc: str = procfs.PROC) -> bool:
    return bool(st.monitor_pid) and procfs.is_alive(st.monitor_pid, st.monitor_start, proc)


def observe(st: State, proc: str = procfs.PROC) -> State:
    """What is true now, from the recorded state and /proc (pure apart from reading procfs).

    A monitor that died takes its container's PID 1 with it (PID 1 has
    PR_SET_PDEATHSIG=SIGKILL), so "monitor gone, no exit recorded" means the
    container was killed: exit code 137, as for any SIGKILL.
    """
    if not st.status.is_active() and st.status is not Status.CREATED:
        return st
    if monitor_alive(st, proc):
        return st
    if st.status is Status.CREATING and not st.monitor_pid and time.time_ns() - st.created_ns < CREATE_GRACE_NS:
        return st  # the monitor is being forked and has not written its pid yet
    if st.status is Status.CREATING:
        return replace(st, status=Status.STOPPED, exit_code=st.exit_code if st.exit_code is not None else 125,
                       error=st.error or "the container's monitor died while creating it",
                       finished_ns=st.finished_ns or time.time_ns())
    pid_alive = bool(st.pid) and procfs.is_alive(st.pid, st.pid_start, proc)
    if pid_alive:
        return st  # the monitor is gone but the process lives on (it will be killed on rm)
    return replace(
        st,
        status=Status.STOPPED,
        exit_code=137,
        exit_signal=9,
        error=st.error or "the container's monitor died; its process was killed",
        finished_ns=st.finished_ns or time.time_ns(),
        pid=0,
    )
