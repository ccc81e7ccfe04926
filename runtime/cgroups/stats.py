"""Live resource use of many containers, read in one pass over their cgroup files (``docker stats``, and more).

One :meth:`Sampler.sample` reads each container's files once and returns
frozen :class:`ContainerStats`. What comes from where:

============  ====================================================  ==============================================
figure        cgroup v1 (and hybrid)                                cgroup v2
============  ====================================================  ==============================================
CPU time      ``cpuacct.usage`` (ns), ``cpuacct.stat`` (ticks)      ``cpu.stat`` usage/user/system_usec
throttling    ``cpu.stat`` nr_periods, nr_throttled, throttled_time ``cpu.stat`` ..., throttled_usec
CPU limit     ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``          ``cpu.max``
memory        ``memory.usage_in_bytes`` - total_inactive_file       ``memory.current`` - inactive_file
limit         ``memory.limit_in_bytes``                             ``memory.max``
anon/file     ``memory.stat`` total_rss / total_cache               ``memory.stat`` anon / file
kernel        ``memory.kmem.usage_in_bytes``                        ``memory.stat`` kernel (or its parts)
OOM           ``memory.oom_control`` oom_kill; ``memory.failcnt``   ``memory.events`` oom, oom_kill, max
pids          ``pids.current``, ``pids.max``                        the same
block I/O     ``blkio.throttle.io_service_bytes_recursive`` (or     ``io.stat`` rbytes, wbytes
              BFQ's, CFQ's)
pressure      the hybrid v2 tree's ``*.pressure``; none on legacy   ``cpu|memory|io.pressure``
network       ``/proc/<pid>/net/dev`` of the container's PID 1 (its own network namespace: no setns needed)
============  ====================================================  ==============================================

The math is docker's: CPU % is the container's CPU time over the host's
(``/proc/stat``, idle included) between two samples, times the online CPUs,
so 100 % is one core; memory usage leaves out the inactive file cache, and
an unlimited container's limit is the host's memory. Every kernel path is a
parameter (the :class:`~runtime.cgroups.Layout` and the proc root), so the
parsers are tested against fake trees. A figure the kernel does not offer is
``None``, never a made-up zero.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from . import Layout, layout

PROC = "/proc"
Reader = Callable[[str], "bytes | None"]
V1_BLKIO_FILES = ("/blkio.throttle.io_service_bytes_recursive", "/blkio.bfq.io_service_bytes_recursive",
                  "/blkio.io_service_bytes_recursive")
UNLIMITED_V1 = 1 << 62  # v1 reports "no limit" as PAGE_COUNTER_MAX pages (9223372036854771712 with 4 KiB pages)


@dataclass(frozen=True)
class Target:
    """One container to sample: its cgroup (relative to the hierarchy roots) and the host pid of its PID 1."""

    id: str
    name: str
    cgroup: str
    pid: int = 0
    own_netns: bool = True  # False with --network host: its interfaces are the host's


@dataclass(frozen=True)
class CpuStats:
    usage_ns: int  # CPU time used by every process of the container, ever
    user_ns: int | None
    system_ns: int | None
    percent: float | None  # docker's CPU %: 100 = one core busy; None until two samples exist
    online_cpus: int
    limit_cpus: float | None  # CFS quota / period; None = no quota
    periods: int  # CFS periods in which the container could run
    throttled_periods: int  # ... of which it ran out of quota
    throttled_ns: int  # time its threads waited for the next period


@dataclass(frozen=True)
class MemoryStats:
    usage: int  # docker's figure: usage minus the inactive file cache (reclaimable without I/O)
    raw_usage: int  # what the kernel charges the cgroup, cache included
    limit: int  # the cgroup's limit, or the host's memory when there is none (as docker shows it)
    limit_set: bool
    percent: float  # usage / limit
    anon: int | None
    file: int | None
    kernel: int | None
    oom: int | None  # v2 memory.events "oom": times the limit was hit and reclaim failed; v1 has no such counter
    oom_kill: int  # processes killed by the OOM killer in this cgroup
    limit_hits: int  # v1 memory.failcnt / v2 memory.events "max": times usage reached the limit


@dataclass(frozen=True)
class PidsStats:
    current: int
    limit: int | None  # None = "max"


@dataclass(frozen=True)
class BlockIO:
    read_bytes: int
    write_bytes: int


@dataclass(frozen=True)
class Interface:
    name: str
    rx_bytes: int
    rx_packets: int
    tx_bytes: int
    tx_packets: int


@dataclass(frozen=True)
class NetStats:
    """Totals over the container's interfaces except loopback (as docker counts), and each interface."""

    rx_bytes: int
    rx_packets: int
    tx_bytes: int
    tx_packets: int
    interfaces: tuple[Interface, ...]


