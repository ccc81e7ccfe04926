"""Readers for /proc: process start times, namespace links, status fields (mountinfo: :mod:`runtime.mountinfo`).

Every function takes the procfs root as a parameter (default ``/proc``) so the
parsers are tested against fake trees without root, as psutil does with
``PROCFS_PATH``.
"""

from __future__ import annotations

import os

PROC = "/proc"

# The namespace types a container has, in the order setns(2) joins them: the
# mount namespace last, because after it /proc/<pid>/ns paths of the host no
# longer resolve.
NAMESPACES = ("ipc", "uts", "net", "pid", "cgroup", "mnt")
ALL_NS_LINKS = ("cgroup", "ipc", "mnt", "net", "pid", "pid_for_children", "time", "time_for_children", "user", "uts")


def read_stat(pid: int, proc: str = PROC) -> list[str] | None:
    """The fields of /proc/<pid>/stat, with the command name kept whole (it may hold spaces)."""
    try:
        with open(f"{proc}/{pid}/stat", "rb") as f:
            raw = f.read().decode(errors="replace")
    except (FileNotFoundError, ProcessLookupError):
        return None
    lparen, rparen = raw.find("("), raw.rfind(")")
    return [raw[:lparen].strip(), raw[lparen + 1 : rparen]] + raw[rparen + 2 :].split()


def start_time(pid: int, proc: str = PROC) -> int | None:
    """Field 22 of /proc/<pid>/stat: start time in clock ticks since boot (guards against pid reuse)."""
    fields = read_stat(pid, proc)
    return int(fields[21]) if fields else None


def process_state(pid: int, proc: str = PROC) -> str | None:
    fields = read_stat(pid, proc)
    return fields[2] if fields else None


def is_alive(pid: int, started: int | None, proc: str = PROC) -> bool:
    """True when ``pid`` runs and is the same process that started at ``started`` (not a zombie)."""
    if pid <= 0:
        return False
    fields = read_stat(pid, proc)
    if fields is None or fields[2] in ("Z", "X"):
        return False
    return started is None or int(fields[21]) == started


def ns_link(pid: int, ns: str, proc: str = PROC) -> str | None:
    """``readlink /proc/<pid>/ns/<ns>``, e.g. ``net:[4026532281]``; None when unreadable."""
    try:
        return os.readlink(f"{proc}/{pid}/ns/{ns}")
    except OSError:
        return None


def ns_inode(link: str) -> int:
    """The inode number inside a link such as ``pid:[4026531836]``."""
    return int(link[link.index("[") + 1 : link.rindex("]")])


def ns_links(pid: int, proc: str = PROC) -> dict[str, str]:
    """Every namespace link of a process: {type: link}."""
    out = {}
    for ns in ALL_NS_LINKS:
        link = ns_link(pid, ns, proc)
        if link is not None:
            out[ns] = link
    return out


def status_fields(pid: int, proc: str = PROC) -> dict[str, str]:
    """/proc/<pid>/status as a dict of its ``Key:\\tvalue`` lines."""
    out = {}
    try:
        with open(f"{proc}/{pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                out[k] = v.strip()
    except (FileNotFoundError, ProcessLookupError):
        pass
    return out


def ns_pids(pid: int, proc: str = PROC) -> list[int]:
    """NSpid: the pid of a process in each pid namespace it belongs to, outermost first."""
    v = status_fields(pid, proc).get("NSpid", "")
    return [int(x) for x in v.split()]


def boot_time(proc: str = PROC) -> float:
    with open(f"{proc}/stat") as f:
        for line in f:
            if line.startswith("btime "):
                return float(line.split()[1])
    raise RuntimeError("no btime in /proc/stat")


CLK_TCK = os.sysconf("SC_CLK_TCK")


def start_time_epoch(ticks: int, proc: str = PROC) -> float:
    return boot_time(proc) + ticks / CLK_TCK
