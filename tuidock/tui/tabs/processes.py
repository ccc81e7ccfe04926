"""Processes: each process of the container with its container and host pids, user, CPU, memory, capabilities."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.widgets import DataTable, Static

from runtime import capabilities
from runtime.engine.model import ContainerInfo
from runtime.engine.processes import Process

from ...cli.format import bytes_size
from ..backend import Snapshot
from .base import DetailTab

COLUMNS = ("PID", "HOST PID", "USER", "STATE", "CPU %", "RSS", "THREADS", "CAPABILITIES (effective)", "COMMAND")


def caps_text(mask: int, full: int) -> str:
    """``all (41)``, ``none``, or the names without ``CAP_``, lower case."""
    if mask == 0:
        return "none"
    if mask & full == full:
        return f"all ({bin(full).count('1')})"
    names = capabilities.names_of(mask)
    return f"{len(names)}: " + ",".join(n.removeprefix("CAP_").lower() for n in names)


def cpu_percent(prev: dict[int, tuple[float, float]], p: Process, now: float) -> float | None:
    """CPU % of one process since the previous listing (100 = one core)."""
    was = prev.get(p.pid)
    if was is None or now <= was[1]:
        return None
    return max(0.0, (p.cpu_seconds - was[0]) / (now - was[1]) * 100)


class ProcessesTab(DetailTab):
    """Re-listed every snapshot from the container's cgroup (``top`` does the same)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.prev: dict[int, tuple[float, float]] = {}
        self.full = sum(1 << n for n in range(capabilities.last_cap() + 1))

    def compose(self) -> ComposeResult:
        table: DataTable[Any] = DataTable(id="procs", cursor_type="row", zebra_stripes=True)
        table.add_columns(*COLUMNS)
        yield table
        yield Static("", id="procnote")

    def show(self, info: ContainerInfo, snap: Snapshot) -> None:
        note = self.query_one("#procnote", Static)
        if not info.status.is_up():
            self.query_one("#procs", DataTable).clear()
            note.update(f"{info.name} is {info.status.value}: no processes")
            return
        self.load(lambda: (self.backend.engine.processes(info.id), snap.taken), self._show, group="procs")

    def _show(self, result: tuple[list[Process], float]) -> None:
        procs, now = result
        table = self.query_one("#procs", DataTable)
        cursor = table.cursor_row
        table.clear()
        for p in procs:
            cpu = cpu_percent(self.prev, p, now)
            table.add_row(str(p.container_pid), str(p.pid), p.user, p.state,
                          "-" if cpu is None else f"{cpu:.1f}", bytes_size(p.rss_bytes), str(p.threads),
                          caps_text(p.cap_eff, self.full), p.command, key=str(p.pid))
        self.prev = {p.pid: (p.cpu_seconds, now) for p in procs}
        if procs:
            table.move_cursor(row=min(cursor, len(procs) - 1), animate=False)
        self.query_one("#procnote", Static).update(
            f" {len(procs)} processes · PID is the container's view (its PID namespace), HOST PID the host's")
