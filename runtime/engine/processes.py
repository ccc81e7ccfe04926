"""A container's processes as the host and the container see them (``top``, the processes view).

Each process in the container's cgroup has two pids: the host's, and the one
its own PID namespace gives it (``NSpid`` in /proc/<pid>/status, last
column). PID 1 of the container is an ordinary host process with a large pid.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from .. import procfs


@dataclass(frozen=True)
class Process:
    pid: int  # on the host
    container_pid: int  # in the container's PID namespace
    ppid: int
    uid: int
    user: str
    state: str
    start_epoch: float
    cpu_seconds: float
    rss_bytes: int
    threads: int
    cap_eff: int
    command: str


def _users(root: str) -> dict[int, str]:
    out: dict[int, str] = {}
    try:
        with open(os.path.join(root, "etc/passwd")) as f:
            for line in f:
                parts = line.split(":")
                if len(parts) >= 3 and parts[2].isdigit():
                    out.setdefault(int(parts[2]), parts[0])
    except OSError:
        pass
    return out


def list_processes(pids: list[int], proc: str = procfs.PROC) -> list[Process]:
    """Describe ``pids`` (a cgroup's members); names come from the container's own /etc/passwd."""
    out = []
    users: dict[int, str] | None = None
    btime = procfs.boot_time(proc)
    page = os.sysconf("SC_PAGE_SIZE")
    for pid in pids:
        fields = procfs.read_stat(pid, proc)
        status = procfs.status_fields(pid, proc)
        if fields is None or not status:
            continue
        try:
            with open(f"{proc}/{pid}/cmdline", "rb") as f:
                cmd = f.read().rstrip(b"\0").replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            cmd = ""
        if users is None:
            users = _users(f"{proc}/{pid}/root")
        uid = int(status.get("Uid", "0").split()[0])
        nspids = [int(x) for x in status.get("NSpid", str(pid)).split()]
        out.append(Process(
            pid=pid,
            container_pid=nspids[-1],
            ppid=int(fields[3]),
            uid=uid,
            user=users.get(uid, str(uid)),
            state=fields[2],
            start_epoch=btime + int(fields[21]) / procfs.CLK_TCK,
            cpu_seconds=(int(fields[13]) + int(fields[14])) / procfs.CLK_TCK,
            rss_bytes=int(fields[23]) * page,
            threads=int(fields[19]),
            cap_eff=int(status.get("CapEff", "0"), 16),
            command=cmd or f"[{fields[1]}]",
        ))
    return sorted(out, key=lambda p: p.container_pid)


def format_cpu_time(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def format_stime(epoch: float, now: float | None = None) -> str:
    now = now or time.time()
    t = time.localtime(epoch)
    return time.strftime("%H:%M" if now - epoch < 86400 else "%b%d", t)