@dataclass(frozen=True)
class Pressure:
    """Pressure stall information: the share of the last 10 s (in %) in which some / all tasks waited."""

    some_avg10: float
    full_avg10: float | None  # cpu has no "full" line before Linux 5.13
    some_total_us: int
    full_total_us: int | None


@dataclass(frozen=True)
class PressureStats:
    cpu: Pressure | None
    memory: Pressure | None
    io: Pressure | None


@dataclass(frozen=True)
class ContainerStats:
    id: str
    name: str
    pid: int
    read_ns: int  # wall clock (time.time_ns) of the sample
    cgroup_version: int
    cpu: CpuStats
    memory: MemoryStats
    pids: PidsStats
    block_io: BlockIO
    net: NetStats | None  # None with --network host, or when PID 1 is gone
    pressure: PressureStats | None  # None where the kernel keeps no per-cgroup PSI (legacy v1)


# ---- reading files ---------------------------------------------------------------


def _read(path: str) -> bytes | None:
    """One control file in one read(2); None if it is missing or unreadable (EOPNOTSUPP for PSI turned off)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        return os.read(fd, 65536)
    except OSError:
        return None
    finally:
        os.close(fd)


def _int(data: bytes | None, default: int = 0) -> int:
    if not data:
        return default
    try:
        return int(data)
    except ValueError:
        return default


def _limit(data: bytes | None) -> int | None:
    """A limit file: a number, or "max" (v2) / -1 (v1 quota) for none."""
    if not data:
        return None
    s = data.strip()
    if s == b"max":
        return None
    try:
        n = int(s)
    except ValueError:
        return None
    return n if n >= 0 else None


def _kv(data: bytes | None) -> dict[bytes, int]:
    """A flat keyed file (``key value`` per line): memory.stat, cpu.stat, memory.events, memory.oom_control."""
    if not data:
        return {}
    parts = data.split()
    out: dict[bytes, int] = {}
    for k, v in zip(parts[::2], parts[1::2]):
        try:
            out[k] = int(v)
        except ValueError:
            continue
    return out


def parse_pressure(data: bytes | None) -> Pressure | None:
    """``some avg10=0.12 avg60=... total=123`` and the same for ``full`` (Documentation/accounting/psi.rst)."""
    if not data:
        return None
    lines: dict[bytes, dict[bytes, bytes]] = {}
    for line in data.splitlines():
        kind, _, rest = line.partition(b" ")
        lines[kind] = dict(f.partition(b"=")[::2] for f in rest.split())
    some = lines.get(b"some")
    if some is None:
        return None
    full = lines.get(b"full")
    try:
        return Pressure(float(some[b"avg10"]), float(full[b"avg10"]) if full else None,
                        int(some[b"total"]), int(full[b"total"]) if full else None)
    except (KeyError, ValueError):
        return None


def parse_blkio_v1(data: bytes | None) -> BlockIO:
    """``8:0 Read 4096`` lines (one per device and operation), summed over devices as docker does."""
    rd = wr = 0
    for line in (data or b"").splitlines():
        parts = line.split()
        if len(parts) != 3:
            continue  # the closing "Total N"
        op = parts[1].lower()
        if op == b"read":
            rd += int(parts[2])
        elif op == b"write":
            wr += int(parts[2])
    return BlockIO(rd, wr)


def parse_io_stat(data: bytes | None) -> BlockIO:
    """v2 ``io.stat``: ``8:0 rbytes=90112 wbytes=0 rios=3 wios=0 dbytes=0 dios=0`` per device."""
    rd = wr = 0
    for line in (data or b"").splitlines():
        for field in line.split()[1:]:
            k, _, v = field.partition(b"=")
            if k == b"rbytes":
                rd += int(v)
            elif k == b"wbytes":
                wr += int(v)
    return BlockIO(rd, wr)


def parse_net_dev(data: bytes | None) -> NetStats | None:
    """/proc/<pid>/net/dev: two header lines, then ``name: rx_bytes rx_packets ... tx_bytes tx_packets ...``."""
    if data is None:
        return None
    ifaces = []
    for line in data.splitlines()[2:]:
        name, sep, rest = line.partition(b":")
        if not sep:
            continue
        f = rest.split()
        if len(f) < 10:
            continue
        ifaces.append(Interface(name.strip().decode(), int(f[0]), int(f[1]), int(f[8]), int(f[9])))
    counted = [i for i in ifaces if i.name != "lo"]
    return NetStats(sum(i.rx_bytes for i in counted), sum(i.rx_packets for i in counted),
                    sum(i.tx_bytes for i in counted), sum(i.tx_packets for i in counted), tuple(ifaces))


def parse_proc_stat(data: bytes | None, clk_tck: int) -> tuple[int, int]:
    """(host CPU time in ns, online CPUs) from /proc/stat, as docker computes its "system usage".

    The first line's user, nice, system, idle, iowait, irq and softirq ticks
    (steal and guest left out, as docker does); the online CPUs are the
    ``cpuN`` lines (an offline CPU has none).
    """
    total = online = 0
    for line in (data or b"").splitlines():
        if not line.startswith(b"cpu"):
            break
        if line.startswith(b"cpu "):
            total = sum(int(x) for x in line.split()[1:8]) * 1_000_000_000 // clk_tck
        else:
            online += 1
    return total, online


def _mem_total(proc: str) -> int:
    for line in (_read(os.path.join(proc, "meminfo")) or b"").splitlines():
        if line.startswith(b"MemTotal:"):
            return int(line.split()[1]) * 1024
    return 0


# ---- one cgroup, as the kernel has it ----------------------------------------------


@dataclass(frozen=True)
class _Raw:
    """Everything read from one container's files, before the math that needs the previous sample."""

    usage_ns: int
    user_ns: int | None
    system_ns: int | None
    limit_cpus: float | None
    periods: int
    throttled_periods: int
    throttled_ns: int
    mem_usage: int
    mem_inactive_file: int
    mem_limit: int | None
    anon: int | None
    file: int | None
    kernel: int | None
    oom: int | None
    oom_kill: int
    limit_hits: int
    pids: int
    pids_limit: int | None
    block_io: BlockIO
    pressure: PressureStats | None


