"""What the screens show, as pure functions of engine values (unit-tested without a terminal)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text

from runtime.cgroups.stats import ContainerStats
from runtime.engine.model import ContainerInfo, ContainerStatus

from ..cli.format import bytes_size, command_text, status_text
from .backend import Endpoint

BARS = "▁▂▃▄▅▆▇█"
STATUS_STYLE = {
    ContainerStatus.RUNNING: "bold green",
    ContainerStatus.PAUSED: "bold yellow",
    ContainerStatus.RESTARTING: "bold magenta",
    ContainerStatus.CREATED: "cyan",
    ContainerStatus.EXITED: "dim",
    ContainerStatus.DEAD: "bold red",
}
COLUMNS = ("NAME", "IMAGE", "STATUS", "CPU %", "TREND", "MEMORY", "PIDS", "IP", "PORTS")


def trend(values: Sequence[float], width: int = 10, top: float | None = None) -> str:
    """A sparkline of the last ``width`` values, scaled to ``top`` (default: their maximum, at least 1)."""
    values = list(values)[-width:]
    if not values:
        return " " * width
    scale = top if top else max(max(values), 1.0)
    out = "".join(BARS[min(len(BARS) - 1, max(0, int(v / scale * (len(BARS) - 1) + 0.5)))] for v in values)
    return out.rjust(width)


def exited_code(info: ContainerInfo) -> int | None:
    return info.state.exit_code if info.state is not None and info.status is ContainerStatus.EXITED else None


def status_cell(info: ContainerInfo, now: float | None = None) -> Text:
    """docker's status words, coloured by state; a non-zero exit in red."""
    style = STATUS_STYLE[info.status]
    code = exited_code(info)
    if code:
        style = "red"
    return Text(status_text(info, now), style=style)


def cpu_text(stats: ContainerStats | None) -> str:
    if stats is None or stats.cpu.percent is None:
        return "-"
    return f"{stats.cpu.percent:.1f}%"


def memory_text(stats: ContainerStats | None) -> str:
    """``12.5MiB / 64MiB`` with a limit, ``12.5MiB`` without one."""
    if stats is None:
        return "-"
    used = bytes_size(stats.memory.usage)
    return f"{used} / {bytes_size(stats.memory.limit)}" if stats.memory.limit_set else used


def pids_text(stats: ContainerStats | None) -> str:
    if stats is None:
        return "-"
    return f"{stats.pids.current} / {stats.pids.limit}" if stats.pids.limit else str(stats.pids.current)


def image_name(info: ContainerInfo) -> str:
    return info.record.config.image or info.record.image_id[7:19]


@dataclass(frozen=True)
class Row:
    """One line of the containers table; cells in :data:`COLUMNS` order, plus the values sorted on."""

    id: str
    cells: tuple[str | Text, ...]
    sort_keys: tuple[object, ...]


def container_row(info: ContainerInfo, stats: ContainerStats | None, cpu_history: Sequence[float],
                  endpoint: Endpoint | None, now: float | None = None) -> Row:
    now = now or time.time()
    ep = endpoint or Endpoint()
    cells: tuple[str | Text, ...] = (
        info.name, image_name(info), status_cell(info, now), cpu_text(stats),
        Text(trend(cpu_history), style="green"), memory_text(stats), pids_text(stats), ep.ip, ", ".join(ep.ports))
    up = info.state.started_ns if info.state and info.status.is_up() else 0
    sort_keys = (
        info.name, image_name(info), (info.status is not ContainerStatus.RUNNING, -up, info.record.created_ns),
        -(stats.cpu.percent or 0.0) if stats else 0.0, -(sum(cpu_history[-10:]) if cpu_history else 0.0),
        -(stats.memory.usage if stats else 0), -(stats.pids.current if stats else 0),
        tuple(int(x) for x in ep.ip.split(".")) if ep.ip else (999,), ", ".join(ep.ports))
    return Row(info.id, cells, sort_keys)


def matches(info: ContainerInfo, needle: str) -> bool:
    """The ``/`` filter: a case-insensitive substring of the name, image, id, status or command."""
    if not needle:
        return True
    needle = needle.lower()
    hay = " ".join((info.name, image_name(info), info.id, info.status.value,
                    command_text(info.record.config.entrypoint + info.record.config.cmd, trunc=False)))
    return needle in hay.lower()
