"""cgroups: layout detection from mountinfo, and both backends against fake cgroupfs trees."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runtime.cgroups import Layout, detect, open_cgroup
from runtime.cgroups import base
from runtime.cgroups import v1 as v1mod
from runtime.cgroups.resources import DEFAULT_DEVICE_RULES, DeviceRule, Resources
from runtime.cgroups.v1 import CgroupV1
from runtime.cgroups.v2 import CgroupV2, shares_to_weight
from runtime.errors import InvalidArgument, RuntimeFailure
from runtime.mountinfo import parse_mountinfo

# ---- detect --------------------------------------------------------------------

COMMON = """\
21 26 0:20 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
22 26 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:2 - sysfs sysfs rw
26 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro
"""

PURE_V2 = COMMON + """\
27 22 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
"""

HYBRID = COMMON + """\
27 22 0:23 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:4 - tmpfs tmpfs ro,mode=755,inode64
28 27 0:24 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:5 - cgroup2 cgroup2 rw,nsdelegate
29 27 0:25 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:6 - cgroup cgroup rw,xattr,\
release_agent=/lib/systemd/systemd-cgroups-agent,name=systemd
32 27 0:28 / /sys/fs/cgroup/cpu rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,cpu
33 27 0:29 / /sys/fs/cgroup/cpuacct rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,cpuacct
34 27 0:30 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,memory
35 27 0:31 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,pids
"""

COMOUNTED = COMMON + """\
27 22 0:23 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:4 - tmpfs tmpfs ro,mode=755
30 27 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,cpu,cpuacct
31 27 0:27 / /sys/fs/cgroup/cpuset rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,cpuset,clone_children
"""


def test_detect_pure_v2() -> None:
    lay = detect(parse_mountinfo(PURE_V2))
    assert lay == Layout(2, unified="/sys/fs/cgroup")
    assert lay.description == "unified"


def test_detect_hybrid() -> None:
    lay = detect(parse_mountinfo(HYBRID))
    assert lay.version == 1
    assert lay.unified == "/sys/fs/cgroup/unified"
    assert lay.v1 == {
        "name=systemd": "/sys/fs/cgroup/systemd",
        "cpu": "/sys/fs/cgroup/cpu",
        "cpuacct": "/sys/fs/cgroup/cpuacct",
        "memory": "/sys/fs/cgroup/memory",
        "pids": "/sys/fs/cgroup/pids",
    }
    assert lay.description == "hybrid"


def test_detect_comounted_controllers_share_one_mount_point() -> None:
    lay = detect(parse_mountinfo(COMOUNTED))
    assert lay == Layout(1, unified=None, v1={
        "cpu": "/sys/fs/cgroup/cpu,cpuacct",
        "cpuacct": "/sys/fs/cgroup/cpu,cpuacct",
        "cpuset": "/sys/fs/cgroup/cpuset",
    })
    assert lay.description == "legacy"


def test_detect_with_nothing_mounted() -> None:
    with pytest.raises(InvalidArgument, match="nothing mounted at /sys/fs/cgroup"):
        detect(parse_mountinfo(COMMON))


def test_detect_takes_the_root_as_a_parameter() -> None:
    text = PURE_V2.replace("/sys/fs/cgroup", "/tmp/cg")
    assert detect(parse_mountinfo(text), root="/tmp/cg") == Layout(2, unified="/tmp/cg")
    with pytest.raises(InvalidArgument):
        detect(parse_mountinfo(text))


def test_detect_cgroup2_only_below_the_root_is_v2() -> None:
    text = COMMON + "28 22 0:24 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"
    assert detect(parse_mountinfo(text)) == Layout(2, unified="/sys/fs/cgroup/unified")


def test_open_cgroup_picks_the_backend_and_checks_the_path(tmp_path: Path) -> None:
    cg = open_cgroup("/tuidock/abc", Layout(2, unified=str(tmp_path)))
    assert isinstance(cg, CgroupV2) and cg.dirs() == [f"{tmp_path}/tuidock/abc"]
    lay = Layout(1, v1={"cpu": "/c/cpu,cpuacct", "cpuacct": "/c/cpu,cpuacct", "memory": "/c/memory"})
    cg1 = open_cgroup("/tuidock/abc", lay)
    assert isinstance(cg1, CgroupV1)
    assert cg1.dirs() == ["/c/cpu,cpuacct/tuidock/abc", "/c/memory/tuidock/abc"]
    for bad in ("tuidock/abc", "/tuidock/../etc", "/tuidock//abc", "/tuidock/abc/"):
        with pytest.raises(InvalidArgument):
            open_cgroup(bad, lay)


# ---- fake trees ------------------------------------------------------------------


def files(d: Path, **contents: str) -> Path:
    """A cgroup directory with its interface files (dots in names are written as __)."""
    d.mkdir(parents=True, exist_ok=True)
    for name, text in contents.items():
        (d / name.replace("__", ".")).write_text(text)
    return d


def read(d: Path, name: str) -> str:
    return (d / name).read_text()


@pytest.fixture
def v1tree(tmp_path: Path) -> tuple[CgroupV1, dict[str, Path]]:
    empty = dict.fromkeys
    dirs = {
        "memory": files(tmp_path / "memory/tuidock/c", **empty(
            ["memory__limit_in_bytes", "memory__soft_limit_in_bytes", "memory__oom_control"], "")),
        "cpu": files(tmp_path / "cpu,cpuacct/tuidock/c", **empty(
            ["cpu__shares", "cpu__cfs_period_us", "cpu__cfs_quota_us"], "")),
        "pids": files(tmp_path / "pids/tuidock/c", pids__max=""),
        "freezer": files(tmp_path / "freezer/tuidock/c", freezer__state="THAWED"),
        "devices": files(tmp_path / "devices/tuidock/c", devices__allow="", devices__deny=""),
    }
    dirs["cpuacct"] = dirs["cpu"]
    cg = CgroupV1({k: str(v) for k, v in dirs.items()}, "/tuidock/c")
    return cg, dirs


@pytest.fixture
def v2dir(tmp_path: Path) -> Path:
    return files(tmp_path / "tuidock/c", memory__max="", memory__swap__max="", memory__low="", cpu__weight="",
                 cpu__max="max 100000", cpuset__cpus="", cpuset__mems="", pids__max="", cgroup__freeze="0",
                 cgroup__events="populated 0\nfrozen 0\n", memory__events="")


# ---- v1 --------------------------------------------------------------------------


def test_v1_apply_writes_memory_cpu_and_pids(v1tree: tuple[CgroupV1, dict[str, Path]]) -> None:
    cg, d = v1tree
    cg.apply(Resources(memory=64 << 20, memory_reservation=32 << 20, cpu_shares=512, cpu_quota=20000,
                       cpu_period=100000, pids_limit=100))
    assert read(d["memory"], "memory.limit_in_bytes") == str(64 << 20)
    assert read(d["memory"], "memory.soft_limit_in_bytes") == str(32 << 20)
    assert read(d["cpu"], "cpu.shares") == "512"
    assert read(d["cpu"], "cpu.cfs_quota_us") == "20000"
    assert read(d["cpu"], "cpu.cfs_period_us") == "100000"
    assert read(d["pids"], "pids.max") == "100"


@pytest.mark.parametrize("limit", [-1, 0])
def test_v1_unlimited_pids_is_max(v1tree: tuple[CgroupV1, dict[str, Path]], limit: int) -> None:
    cg, d = v1tree
    cg.apply(Resources(pids_limit=limit))
    assert read(d["pids"], "pids.max") == "max"


def test_v1_unset_fields_write_nothing(v1tree: tuple[CgroupV1, dict[str, Path]]) -> None:
    cg, d = v1tree
    cg.apply(Resources())
    for dd in d.values():
        for f in dd.iterdir():
            assert f.read_text() in ("", "THAWED"), f


def test_v1_unlimited_quota_is_minus_one(v1tree: tuple[CgroupV1, dict[str, Path]]) -> None:
    cg, d = v1tree
    cg.apply(Resources(cpu_quota=-1))
    assert read(d["cpu"], "cpu.cfs_quota_us") == "-1"


def test_v1_memsw_stays_above_the_limit_at_every_step(
        v1tree: tuple[CgroupV1, dict[str, Path]], monkeypatch: pytest.MonkeyPatch) -> None:
    cg, d = v1tree
    (d["memory"] / "memory.memsw.limit_in_bytes").write_text("")
    (d["memory"] / "memory.limit_in_bytes").write_text(str(64 << 20))
    writes: list[tuple[str, str]] = []

    def recording_write(path: str, value: str) -> None:
        writes.append((os.path.basename(path), value))
        base.write(path, value)

    monkeypatch.setattr(v1mod, "write", recording_write)
    cg.apply(Resources(memory=128 << 20, memory_swap=256 << 20))  # growing: memsw first
    assert writes == [("memory.memsw.limit_in_bytes", str(256 << 20)), ("memory.limit_in_bytes", str(128 << 20))]
    writes.clear()
    (d["memory"] / "memory.limit_in_bytes").write_text(str(128 << 20))
    cg.apply(Resources(memory=32 << 20, memory_swap=-1))  # shrinking: limit first
    assert writes == [("memory.limit_in_bytes", str(32 << 20)), ("memory.memsw.limit_in_bytes", "-1")]


def test_v1_device_rules_go_to_allow_and_deny(
        v1tree: tuple[CgroupV1, dict[str, Path]], monkeypatch: pytest.MonkeyPatch) -> None:
    cg, _ = v1tree
    writes: list[tuple[str, str]] = []

    def recording_write(path: str, value: str) -> None:
        writes.append((os.path.basename(path), value))

    monkeypatch.setattr(v1mod, "write", recording_write)
    cg.apply(Resources(devices=DEFAULT_DEVICE_RULES[:4]))
    assert writes == [("devices.deny", "a"), ("devices.allow", "c *:* m"), ("devices.allow", "b *:* m"),
                      ("devices.allow", "c 1:3 rwm")]


def test_v1_cpuset_create_copies_cpus_and_mems_down_every_level(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = files(tmp_path / "cpuset", cpuset__cpus="0-3", cpuset__mems="0")
    real_mkdir = os.mkdir

    def cgroupfs_mkdir(path: str, mode: int = 0o777, *, dir_fd: int | None = None) -> None:
        # The kernel creates a new cpuset with empty cpus and mems files.
        real_mkdir(path, mode, dir_fd=dir_fd)
        for f in ("cpuset.cpus", "cpuset.mems"):
            open(os.path.join(path, f), "w").close()

    monkeypatch.setattr(os, "mkdir", cgroupfs_mkdir)
    leaf = root / "tuidock" / "c"
    CgroupV1({"cpuset": str(leaf)}, "/tuidock/c").create()
    for level in (root / "tuidock", leaf):
        assert read(level, "cpuset.cpus") == "0-3"
        assert read(level, "cpuset.mems") == "0"


def test_v1_create_makes_every_hierarchy_dir(tmp_path: Path) -> None:
    cg = CgroupV1({"memory": str(tmp_path / "m/a/b"), "pids": str(tmp_path / "p/a/b")}, "/a/b")
    cg.create()
    assert (tmp_path / "m/a/b").is_dir() and (tmp_path / "p/a/b").is_dir()
    assert cg.exists()


def test_v1_dirs_are_deduplicated(v1tree: tuple[CgroupV1, dict[str, Path]]) -> None:
    cg, d = v1tree
    assert cg.dirs().count(str(d["cpu"])) == 1
    assert len(cg.dirs()) == 5


def test_v1_oom_kill_count(v1tree: tuple[CgroupV1, dict[str, Path]]) -> None:
    cg, d = v1tree
    assert cg.oom_kill_count() == 0
    (d["memory"] / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n")
    assert cg.oom_kill_count() == 3
    assert CgroupV1({}, "/x").oom_kill_count() == 0


def test_v1_freeze_and_is_frozen(v1tree: tuple[CgroupV1, dict[str, Path]]) -> None:
    cg, d = v1tree
    assert not cg.is_frozen()
    cg.freeze(True)
    assert read(d["freezer"], "freezer.state") == "FROZEN" and cg.is_frozen()
    cg.freeze(False)
    assert read(d["freezer"], "freezer.state") == "THAWED" and not cg.is_frozen()
    (d["freezer"] / "freezer.state").write_text("FREEZING")
    assert not cg.is_frozen()


def test_v1_freeze_without_freezer_fails() -> None:
    cg = CgroupV1({"memory": "/nonexistent"}, "/x")
    assert not cg.is_frozen()
    with pytest.raises(RuntimeFailure, match="freezer"):
        cg.freeze(True)


def test_pids_is_the_union_of_every_hierarchy(v1tree: tuple[CgroupV1, dict[str, Path]]) -> None:
    cg, d = v1tree
    (d["memory"] / "cgroup.procs").write_text("12\n7\n")
    (d["pids"] / "cgroup.procs").write_text("7\n30\n")
    assert cg.pids() == [7, 12, 30]


def test_write_to_a_missing_file_names_it(tmp_path: Path) -> None:
    cg = CgroupV2(str(tmp_path / "gone"), "/gone")
    with pytest.raises(RuntimeFailure, match=f"cgroup {tmp_path}/gone/pids.max"):
        cg.apply(Resources(pids_limit=5))


# ---- v2 --------------------------------------------------------------------------


def test_v2_apply_writes_the_unified_files(v2dir: Path) -> None:
    cg = CgroupV2(str(v2dir), "/tuidock/c")
    cg.apply(Resources(memory=64 << 20, memory_swap=96 << 20, memory_reservation=16 << 20, cpu_quota=20000,
                       cpu_period=100000, pids_limit=-1, cpuset_cpus="0-1", cpuset_mems="0"))
    assert read(v2dir, "memory.max") == str(64 << 20)
    assert read(v2dir, "memory.swap.max") == str(32 << 20)  # v2 counts swap alone: swap - memory
    assert read(v2dir, "memory.low") == str(16 << 20)
    assert read(v2dir, "cpu.max") == "20000 100000"
    assert read(v2dir, "pids.max") == "max"
    assert read(v2dir, "cpuset.cpus") == "0-1" and read(v2dir, "cpuset.mems") == "0"


def test_v2_unlimited_swap_is_max(v2dir: Path) -> None:
    CgroupV2(str(v2dir), "/tuidock/c").apply(Resources(memory=64 << 20, memory_swap=-1))
    assert read(v2dir, "memory.swap.max") == "max"


def test_v2_swap_without_swap_accounting_is_skipped(v2dir: Path) -> None:
    (v2dir / "memory.swap.max").unlink()
    CgroupV2(str(v2dir), "/tuidock/c").apply(Resources(memory=64 << 20, memory_swap=128 << 20))
    assert not (v2dir / "memory.swap.max").exists()
    assert read(v2dir, "memory.max") == str(64 << 20)


def test_v2_quota_alone_keeps_the_current_period(v2dir: Path) -> None:
    (v2dir / "cpu.max").write_text("max 50000")
    CgroupV2(str(v2dir), "/tuidock/c").apply(Resources(cpu_quota=25000))
    assert read(v2dir, "cpu.max") == "25000 50000"


def test_v2_period_alone_keeps_the_current_quota(v2dir: Path) -> None:
    (v2dir / "cpu.max").write_text("30000 100000")
    CgroupV2(str(v2dir), "/tuidock/c").apply(Resources(cpu_period=200000))
    assert read(v2dir, "cpu.max") == "30000 200000"


def test_v2_cpu_weight_from_shares(v2dir: Path) -> None:
    CgroupV2(str(v2dir), "/tuidock/c").apply(Resources(cpu_shares=512))
    assert read(v2dir, "cpu.weight") == str(shares_to_weight(512)) == "20"


@pytest.mark.parametrize("shares, weight", [(2, 1), (262144, 10000), (1024, 39), (1026, 40), (100000, 3815)])
def test_shares_to_weight_matches_runc(shares: int, weight: int) -> None:
    assert shares_to_weight(shares) == weight


def test_v2_create_enables_controllers_in_every_ancestor(tmp_path: Path) -> None:
    files(tmp_path, cgroup__controllers="cpuset cpu io memory hugetlb pids rdma misc",
          cgroup__subtree_control="cpuset cpu io memory pids")
    files(tmp_path / "tuidock", cgroup__controllers="cpu memory pids", cgroup__subtree_control="")
    cg = CgroupV2(str(tmp_path / "tuidock" / "c"), "/tuidock/c")
    assert cg.mount == str(tmp_path)
    cg.create()
    assert read(tmp_path, "cgroup.subtree_control") == "cpuset cpu io memory pids"  # nothing missing: untouched
    assert read(tmp_path / "tuidock", "cgroup.subtree_control") == "+cpu +memory +pids"  # only what is available
    assert (tmp_path / "tuidock" / "c").is_dir()
    assert not (tmp_path / "tuidock" / "c" / "cgroup.subtree_control").exists()  # the leaf holds processes


def test_v2_create_from_the_mount_root(tmp_path: Path) -> None:
    files(tmp_path, cgroup__controllers="cpu io memory pids", cgroup__subtree_control="")
    CgroupV2(str(tmp_path / "a" / "b"), "/a/b").create()
    assert read(tmp_path, "cgroup.subtree_control") == "+cpu +io +memory +pids"
    assert (tmp_path / "a" / "b").is_dir()


def test_v2_oom_kill_count_and_frozen(v2dir: Path) -> None:
    cg = CgroupV2(str(v2dir), "/tuidock/c")
    assert cg.oom_kill_count() == 0 and not cg.is_frozen()
    (v2dir / "memory.events").write_text("low 0\nhigh 0\nmax 12\noom 2\noom_kill 2\noom_group_kill 0\n")
    (v2dir / "cgroup.events").write_text("populated 1\nfrozen 1\n")
    assert cg.oom_kill_count() == 2
    assert cg.is_frozen()
    cg.freeze(True)  # the fake already reports frozen, so this returns at once
    assert read(v2dir, "cgroup.freeze") == "1"


# ---- Resources -------------------------------------------------------------------


def test_resources_oci_round_trip() -> None:
    r = Resources(memory=1 << 30, memory_reservation=1 << 29, memory_swap=-1, cpu_shares=512, cpu_quota=50000,
                  cpu_period=100000, cpuset_cpus="0-1", cpuset_mems="0", pids_limit=64, oom_kill_disable=False,
                  devices=(DeviceRule(False), DeviceRule(True, "c", 1, 3, "rw"), DeviceRule(True, "c", 136, -1)))
    oci = r.to_oci()
    assert oci["memory"] == {"limit": 1 << 30, "reservation": 1 << 29, "swap": -1, "disableOOMKiller": False}
    assert oci["cpu"] == {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0-1", "mems": "0"}
    assert oci["pids"] == {"limit": 64}
    assert oci["devices"][0] == {"allow": False, "type": "a", "access": "rwm"}
    assert oci["devices"][2] == {"allow": True, "type": "c", "major": 136, "access": "rwm"}
    assert Resources.from_oci(oci) == r


def test_empty_resources_are_empty_oci() -> None:
    assert Resources().to_oci() == {}
    assert Resources.from_oci({}) == Resources()
    assert Resources(devices=()).to_oci() == {"devices": []}
    assert Resources.from_oci({"devices": []}).devices == ()


@pytest.mark.parametrize("quota, period, cpus", [
    (50000, 100000, 0.5), (150000, None, 1.5), (20000, 10000, 2.0), (None, 100000, None), (-1, 100000, None),
])
def test_cpus_is_quota_over_period(quota: int | None, period: int | None, cpus: float | None) -> None:
    assert Resources(cpu_quota=quota, cpu_period=period).cpus == cpus


def test_merged_replaces_only_what_is_set() -> None:
    base = Resources(memory=100, cpu_shares=512, pids_limit=10)
    out = base.merged(Resources(memory=200, cpuset_cpus="1"))
    assert out == Resources(memory=200, cpu_shares=512, pids_limit=10, cpuset_cpus="1")
    assert base.memory == 100
    assert base.merged(Resources()) == base


@pytest.mark.parametrize("rule, line", [
    (DeviceRule(False), "a"),
    (DeviceRule(True, "c", 1, 3, "rwm"), "c 1:3 rwm"),
    (DeviceRule(True, "c", 136, -1, "rwm"), "c 136:* rwm"),
    (DeviceRule(True, "b", -1, -1, "m"), "b *:* m"),
])
def test_device_rule_v1_line(rule: DeviceRule, line: str) -> None:
    assert rule.v1_line() == line


def test_default_device_rules_deny_all_first() -> None:
    assert DEFAULT_DEVICE_RULES[0] == DeviceRule(False, "a")
    allowed = {(r.type, r.major, r.minor) for r in DEFAULT_DEVICE_RULES if r.allow}
    assert {("c", 1, 3), ("c", 1, 9), ("c", 5, 2), ("c", 136, -1)} <= allowed