def _pressure(d: str, rd: Reader) -> PressureStats | None:
    """PSI of one cgroup2 directory; None when the kernel keeps none (CONFIG_PSI off, or psi=0 at boot)."""
    ps = PressureStats(parse_pressure(rd(d + "/cpu.pressure")), parse_pressure(rd(d + "/memory.pressure")),
                       parse_pressure(rd(d + "/io.pressure")))
    return None if ps.cpu is None and ps.memory is None and ps.io is None else ps


def read_v2(d: str, rd: Reader = _read) -> _Raw | None:
    """One cgroup v2 directory; None when it is gone."""
    cpu = _kv(rd(d + "/cpu.stat"))
    if b"usage_usec" not in cpu:
        return None
    quota, _, period = (rd(d + "/cpu.max") or b"max").partition(b" ")
    q = _limit(quota)
    mem = _kv(rd(d + "/memory.stat"))
    events = _kv(rd(d + "/memory.events"))
    kernel = mem.get(b"kernel")
    if kernel is None and b"kernel_stack" in mem:
        # Before Linux 6.1 memory.stat had no "kernel" line: add up its parts.
        kernel = sum(mem.get(k, 0) for k in (b"kernel_stack", b"pagetables", b"percpu", b"sock", b"slab", b"vmalloc"))
    return _Raw(
        usage_ns=cpu[b"usage_usec"] * 1000,
        user_ns=cpu[b"user_usec"] * 1000 if b"user_usec" in cpu else None,
        system_ns=cpu[b"system_usec"] * 1000 if b"system_usec" in cpu else None,
        limit_cpus=q / int(period) if q is not None and period.strip() else None,
        periods=cpu.get(b"nr_periods", 0),
        throttled_periods=cpu.get(b"nr_throttled", 0),
        throttled_ns=cpu.get(b"throttled_usec", 0) * 1000,
        mem_usage=_int(rd(d + "/memory.current")),
        mem_inactive_file=mem.get(b"inactive_file", 0),
        mem_limit=_limit(rd(d + "/memory.max")),
        anon=mem.get(b"anon"),
        file=mem.get(b"file"),
        kernel=kernel,
        oom=events.get(b"oom"),
        oom_kill=events.get(b"oom_kill", 0),
        limit_hits=events.get(b"max", 0),
        pids=_int(rd(d + "/pids.current")),
        pids_limit=_limit(rd(d + "/pids.max")),
        block_io=parse_io_stat(rd(d + "/io.stat")),
        pressure=_pressure(d, rd),
    )


