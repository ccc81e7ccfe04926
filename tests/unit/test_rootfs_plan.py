"""The rootfs mount plan: option parsing and :func:`runtime.rootfs.plan` against fake cgroup layouts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runtime import _sys
from runtime.cgroups import Layout
from runtime.errors import RuntimeFailure
from runtime.oci import spec as ocispec
from runtime.oci.spec import Device, Mount, Namespace, Process, Spec
from runtime.rootfs import DEFAULT_DEVICES, DEV_SYMLINKS, MountOp, RootfsPlan, parse_options, plan

V2 = Layout(2, unified="/sys/fs/cgroup")
V1_HYBRID = Layout(1, unified="/sys/fs/cgroup/unified", v1={
    "cpu": "/sys/fs/cgroup/cpu,cpuacct",
    "cpuacct": "/sys/fs/cgroup/cpu,cpuacct",
    "memory": "/sys/fs/cgroup/memory",
    "pids": "/sys/fs/cgroup/pids",
    "name=systemd": "/sys/fs/cgroup/systemd",
})
ALL_NS = tuple(Namespace(t) for t in ocispec.NAMESPACES)
NO_CGROUPNS = tuple(n for n in ALL_NS if n.type != "cgroup")


def make_spec(mounts: tuple[Mount, ...] = ocispec.DEFAULT_MOUNTS, namespaces: tuple[Namespace, ...] = ALL_NS,
              **kw: object) -> Spec:
    return Spec(process=Process(args=("sh",)), mounts=mounts, namespaces=namespaces, **kw)  # type: ignore[arg-type]


def cgroup_ops(p: RootfsPlan) -> list[MountOp]:
    return [op for op in p.mounts if op.target.startswith("/sys/fs/cgroup")]


# ---- parse_options -------------------------------------------------------------


def test_flags_accumulate() -> None:
    o = parse_options(["nosuid", "nodev", "noexec", "ro"])
    assert o.flags == _sys.MS_NOSUID | _sys.MS_NODEV | _sys.MS_NOEXEC | _sys.MS_RDONLY
    assert o.readonly and not o.bind
    assert o.propagation == 0 and o.data == ""


@pytest.mark.parametrize("opts, flags", [
    (["ro", "rw"], 0),
    (["nosuid", "suid"], 0),
    (["noexec", "exec", "nodev"], _sys.MS_NODEV),
    (["rw", "ro"], _sys.MS_RDONLY),
    (["noatime", "atime"], 0),
    (["defaults"], 0),
])
def test_clear_flags_undo_earlier_ones(opts: list[str], flags: int) -> None:
    assert parse_options(opts).flags == flags


def test_bind_and_rbind() -> None:
    assert parse_options(["bind"]).flags == _sys.MS_BIND
    assert parse_options(["rbind"]).flags == _sys.MS_BIND | _sys.MS_REC
    assert parse_options(["rbind"]).bind


@pytest.mark.parametrize("name, prop", [
    ("private", _sys.MS_PRIVATE),
    ("rprivate", _sys.MS_PRIVATE | _sys.MS_REC),
    ("rslave", _sys.MS_SLAVE | _sys.MS_REC),
    ("shared", _sys.MS_SHARED),
    ("runbindable", _sys.MS_UNBINDABLE | _sys.MS_REC),
])
def test_propagation_is_kept_apart_from_flags(name: str, prop: int) -> None:
    o = parse_options(["rbind", name])
    assert o.propagation == prop
    assert o.flags == _sys.MS_BIND | _sys.MS_REC


def test_unknown_options_become_mount_data_in_order() -> None:
    o = parse_options(["nosuid", "mode=755", "size=65536k", "newinstance", "ptmxmode=0666"])
    assert o.data == "mode=755,size=65536k,newinstance,ptmxmode=0666"
    assert o.flags == _sys.MS_NOSUID


def test_engine_level_options_are_dropped() -> None:
    assert parse_options(["z", "Z", "tmpcopyup", "copy", "nocopy"]) == parse_options([])


# ---- plan: cgroup mounts --------------------------------------------------------


def test_v2_in_a_cgroup_namespace_is_one_cgroup2_mount() -> None:
    p = plan(make_spec(), "/bundle", V2, "/tuidock/abc")
    [op] = cgroup_ops(p)
    assert (op.target, op.fstype, op.source) == ("/sys/fs/cgroup", "cgroup2", "cgroup2")
    assert op.readonly
    assert op.flags & _sys.MS_NOSUID and op.flags & _sys.MS_NODEV and op.flags & _sys.MS_NOEXEC
    assert not op.flags & _sys.MS_BIND


def test_v2_without_cgroup_namespace_binds_the_containers_own_cgroup() -> None:
    p = plan(make_spec(namespaces=NO_CGROUPNS), "/bundle", V2, "/tuidock/abc")
    [op] = cgroup_ops(p)
    assert op.source == "/sys/fs/cgroup/tuidock/abc"
    assert op.fstype is None
    assert op.flags & _sys.MS_BIND and op.readonly


def test_v1_is_a_tmpfs_then_one_mount_per_hierarchy_then_a_readonly_remount() -> None:
    p = plan(make_spec(), "/bundle", V1_HYBRID, "/tuidock/abc")
    ops = cgroup_ops(p)
    tmpfs, *hier, remount = ops
    assert (tmpfs.target, tmpfs.fstype, tmpfs.data) == ("/sys/fs/cgroup", "tmpfs", "mode=755")
    assert not tmpfs.readonly  # the hierarchies are mounted into it first
    got = {op.target: (op.fstype, op.data) for op in hier}
    assert got == {
        "/sys/fs/cgroup/cpu,cpuacct": ("cgroup", "cpu,cpuacct"),
        "/sys/fs/cgroup/memory": ("cgroup", "memory"),
        "/sys/fs/cgroup/pids": ("cgroup", "pids"),
        "/sys/fs/cgroup/systemd": ("cgroup", "none,name=systemd"),
        "/sys/fs/cgroup/unified": ("cgroup2", ""),
    }
    assert len(hier) == 5  # co-mounted cpu and cpuacct make one mount, not two
    assert remount.target == "/sys/fs/cgroup"
    assert remount.flags & _sys.MS_REMOUNT and remount.flags & _sys.MS_BIND and remount.readonly
    # The remount repeats the locked flags or mount(2) fails with EPERM.
    assert remount.flags & _sys.MS_NOSUID and remount.flags & _sys.MS_NODEV and remount.flags & _sys.MS_NOEXEC


def test_v1_without_cgroup_namespace_binds_each_hierarchys_own_dir() -> None:
    p = plan(make_spec(namespaces=NO_CGROUPNS), "/bundle", V1_HYBRID, "/tuidock/abc")
    _, *hier, _ = cgroup_ops(p)
    assert {op.target: op.source for op in hier} == {
        "/sys/fs/cgroup/cpu,cpuacct": "/sys/fs/cgroup/cpu,cpuacct/tuidock/abc",
        "/sys/fs/cgroup/memory": "/sys/fs/cgroup/memory/tuidock/abc",
        "/sys/fs/cgroup/pids": "/sys/fs/cgroup/pids/tuidock/abc",
        "/sys/fs/cgroup/systemd": "/sys/fs/cgroup/systemd/tuidock/abc",
        "/sys/fs/cgroup/unified": "/sys/fs/cgroup/unified/tuidock/abc",
    }
    assert all(op.flags & _sys.MS_BIND and op.fstype is None for op in hier)


def test_without_cgroup_namespace_or_path_mounts_fresh_hierarchies() -> None:
    p = plan(make_spec(namespaces=NO_CGROUPNS), "/bundle", V2, "")
    [op] = cgroup_ops(p)
    assert op.fstype == "cgroup2" and not op.flags & _sys.MS_BIND


def test_v1_read_write_cgroup_mount_has_no_final_remount() -> None:
    m = Mount("/sys/fs/cgroup", "cgroup", "cgroup", ("nosuid", "noexec", "nodev"))
    ops = cgroup_ops(plan(make_spec(mounts=(m,)), "/bundle", V1_HYBRID))
    assert not any(op.flags & _sys.MS_REMOUNT for op in ops)
    assert len(ops) == 6


# ---- plan: binds, devices, root -------------------------------------------------


def test_bind_of_a_missing_source_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    m = Mount("/data", "bind", str(missing), ("rbind",))
    with pytest.raises(RuntimeFailure) as e:
        plan(make_spec(mounts=(m,)), "/bundle", V2)
    assert str(missing) in str(e.value) and "/data" in str(e.value)


def test_bind_of_a_file_and_of_a_directory(tmp_path: Path) -> None:
    (tmp_path / "hosts").write_text("127.0.0.1 localhost\n")
    (tmp_path / "data").mkdir()
    mounts = (
        Mount("/etc/hosts", "bind", str(tmp_path / "hosts"), ("rbind", "rprivate")),
        Mount("/data", "none", str(tmp_path / "data"), ("bind", "ro")),
    )
    p = plan(make_spec(mounts=mounts), "/bundle", V2)
    hosts, data = p.mounts
    assert (hosts.kind, hosts.source, hosts.fstype) == ("file", str(tmp_path / "hosts"), None)
    assert hosts.flags == _sys.MS_BIND | _sys.MS_REC
    assert hosts.propagation == _sys.MS_PRIVATE | _sys.MS_REC
    assert data.kind == "dir" and data.readonly and data.flags & _sys.MS_BIND


def test_plain_filesystem_mounts_carry_their_data() -> None:
    m = Mount("/dev/shm", "tmpfs", "shm", ("nosuid", "noexec", "nodev", "mode=1777", "size=65536k"))
    [op] = plan(make_spec(mounts=(m,)), "/bundle", V2).mounts
    assert (op.source, op.fstype, op.data) == ("shm", "tmpfs", "mode=1777,size=65536k")
    assert op.flags == _sys.MS_NOSUID | _sys.MS_NOEXEC | _sys.MS_NODEV


def test_devices_and_symlinks_come_with_a_dev_mount() -> None:
    fuse = Device("/dev/fuse", "c", 10, 229)
    null_again = Device("/dev/null", "c", 1, 3, 0o600)
    p = plan(make_spec(devices=(fuse, null_again)), "/bundle", V2)
    assert p.devices[: len(DEFAULT_DEVICES)] == DEFAULT_DEVICES
    assert p.devices[len(DEFAULT_DEVICES):] == (fuse,)  # no second /dev/null
    # /dev/core is host-dependent (only where /proc/kcore exists); the others always come.
    assert {sl for sl in DEV_SYMLINKS if sl[1] != "/dev/core"} <= set(p.symlinks) <= set(DEV_SYMLINKS)
    assert ("pts/ptmx", "/dev/ptmx") in p.symlinks


def test_without_a_dev_mount_only_the_specs_devices_are_made() -> None:
    fuse = Device("/dev/fuse", "c", 10, 229)
    mounts = tuple(m for m in ocispec.DEFAULT_MOUNTS if m.destination != "/dev")
    p = plan(make_spec(mounts=mounts, devices=(fuse,)), "/bundle", V2)
    assert p.devices == (fuse,)
    assert p.symlinks == ()


def test_root_paths_and_propagation() -> None:
    p = plan(make_spec(root_readonly=True), "/run/bundle", V2)
    assert p.rootfs == "/run/bundle/rootfs"
    assert p.root_propagation == _sys.MS_SLAVE | _sys.MS_REC
    assert p.root_readonly
    assert p.overlay is None
    p = plan(make_spec(root_path="/abs/root", rootfs_propagation="private"), "/run/bundle", V2)
    assert p.rootfs == "/abs/root"
    assert p.root_propagation == _sys.MS_PRIVATE


def test_overlay_annotation_becomes_the_overlay_step() -> None:
    ov = {"lowerdir": ["containers/c/init", "layers/b/diff", "layers/a/diff"], "upperdir": "containers/c/upper",
          "workdir": "containers/c/work", "base": "/var/lib/tuidock"}
    p = plan(make_spec(annotations={ocispec.ANN_OVERLAY: json.dumps(ov)}), "/b", V2)
    assert p.overlay is not None
    assert p.overlay.lowerdir == ("containers/c/init", "layers/b/diff", "layers/a/diff")
    assert p.overlay.base == "/var/lib/tuidock"
    assert p.overlay.data() == ("lowerdir=containers/c/init:layers/b/diff:layers/a/diff,"
                                "upperdir=containers/c/upper,workdir=containers/c/work")


def test_describe_lists_every_step_in_order() -> None:
    ov = {"lowerdir": ["i", "l1", "l0"], "upperdir": "u", "workdir": "w"}
    spec = make_spec(annotations={ocispec.ANN_OVERLAY: json.dumps(ov)}, root_readonly=True,
                     masked_paths=("/proc/kcore",), readonly_paths=("/proc/sys",))
    lines = plan(spec, "/b", V2).describe()
    assert lines[0] == "overlay on /b/rootfs: 3 lower layers, upper u"
    assert "proc on /proc" in lines
    assert "sysfs on /sys (ro)" in lines
    assert "cgroup2 on /sys/fs/cgroup (ro)" in lines
    pivot = lines.index("pivot_root into it; old root made slave and detached")
    assert lines[pivot + 1:] == ["masked /proc/kcore", "read-only /proc/sys", "root remounted read-only"]
    assert len(lines) == 1 + len(ocispec.DEFAULT_MOUNTS) + 4


def test_describe_without_overlay_binds_the_root_on_itself() -> None:
    lines = plan(make_spec(mounts=()), "/b", V2).describe()
    assert lines[0] == "bind /b/rootfs on itself"
    assert "root remounted read-only" not in lines
