"""Stats against fake cgroupfs and procfs trees, written as the kernel writes them (v1, hybrid, v2, missing files)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runtime.cgroups import Layout
from runtime.cgroups import stats
from runtime.cgroups.stats import BlockIO, Interface, Pressure, Sampler, Target

CID = "3f2a9c1b7d0e" + "a" * 52
CG = f"/tuidock/{CID}"
MB = 1 << 20
GB = 1 << 30

PROC_STAT = """\
cpu  {user} 0 {system} {idle} 0 0 0 0 0 0
cpu0 1 0 1 1 0 0 0 0 0 0
cpu1 1 0 1 1 0 0 0 0 0 0
intr 12345 0 0 0
ctxt 987
"""
MEMINFO = "MemTotal:        8000000 kB\nMemFree:         4000000 kB\n"
NET_DEV = """\
Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     840      10    0    0    0     0          0         0      840      10    0    0    0     0       0          0
  eth0:    1500      12    0    0    0     0          0         0      700       9    0    0    0     0       0          0
  eth1:     500       3    0    0    0     0          0         0      300       1    0    0    0     0       0          0
"""
PSI = "some avg10=12.50 avg60=3.00 avg300=1.00 total=123456\nfull avg10=2.25 avg60=0.50 avg300=0.10 total=6543\n"
PSI_CPU_OLD = "some avg10=1.00 avg60=0.00 avg300=0.00 total=99\n"  # before 5.13 cpu had no "full"


def write(d: Path, **files: str) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (d / name.replace("__", ".")).write_text(text)
    return d


def fake_proc(root: Path, busy_ticks: int = 0, idle: int = 1000, pid: int = 4242) -> Path:
    proc = root / "proc"
    write(proc, stat=PROC_STAT.format(user=100 + busy_ticks, system=50, idle=idle), meminfo=MEMINFO)
    write(proc / str(pid) / "net", dev=NET_DEV)
    return proc


# ---- v2 -------------------------------------------------------------------------------


def v2_tree(root: Path, usage_usec: int = 2_000_000) -> Path:
    return write(
        root / "cg2" / CG.lstrip("/"),
        cpu__stat=(f"usage_usec {usage_usec}\nuser_usec 1500000\nsystem_usec 500000\ncore_sched.force_idle_usec 0\n"
                   "nr_periods 40\nnr_throttled 12\nthrottled_usec 345678\nnr_bursts 0\nburst_usec 0\n"),
        cpu__max="50000 100000\n",
        memory__current=f"{30 * MB}\n",
        memory__max=f"{64 * MB}\n",
        memory__stat=(f"anon {20 * MB}\nfile {8 * MB}\nkernel {2 * MB}\nkernel_stack 65536\npagetables 131072\n"
                      f"shmem 0\nactive_anon {20 * MB}\ninactive_anon 0\nactive_file {3 * MB}\n"
                      f"inactive_file {5 * MB}\nslab 100000\n"),
        memory__events="low 0\nhigh 0\nmax 17\noom 2\noom_kill 1\noom_group_kill 0\n",
        pids__current="7\n",
        pids__max="50\n",
        io__stat="8:0 rbytes=90112 wbytes=4096 rios=3 wios=1 dbytes=0 dios=0\n"
                 "8:16 rbytes=10000 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n",
        cpu__pressure=PSI_CPU_OLD,
        memory__pressure=PSI,
        io__pressure=PSI,
    )


def test_v2_everything(tmp_path: Path) -> None:
    v2_tree(tmp_path)
    proc = fake_proc(tmp_path)
    s = Sampler(Layout(2, unified=str(tmp_path / "cg2")), str(proc))
    [st] = s.sample([Target(CID, "web", CG, 4242)])
    assert (st.id, st.name, st.pid, st.cgroup_version) == (CID, "web", 4242, 2)
    c = st.cpu
    assert (c.usage_ns, c.user_ns, c.system_ns) == (2_000_000_000, 1_500_000_000, 500_000_000)
    assert c.percent is None  # one reading: nothing to compare with yet
    assert (c.online_cpus, c.limit_cpus) == (2, 0.5)
    assert (c.periods, c.throttled_periods, c.throttled_ns) == (40, 12, 345_678_000)
    m = st.memory
    assert (m.raw_usage, m.usage) == (30 * MB, 25 * MB)  # docker: usage - inactive_file
    assert (m.limit, m.limit_set) == (64 * MB, True)
    assert m.percent == pytest.approx(25 / 64 * 100)
    assert (m.anon, m.file, m.kernel) == (20 * MB, 8 * MB, 2 * MB)
    assert (m.oom, m.oom_kill, m.limit_hits) == (2, 1, 17)
    assert (st.pids.current, st.pids.limit) == (7, 50)
    assert st.block_io == BlockIO(100112, 4096)
    assert st.net is not None
    assert (st.net.rx_bytes, st.net.rx_packets, st.net.tx_bytes, st.net.tx_packets) == (2000, 15, 1000, 10)
    assert [i.name for i in st.net.interfaces] == ["lo", "eth0", "eth1"]
    assert st.net.interfaces[0] == Interface("lo", 840, 10, 840, 10)
    assert st.pressure is not None
    assert st.pressure.cpu == Pressure(1.0, None, 99, None)
    assert st.pressure.memory == Pressure(12.5, 2.25, 123456, 6543)
    assert st.pressure.io == st.pressure.memory


def test_v2_unlimited(tmp_path: Path) -> None:
    d = v2_tree(tmp_path)
    (d / "memory.max").write_text("max\n")
    (d / "pids.max").write_text("max\n")
    (d / "cpu.max").write_text("max 100000\n")
    [st] = Sampler(Layout(2, unified=str(tmp_path / "cg2")), str(fake_proc(tmp_path))).sample([Target(CID, "w", CG)])
    assert (st.memory.limit, st.memory.limit_set) == (8_000_000 * 1024, False)  # the host's memory, as docker
    assert st.pids.limit is None and st.cpu.limit_cpus is None
    assert st.net is None  # no pid: nothing to read the namespace through


def test_v2_kernel_memory_before_the_kernel_line_existed(tmp_path: Path) -> None:
    d = v2_tree(tmp_path)
    (d / "memory.stat").write_text("anon 100\nfile 200\nkernel_stack 10\npagetables 20\npercpu 1\nsock 2\n"
                                   "slab 30\nvmalloc 4\ninactive_file 0\n")
    [st] = Sampler(Layout(2, unified=str(tmp_path / "cg2")), str(fake_proc(tmp_path))).sample([Target(CID, "w", CG)])
    assert st.memory.kernel == 67


def test_v2_missing_files_are_absent_not_zero(tmp_path: Path) -> None:
    # Only cpu.stat: no memory, pids or io controller enabled, no PSI in this kernel.
    write(tmp_path / "cg2" / CG.lstrip("/"), cpu__stat="usage_usec 10\nuser_usec 5\nsystem_usec 5\n")
    [st] = Sampler(Layout(2, unified=str(tmp_path / "cg2")), str(fake_proc(tmp_path))).sample([Target(CID, "w", CG)])
    assert st.cpu.usage_ns == 10_000
    assert (st.memory.anon, st.memory.file, st.memory.kernel, st.memory.oom) == (None, None, None, None)
    assert st.memory.raw_usage == 0 and st.pids.limit is None
    assert st.block_io == BlockIO(0, 0)
    assert st.pressure is None


def test_a_container_whose_cgroup_is_gone_is_left_out(tmp_path: Path) -> None:
    v2_tree(tmp_path)
    s = Sampler(Layout(2, unified=str(tmp_path / "cg2")), str(fake_proc(tmp_path)))
    got = s.sample([Target("gone", "x", "/tuidock/gone"), Target(CID, "w", CG)])
    assert [g.id for g in got] == [CID]


def test_host_network_has_no_figures_of_its_own(tmp_path: Path) -> None:
    v2_tree(tmp_path)
    s = Sampler(Layout(2, unified=str(tmp_path / "cg2")), str(fake_proc(tmp_path)))
    [st] = s.sample([Target(CID, "w", CG, 4242, own_netns=False)])
    assert st.net is None


# ---- CPU % --------------------------------------------------------------------------


def test_cpu_percent_is_dockers_math_from_two_samples(tmp_path: Path) -> None:
    v2_tree(tmp_path, usage_usec=2_000_000)
    proc = fake_proc(tmp_path, busy_ticks=0, idle=1000)
    s = Sampler(Layout(2, unified=str(tmp_path / "cg2")), str(proc))
    s.clk_tck = 100
    t = Target(CID, "w", CG)
    assert s.sample([t])[0].cpu.percent is None
    # One second later on two CPUs: the host counted 200 ticks (2 s of CPU);
    # the container used 0.5 s, i.e. half of one core.
    v2_tree(tmp_path, usage_usec=2_500_000)
    fake_proc(tmp_path, busy_ticks=100, idle=1100)
    assert s.sample([t])[0].cpu.percent == pytest.approx(50.0)
    # A container busy on both CPUs for the whole interval is 200 %.
    v2_tree(tmp_path, usage_usec=4_500_000)
    fake_proc(tmp_path, busy_ticks=300, idle=1100)
    assert s.sample([t])[0].cpu.percent == pytest.approx(200.0)


def test_cpu_percent_too_soon_measures_from_the_older_sample(tmp_path: Path) -> None:
    v2_tree(tmp_path, usage_usec=1_000_000)
    proc = fake_proc(tmp_path, busy_ticks=0, idle=1000)
    s = Sampler(Layout(2, unified=str(tmp_path / "cg2")), str(proc))
    s.clk_tck = 100
    t = Target(CID, "w", CG)
    s.sample([t])
    v2_tree(tmp_path, usage_usec=1_001_000)  # same host tick: no interval to divide by
    assert s.sample([t])[0].cpu.percent is None
    v2_tree(tmp_path, usage_usec=1_500_000)
    fake_proc(tmp_path, busy_ticks=100, idle=1100)
    assert s.sample([t])[0].cpu.percent == pytest.approx(50.0)


def test_cpu_counter_going_back_means_a_new_cgroup(tmp_path: Path) -> None:
    v2_tree(tmp_path, usage_usec=5_000_000)
    s = Sampler(Layout(2, unified=str(tmp_path / "cg2")), str(fake_proc(tmp_path)))
    t = Target(CID, "w", CG)
    s.sample([t])
    v2_tree(tmp_path, usage_usec=1_000)
    fake_proc(tmp_path, busy_ticks=100, idle=1100)
    assert s.sample([t])[0].cpu.percent is None


def test_proc_stat_is_dockers_system_usage() -> None:
    data = PROC_STAT.format(user=100, system=50, idle=1000).encode()
    # user + nice + system + idle + iowait + irq + softirq, in ns (steal left out)
    assert stats.parse_proc_stat(data, 100) == (1150 * 10_000_000, 2)


# ---- v1 and hybrid ---------------------------------------------------------------------


def v1_tree(root: Path, hybrid: bool = True) -> Layout:
    mounts = {c: root / "v1" / c for c in ("cpu", "cpuacct", "memory", "pids", "blkio", "freezer")}
    sub = CG.lstrip("/")
    write(mounts["cpuacct"] / sub, cpuacct__usage="3000000000\n", cpuacct__stat="user 250\nsystem 50\n")
    write(mounts["cpu"] / sub, cpu__stat="nr_periods 100\nnr_throttled 30\nthrottled_time 1500000000\n"
                                         "nr_bursts 0\nburst_time 0\n",
          cpu__cfs_quota_us="20000\n", cpu__cfs_period_us="100000\n")
    write(mounts["memory"] / sub,
          memory__usage_in_bytes=f"{40 * MB}\n",
          memory__limit_in_bytes=f"{128 * MB}\n",
          memory__failcnt="5\n",
          memory__oom_control="oom_kill_disable 0\nunder_oom 0\noom_kill 3\n",
          memory__kmem__usage_in_bytes=f"{1 * MB}\n",
          memory__stat=(f"cache {4 * MB}\nrss {9 * MB}\ninactive_file {1 * MB}\n"
                        f"hierarchical_memory_limit {128 * MB}\ntotal_cache {10 * MB}\ntotal_rss {25 * MB}\n"
                        f"total_shmem 0\ntotal_inactive_file {6 * MB}\ntotal_active_file {4 * MB}\n"))
    write(mounts["pids"] / sub, pids__current="4\n", pids__max="max\n")
    write(mounts["blkio"] / sub, blkio__throttle__io_service_bytes_recursive=(
        "8:0 Read 8192\n8:0 Write 4096\n8:0 Sync 4096\n8:0 Async 8192\n8:0 Discard 0\n8:0 Total 12288\n"
        "8:16 Read 100\n8:16 Write 0\n8:16 Sync 0\n8:16 Async 100\n8:16 Discard 0\n8:16 Total 100\nTotal 12388\n"))
    unified = None
    if hybrid:
        unified = root / "unified"
        write(unified / sub, cpu__pressure=PSI, memory__pressure=PSI, io__pressure=PSI,
              cpu__stat="usage_usec 3000000\n")
    return Layout(1, unified=str(unified) if unified else None, v1={c: str(p) for c, p in mounts.items()})


def test_v1_everything(tmp_path: Path) -> None:
    lay = v1_tree(tmp_path)
    s = Sampler(lay, str(fake_proc(tmp_path)))
    s.clk_tck = 100
    [st] = s.sample([Target(CID, "db", CG, 4242)])
    assert st.cgroup_version == 1
    c = st.cpu
    assert (c.usage_ns, c.user_ns, c.system_ns) == (3_000_000_000, 2_500_000_000, 500_000_000)
    assert c.limit_cpus == pytest.approx(0.2)
    assert (c.periods, c.throttled_periods, c.throttled_ns) == (100, 30, 1_500_000_000)
    m = st.memory
    assert (m.raw_usage, m.usage, m.limit, m.limit_set) == (40 * MB, 34 * MB, 128 * MB, True)
    assert (m.anon, m.file, m.kernel) == (25 * MB, 10 * MB, 1 * MB)  # total_* counts the whole subtree
    assert m.oom is None  # v1 has no count of OOM events
    assert (m.oom_kill, m.limit_hits) == (3, 5)
    assert (st.pids.current, st.pids.limit) == (4, None)
    assert st.block_io == BlockIO(8292, 4096)
    assert st.pressure is not None and st.pressure.memory == Pressure(12.5, 2.25, 123456, 6543)


def test_v1_unlimited_memory_is_the_hosts(tmp_path: Path) -> None:
    lay = v1_tree(tmp_path)
    (Path(lay.v1["memory"]) / CG.lstrip("/") / "memory.limit_in_bytes").write_text("9223372036854771712\n")
    (Path(lay.v1["cpu"]) / CG.lstrip("/") / "cpu.cfs_quota_us").write_text("-1\n")
    [st] = Sampler(lay, str(fake_proc(tmp_path))).sample([Target(CID, "db", CG)])
    assert (st.memory.limit, st.memory.limit_set) == (8_000_000 * 1024, False)
    assert st.cpu.limit_cpus is None


def test_legacy_v1_has_no_pressure_per_cgroup(tmp_path: Path) -> None:
    lay = v1_tree(tmp_path, hybrid=False)
    [st] = Sampler(lay, str(fake_proc(tmp_path))).sample([Target(CID, "db", CG)])
    assert st.pressure is None


def test_v1_falls_back_to_the_scheduler_io_counters(tmp_path: Path) -> None:
    lay = v1_tree(tmp_path)
    blk = Path(lay.v1["blkio"]) / CG.lstrip("/")
    (blk / "blkio.throttle.io_service_bytes_recursive").unlink()
    (blk / "blkio.io_service_bytes_recursive").write_text("8:0 Read 7\n8:0 Write 9\nTotal 16\n")
    [st] = Sampler(lay, str(fake_proc(tmp_path))).sample([Target(CID, "db", CG)])
    assert st.block_io == BlockIO(7, 9)


def test_v1_idle_throttle_counters_give_way_to_bfqs(tmp_path: Path) -> None:
    # Recent kernels keep blk-throttle's counters only on disks with a throttle rule.
    lay = v1_tree(tmp_path)
    blk = Path(lay.v1["blkio"]) / CG.lstrip("/")
    (blk / "blkio.throttle.io_service_bytes_recursive").write_text("Total 0\n")
    (blk / "blkio.bfq.io_service_bytes_recursive").write_text("254:0 Read 11\n254:0 Write 22\nTotal 33\n")
    [st] = Sampler(lay, str(fake_proc(tmp_path))).sample([Target(CID, "db", CG)])
    assert st.block_io == BlockIO(11, 22)
    (blk / "blkio.bfq.io_service_bytes_recursive").write_text("Total 0\n")
    [st] = Sampler(lay, str(fake_proc(tmp_path))).sample([Target(CID, "db", CG)])
    assert st.block_io == BlockIO(0, 0)


def test_v1_without_kmem_and_pids(tmp_path: Path) -> None:
    lay = v1_tree(tmp_path)
    (Path(lay.v1["memory"]) / CG.lstrip("/") / "memory.kmem.usage_in_bytes").unlink()
    del lay.v1["pids"]
    [st] = Sampler(lay, str(fake_proc(tmp_path))).sample([Target(CID, "db", CG)])
    assert st.memory.kernel is None
    assert (st.pids.current, st.pids.limit) == (0, None)


def test_v1_comounted_cpu_and_cpuacct(tmp_path: Path) -> None:
    lay = v1_tree(tmp_path)
    both = tmp_path / "v1" / "cpu,cpuacct" / CG.lstrip("/")
    write(both, cpuacct__usage="77\n", cpuacct__stat="user 0\nsystem 0\n", cpu__stat="nr_periods 1\n",
          cpu__cfs_quota_us="-1\n", cpu__cfs_period_us="100000\n")
    lay.v1["cpu"] = lay.v1["cpuacct"] = str(tmp_path / "v1" / "cpu,cpuacct")
    [st] = Sampler(lay, str(fake_proc(tmp_path))).sample([Target(CID, "db", CG)])
    assert (st.cpu.usage_ns, st.cpu.periods) == (77, 1)


# ---- parsers on their own ---------------------------------------------------------------


def test_pressure_parser() -> None:
    assert stats.parse_pressure(PSI.encode()) == Pressure(12.5, 2.25, 123456, 6543)
    assert stats.parse_pressure(b"") is None
    assert stats.parse_pressure(None) is None
    assert stats.parse_pressure(b"garbage\n") is None


def test_net_dev_parser_without_the_namespace() -> None:
    assert stats.parse_net_dev(None) is None
    only_lo = "\n".join(NET_DEV.splitlines()[:3]) + "\n"
    n = stats.parse_net_dev(only_lo.encode())
    assert n is not None and (n.rx_bytes, n.tx_bytes) == (0, 0) and len(n.interfaces) == 1


# ---- descriptors kept open ---------------------------------------------------------------


def test_open_files_reread_with_one_pread_and_close_what_a_batch_left(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_text("1\n")
    b.write_text("2\n")
    files = stats.OpenFiles()
    files.room = 10
    assert files.read(str(a)) == b"1\n" and files.read(str(b)) == b"2\n"
    fd = files.fds[str(a)]
    assert fd >= stats.FD_FLOOR  # the low numbers stay free for select(2) users
    a.write_text("11\n")  # the kernel regenerates a seq_file at offset 0; a regular file shows its new text
    assert files.read(str(a)) == b"11\n" and files.fds[str(a)] == fd
    files.sweep()
    assert set(files.fds) == {str(a), str(b)}
    bfd = files.fds[str(b)]
    files.read(str(a))
    files.sweep()  # b was not read in this batch
    assert set(files.fds) == {str(a)}
    with pytest.raises(OSError):
        os.fstat(bfd)  # closed
    files.close()
    assert files.fds == {}


def test_open_files_reopen_a_file_whose_cgroup_went_away(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "cpu.stat"
    f.write_text("usage_usec 1\n")
    files = stats.OpenFiles()
    files.room = 10
    files.read(str(f))
    old = files.fds[str(f)]
    real_pread = os.pread

    def enodev_once(fd: int, n: int, off: int) -> bytes:
        if fd == old:
            raise OSError(19, "No such device")  # what a removed cgroup's file answers
        return real_pread(fd, n, off)

    monkeypatch.setattr(stats.os, "pread", enodev_once)
    f.write_text("usage_usec 2\n")
    assert files.read(str(f)) == b"usage_usec 2\n"  # read again through a new descriptor
    assert str(f) in files.fds
    monkeypatch.undo()
    files.close()


def test_open_files_beyond_their_room_read_by_path(tmp_path: Path) -> None:
    f = tmp_path / "x"
    f.write_text("x")
    files = stats.OpenFiles()
    files.room = 0
    assert files.read(str(f)) == b"x" and files.fds == {}
    assert files.read(str(tmp_path / "missing")) is None