def read_v1(dirs: dict[str, str], clk_tck: int, rd: Reader = _read) -> _Raw | None:
    """One cgroup v1 container: ``dirs`` maps controller (and ``unified`` on hybrid machines) to its directory."""
    acct = dirs.get("cpuacct")
    usage = rd(acct + "/cpuacct.usage") if acct else None
    if usage is None:
        return None
    ticks = _kv(rd(acct + "/cpuacct.stat")) if acct else {}
    tick_ns = 1_000_000_000 // clk_tck
    cpu_dir = dirs.get("cpu")
    cpu: dict[bytes, int] = {}
    limit_cpus = None
    if cpu_dir:
        cpu = _kv(rd(cpu_dir + "/cpu.stat"))
        quota = _limit(rd(cpu_dir + "/cpu.cfs_quota_us"))
        period = _int(rd(cpu_dir + "/cpu.cfs_period_us"))
        if quota is not None and period > 0:
            limit_cpus = quota / period
    m = dirs.get("memory")
    mem: dict[bytes, int] = {}
    oom: dict[bytes, int] = {}
    mem_usage = hits = 0
    mem_limit = kernel = None
    if m:
        mem = _kv(rd(m + "/memory.stat"))
        oom = _kv(rd(m + "/memory.oom_control"))
        mem_usage = _int(rd(m + "/memory.usage_in_bytes"))
        hits = _int(rd(m + "/memory.failcnt"))
        mem_limit = _limit(rd(m + "/memory.limit_in_bytes"))
        if mem_limit is not None and mem_limit >= UNLIMITED_V1:
            mem_limit = None
        kmem = rd(m + "/memory.kmem.usage_in_bytes")
        kernel = _int(kmem) if kmem is not None else None
    p = dirs.get("pids")
    blk = dirs.get("blkio")
    blkio = BlockIO(0, 0)
    if blk:
        # blk-throttle counts every bio, but recent kernels only set it up on a
        # disk once a throttle rule exists there; then the scheduler's counters
        # (BFQ, or CFQ before Linux 5.0) are the ones that move.
        for name in V1_BLKIO_FILES:
            data = rd(blk + name)
            if data is not None and data[:1].isdigit():  # a "MAJ:MIN op bytes" line, not just "Total 0"
                blkio = parse_blkio_v1(data)
                break
    unified = dirs.get("unified")
    return _Raw(
        usage_ns=_int(usage),
        user_ns=ticks[b"user"] * tick_ns if b"user" in ticks else None,
        system_ns=ticks[b"system"] * tick_ns if b"system" in ticks else None,
        limit_cpus=limit_cpus,
        periods=cpu.get(b"nr_periods", 0),
        throttled_periods=cpu.get(b"nr_throttled", 0),
        throttled_ns=cpu.get(b"throttled_time", 0),
        mem_usage=mem_usage,
        mem_inactive_file=mem.get(b"total_inactive_file", 0),
        mem_limit=mem_limit,
        anon=mem.get(b"total_rss"),
        file=mem.get(b"total_cache"),
        kernel=kernel,
        oom=None,  # v1 counts OOM kills (oom_control) and limit hits (failcnt), not OOM events
        oom_kill=oom.get(b"oom_kill", 0),
        limit_hits=hits,
        pids=_int(rd(p + "/pids.current")) if p else 0,
        pids_limit=_limit(rd(p + "/pids.max")) if p else None,
        block_io=blkio,
        # PSI lives in the v2 tree only: hybrid machines have it there, legacy ones not at all.
        pressure=_pressure(unified, rd) if unified else None,
    )


