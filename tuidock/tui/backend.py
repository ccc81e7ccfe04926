"""The app's side of the engine: a sampler thread, a state-root watcher, and each container's history.

The UI never calls the engine on its event loop. One thread lists the
containers and samples their cgroups about once a second (the engine reads
every container in one batch) and hands the UI an immutable
:class:`Snapshot`; another watches the state root with inotify (watchfiles)
and wakes the sampler at once when a container record or state file changes,
so a container started or removed in another terminal shows up within a
fraction of a second. The history is kept here, not in the widgets, so it
goes on being recorded while the app is suspended for ``exec`` or ``attach``.
"""

from __future__ import annotations

import collections
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from runtime.cgroups.stats import ContainerStats
from runtime.engine.engine import Engine
from runtime.engine.model import ContainerInfo
from runtime.errors import TuidockError

HISTORY = 300  # samples kept per container: five minutes at one a second
WATCHED = ("container.json", "state.json")  # what changes when a container is made, changes state or goes


@dataclass(frozen=True)
class Endpoint:
    """Where a container can be reached: its address on its network and its published ports."""

    ip: str = ""
    ports: tuple[str, ...] = ()  # docker's PORTS column entries, "0.0.0.0:8080->80/tcp"


@dataclass(frozen=True)
class Snapshot:
    """Every container as the sampler last saw it, with the stats of the running ones."""

    seq: int
    taken: float  # time.time()
    containers: tuple[ContainerInfo, ...]
    stats: dict[str, ContainerStats] = field(default_factory=dict)
    endpoints: dict[str, Endpoint] = field(default_factory=dict)
    error: str = ""  # the engine's message when listing failed; the previous lists stay on screen


@dataclass(frozen=True)
class Rates:
    """Per-second rates between two samples of one container."""

    read_bps: float
    write_bps: float
    rx_bps: float
    tx_bps: float
    throttled_pct: float  # share of CFS periods in which the container ran out of quota


def rates(prev: ContainerStats, cur: ContainerStats) -> Rates:
    """Block and network I/O per second and the throttled share, between two samples."""
    dt = (cur.read_ns - prev.read_ns) / 1e9
    if dt <= 0:
        return Rates(0.0, 0.0, 0.0, 0.0, 0.0)

    def per_s(a: int, b: int) -> float:
        return max(0.0, (b - a) / dt)

    rx = per_s(prev.net.rx_bytes, cur.net.rx_bytes) if prev.net and cur.net else 0.0
    tx = per_s(prev.net.tx_bytes, cur.net.tx_bytes) if prev.net and cur.net else 0.0
    periods = cur.cpu.periods - prev.cpu.periods
    throttled = cur.cpu.throttled_periods - prev.cpu.throttled_periods
    return Rates(per_s(prev.block_io.read_bytes, cur.block_io.read_bytes),
                 per_s(prev.block_io.write_bytes, cur.block_io.write_bytes), rx, tx,
                 100.0 * throttled / periods if periods > 0 else 0.0)


class History:
    """The last :data:`HISTORY` samples of every container; written by the sampler, read by the UI."""

    def __init__(self, size: int = HISTORY) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._samples: dict[str, collections.deque[ContainerStats]] = {}

    def add(self, samples: Iterable[ContainerStats], keep: set[str]) -> None:
        with self._lock:
            for s in samples:
                self._samples.setdefault(s.id, collections.deque(maxlen=self._size)).append(s)
            for cid in list(self._samples):
                if cid not in keep:
                    del self._samples[cid]

    def samples(self, cid: str) -> list[ContainerStats]:
        with self._lock:
            return list(self._samples.get(cid, ()))

    def cpu(self, cid: str, n: int) -> list[float]:
        """The last ``n`` CPU percentages (100 = one core)."""
        return [s.cpu.percent for s in self.samples(cid)[-n:] if s.cpu.percent is not None]


class Backend:
    """Owns the engine for the app; its loops run in worker threads the app starts."""

    def __init__(self, engine: Engine, interval: float = 1.0) -> None:
        self.engine = engine
        self.interval = interval
        self.history = History()
        self._wake = threading.Event()
        self._seq = 0
        self.last: Snapshot | None = None

    def wake(self) -> None:
        """Sample now (after an action, or when the state root changed)."""
        self._wake.set()

    def snapshot(self) -> Snapshot:
        """List every container and sample the running ones (blocking: call it from a thread)."""
        self._seq += 1
        try:
            infos = self.engine.containers(all=True)
        except TuidockError as e:
            prev = self.last
            return Snapshot(self._seq, time.time(), prev.containers if prev else (), prev.stats if prev else {},
                            prev.endpoints if prev else {}, str(e))
        try:
            stats = {s.id: s for s in self.engine.stats(infos=infos)}
        except (TuidockError, OSError):
            stats = {}
        self.history.add(stats.values(), {i.id for i in infos})
        endpoints = {i.id: self.endpoint(i) for i in infos if i.status.is_up()}
        return Snapshot(self._seq, time.time(), tuple(infos), stats, endpoints)

    def endpoint(self, info: ContainerInfo) -> Endpoint:
        ep = self.engine.endpoint(info)
        ports = tuple(f"{p.host_ip or '0.0.0.0'}:{p.host_port}->{p.container_port}/{p.protocol}"
                      for p in (ep.ports if ep else ()))
        return Endpoint(ep.ip if ep else "", ports)

    def sample_forever(self, stop: threading.Event, deliver: Callable[[Snapshot], None]) -> None:
        """The sampler loop: a snapshot every interval, or at once when woken."""
        while not stop.is_set():
            snap = self.snapshot()
            self.last = snap
            deliver(snap)
            self._wake.wait(self.interval)
            self._wake.clear()

    def watch_forever(self, stop: threading.Event) -> None:
        """Wake the sampler when any container's record or state file changes (inotify, via watchfiles)."""
        import watchfiles

        top = os.path.join(self.engine.root, "containers")
        os.makedirs(top, exist_ok=True)

        def relevant(change: watchfiles.Change, path: str) -> bool:
            # A container's directory appearing or going, or its record or state being replaced.
            return os.path.basename(path) in WATCHED or os.path.dirname(path) == top

        for _ in watchfiles.watch(top, watch_filter=relevant, stop_event=stop, debounce=60, step=20,
                                  rust_timeout=500, yield_on_timeout=False, raise_interrupt=False):
            self.wake()
