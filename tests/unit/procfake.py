"""A fake procfs tree: ``<root>/<pid>/stat`` files in the kernel's format (proc(5))."""

from __future__ import annotations

from pathlib import Path


def stat_line(pid: int, comm: str, state: str = "S", start: int = 1000, ppid: int = 1) -> str:
    """One /proc/<pid>/stat line with all 52 fields; field 22 is ``start`` (clock ticks since boot)."""
    fields = [str(pid), f"({comm})", state, str(ppid), str(pid), str(pid), "0", "-1", "4194560",
              "120", "0", "0", "0", "3", "1", "0", "0", "20", "0", "1", "0", str(start),
              "2465792", "190", "18446744073709551615", "94814419685376", "94814420298733",
              "140725993357056", "0", "0", "0", "0", "0", "0", "0", "0", "0", "17", "2", "0", "0",
              "0", "0", "0", "94814420424048", "94814420436580", "94814436147200", "140725993360343",
              "140725993360351", "140725993360351", "140725993361387", "0"]
    assert len(fields) == 52
    return " ".join(fields) + "\n"


def add_process(proc: Path, pid: int, comm: str = "sh", state: str = "S", start: int = 1000) -> None:
    d = proc / str(pid)
    d.mkdir(parents=True, exist_ok=True)
    (d / "stat").write_text(stat_line(pid, comm, state, start))