# ---- the sampler -----------------------------------------------------------------

FD_FLOOR = 1024  # kept descriptors live at or above this: select(2) users keep the low numbers
FD_MAX = 8192


class OpenFiles:
    """Control files kept open between samples, so a new reading is a single pread(2).

    cgroup and /proc files are seq_files: reading from offset 0 makes the
    kernel generate the text afresh, so an open descriptor stays current and
    saves the path walk, open(2) and close(2) of every reading (about five
    times faster). A descriptor of a removed cgroup fails with ENODEV and is
    reopened by path (a restarted container gets a new directory at the same
    path). Files not read in a batch are closed after it. Descriptors are
    moved to numbers >= 1024 and kept within the soft RLIMIT_NOFILE, leaving
    the low numbers to everything else; with a soft limit of 1024 or less
    (``ulimit -n``) nothing is kept and every reading opens its file.
    """

    def __init__(self, limit: int = FD_MAX) -> None:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        unlimited = soft == resource.RLIM_INFINITY
        self.room = limit if unlimited else max(0, min(limit, soft - FD_FLOOR - 64))
        self.fds: dict[str, int] = {}
        self.touched: set[str] = set()

    def read(self, path: str) -> bytes | None:
        self.touched.add(path)
        fd = self.fds.get(path)
        if fd is not None:
            try:
                return os.pread(fd, 65536, 0)
            except OSError:
                del self.fds[path]
                os.close(fd)
        if len(self.fds) >= self.room:
            return _read(path)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            data = os.pread(fd, 65536, 0)
        except OSError:
            os.close(fd)
            return None
        try:
            self.fds[path] = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, FD_FLOOR)
        except OSError:
            self.room = len(self.fds)  # out of descriptors: keep what we have
        finally:
            os.close(fd)
        return data

    def sweep(self) -> None:
        """Close what the last batch did not read (containers gone, PID 1 replaced)."""
        for path in [p for p in self.fds if p not in self.touched]:
            os.close(self.fds.pop(path))
        self.touched = set()

    def close(self) -> None:
        for fd in self.fds.values():
            os.close(fd)
        self.fds.clear()


