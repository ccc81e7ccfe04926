"""Stats: CPU against its quota, memory against its limit, pids, I/O rates, throttling, pressure, OOM."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Grid
from textual.widgets import Static

from runtime.cgroups.stats import ContainerStats
from runtime.engine.model import ContainerInfo

from ...cli.format import bytes_size
from ..backend import Snapshot, rates
from ..plot import Plot, nice_ceiling
from .base import DetailTab


def pct(v: float) -> str:
    return f"{v:.0f}%"


def size(v: float) -> str:
    return bytes_size(v)


def rate(v: float) -> str:
    return bytes_size(v) + "/s"


def count(v: float) -> str:
    return f"{v:.0f}"


class StatsTab(DetailTab):
    """Plots with fixed axes over the last five minutes of samples (kept while the app is suspended)."""

    PLOTS = (("cpu", "CPU %", pct), ("memory", "Memory", size), ("pids", "Pids", count),
             ("blkio", "Block I/O read+write", rate), ("net", "Network rx+tx", rate),
             ("throttle", "CPU throttled periods", pct), ("pressure", "Pressure (some avg10)", pct))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tops: dict[str, float] = {}

    def compose(self) -> ComposeResult:
        with Grid(id="plots"):
            for key, title, fmt in self.PLOTS:
                yield Plot(title, fmt, id=f"plot-{key}")
            yield Static(id="numbers")

    def _top(self, key: str, value: float) -> float:
        """A y axis that only grows (to the next 1-2-5 step), so the picture never jumps."""
        top = max(self.tops.get(key, 0.0), nice_ceiling(value))
        self.tops[key] = top
        return top

    def show(self, info: ContainerInfo, snap: Snapshot) -> None:
        samples = self.backend.history.samples(info.id)
        numbers = self.query_one("#numbers", Static)
        if not samples:
            numbers.update("not running: no samples" if not info.status.is_up() else "sampling…")
            return
        last: ContainerStats = samples[-1]
        cpu = [s.cpu.percent or 0.0 for s in samples]
        quota = last.cpu.limit_cpus * 100 if last.cpu.limit_cpus else None
        cpu_top = quota * 1.25 if quota else last.cpu.online_cpus * 100.0
        self._plot("cpu", cpu, cpu_top, quota, f"{cpu[-1]:.1f}%" + (f" of {quota:.0f}% quota" if quota else ""))
        mem = [float(s.memory.usage) for s in samples]
        mem_limit = float(last.memory.limit) if last.memory.limit_set else None
        self._plot("memory", mem, mem_limit * 1.1 if mem_limit else self._top("memory", max(mem)), mem_limit,
                   f"{bytes_size(mem[-1])}" + (f" / {bytes_size(mem_limit)}" if mem_limit else ""))
        pids = [float(s.pids.current) for s in samples]
        plim = float(last.pids.limit) if last.pids.limit else None
        self._plot("pids", pids, plim * 1.1 if plim else self._top("pids", max(pids) * 1.2), plim,
                   f"{last.pids.current}" + (f" / {last.pids.limit}" if last.pids.limit else ""))
        rs = [rates(a, b) for a, b in zip(samples, samples[1:])]
        io = [r.read_bps + r.write_bps for r in rs]
        net = [r.rx_bps + r.tx_bps for r in rs]
        thr = [r.throttled_pct for r in rs]
        self._plot("blkio", io, self._top("blkio", max(io, default=0)), None,
                   f"r {rate(rs[-1].read_bps)} w {rate(rs[-1].write_bps)}" if rs else "")
        self._plot("net", net, self._top("net", max(net, default=0)), None,
                   f"rx {rate(rs[-1].rx_bps)} tx {rate(rs[-1].tx_bps)}" if rs else "")
        self._plot("throttle", thr, 100.0, None, f"{thr[-1]:.0f}%" if thr else "")
        psi = [s.pressure.cpu.some_avg10 if s.pressure and s.pressure.cpu else 0.0 for s in samples]
        self._plot("pressure", psi, 100.0, None,
                   "cpu some avg10 " + (f"{psi[-1]:.1f}%" if last.pressure else "n/a (cgroup v1)"))
        numbers.update(self.numbers(last))

    def _plot(self, key: str, values: list[float], top: float, limit: float | None, current: str) -> None:
        self.query_one(f"#plot-{key}", Plot).update(values, top, limit, current)

    @staticmethod
    def numbers(s: ContainerStats) -> str:
        m, c, p = s.memory, s.cpu, s.pressure

        def opt(v: int | None) -> str:
            return "n/a" if v is None else bytes_size(v)

        lines = [
            "[b]Now[/b]",
            f"CPU time      {c.usage_ns / 1e9:.2f} s (user {(c.user_ns or 0) / 1e9:.2f}, "
            f"system {(c.system_ns or 0) / 1e9:.2f})",
            f"Throttled     {c.throttled_periods} of {c.periods} periods, {c.throttled_ns / 1e9:.2f} s",
            f"Memory        {bytes_size(m.usage)} (kernel charge {bytes_size(m.raw_usage)})",
            f"  anon / file / kernel  {opt(m.anon)} / {opt(m.file)} / {opt(m.kernel)}",
            f"OOM           {'n/a' if m.oom is None else m.oom} events, {m.oom_kill} kills, "
            f"limit hit {m.limit_hits} times",
            f"Pids          {s.pids.current} of {s.pids.limit or 'max'}",
            f"Block I/O     read {bytes_size(s.block_io.read_bytes)}, write {bytes_size(s.block_io.write_bytes)}",
        ]
        if s.net is not None:
            lines.append(f"Network       rx {bytes_size(s.net.rx_bytes)} ({s.net.rx_packets} pkts), "
                         f"tx {bytes_size(s.net.tx_bytes)} ({s.net.tx_packets} pkts)")
        if p is not None:
            for name in ("cpu", "memory", "io"):
                pr = getattr(p, name)
                if pr is not None:
                    full = f", full {pr.full_avg10:.2f}%" if pr.full_avg10 is not None else ""
                    lines.append(f"PSI {name:<9} some {pr.some_avg10:.2f}%{full} (avg10)")
        else:
            lines.append("PSI           not kept per cgroup on cgroup v1")
        return "\n".join(lines)