class Sampler:
    """Samples containers in batches and keeps each one's previous CPU reading for CPU %.

    One sampler per caller that samples periodically (the TUI's stats
    worker, ``tuidock stats``). Batches may come from any thread; they run
    one at a time (a lock), since each measures CPU % from the one before.
    """

    def __init__(self, lay: Layout | None = None, proc: str = PROC, keep_open: int = FD_MAX) -> None:
        self.layout = lay or layout()
        self.proc = proc
        self.clk_tck = os.sysconf("SC_CLK_TCK")
        self.files = OpenFiles(keep_open)
        self._mem_total: int | None = None
        self._prev: dict[str, tuple[int, int]] = {}  # id -> (container CPU ns, host CPU ns)
        self._lock = threading.Lock()

    def close(self) -> None:
        """Close the files kept open between samples."""
        with self._lock:
            self.files.close()

    def _dirs_v1(self, path: str) -> dict[str, str]:
        dirs = {c: mp + path for c, mp in self.layout.v1.items()}
        if self.layout.unified:
            dirs["unified"] = self.layout.unified + path
        return dirs

    def read(self, target: Target) -> _Raw | None:
        if self.layout.version == 2:
            assert self.layout.unified is not None
            return read_v2(self.layout.unified + target.cgroup, self.files.read)
        return read_v1(self._dirs_v1(target.cgroup), self.clk_tck, self.files.read)

    def sample(self, targets: Sequence[Target]) -> list[ContainerStats]:
        """One batch: every target's files once, /proc/stat once. Containers whose cgroup is gone are left out."""
        with self._lock:
            return self._sample(targets)

    def _sample(self, targets: Sequence[Target]) -> list[ContainerStats]:
        if self._mem_total is None:
            self._mem_total = _mem_total(self.proc)
        host_ns, online = parse_proc_stat(self.files.read(self.proc + "/stat"), self.clk_tck)
        now = time.time_ns()
        out = []
        prev = self._prev
        seen: dict[str, tuple[int, int]] = {}
        for t in targets:
            raw = self.read(t)
            if raw is None:
                continue
            percent = None
            before = prev.get(t.id)
            seen[t.id] = (raw.usage_ns, host_ns)
            if before is not None:
                cpu_delta, host_delta = raw.usage_ns - before[0], host_ns - before[1]
                if host_delta > 0 and cpu_delta >= 0:
                    percent = cpu_delta / host_delta * online * 100.0
                elif host_delta <= 0 and cpu_delta >= 0:
                    seen[t.id] = before  # too soon to tell: measure from the older sample next time
            net = None
            if t.own_netns and t.pid > 0:
                net = parse_net_dev(self.files.read(f"{self.proc}/{t.pid}/net/dev"))
            out.append(self._assemble(t, raw, percent, online, now, net))
        self._prev = seen
        self.files.sweep()
        return out

    def _assemble(self, t: Target, raw: _Raw, percent: float | None, online: int, now: int,
                  net: NetStats | None) -> ContainerStats:
        host_mem = self._mem_total or 0
        limit = raw.mem_limit
        limit_set = limit is not None and (host_mem == 0 or limit < host_mem)
        shown_limit = limit if limit is not None and limit_set else host_mem
        # docker (calculateMemUsageUnixNoCache): leave out inactive file pages, which
        # the kernel reclaims first and without I/O.
        usage = raw.mem_usage - raw.mem_inactive_file if raw.mem_inactive_file < raw.mem_usage else raw.mem_usage
        return ContainerStats(
            id=t.id,
            name=t.name,
            pid=t.pid,
            read_ns=now,
            cgroup_version=self.layout.version,
            cpu=CpuStats(raw.usage_ns, raw.user_ns, raw.system_ns, percent, online, raw.limit_cpus,
                         raw.periods, raw.throttled_periods, raw.throttled_ns),
            memory=MemoryStats(usage, raw.mem_usage, shown_limit, limit_set,
                               usage / shown_limit * 100.0 if shown_limit else 0.0,
                               raw.anon, raw.file, raw.kernel, raw.oom, raw.oom_kill, raw.limit_hits),
            pids=PidsStats(raw.pids, raw.pids_limit),
            block_io=raw.block_io,
            net=net,
            pressure=raw.pressure,
        )
