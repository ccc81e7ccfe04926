"""The OCI config.json: parsing, generating, and round trips of a bundle made by ``runc spec``."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from runtime import capabilities
from runtime.errors import InvalidArgument
from runtime.oci import spec as ocispec
from runtime.oci.spec import Capabilities, Mount, Namespace, Process, Rlimit, Spec

RUNC_CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]


def runc_spec() -> dict[str, Any]:
    """What ``runc spec`` writes (runc 1.1), plus an unknown top-level key and hooks."""
    return {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": True,
            "user": {"uid": 0, "gid": 0},
            "args": ["sh"],
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
            "cwd": "/",
            "capabilities": {
                "bounding": list(RUNC_CAPS),
                "effective": list(RUNC_CAPS),
                "permitted": list(RUNC_CAPS),
                "ambient": list(RUNC_CAPS),
            },
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": "rootfs", "readonly": True},
        "hostname": "runc",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
             "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
        ],
        "linux": {
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}],
            "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                            "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
                            "/proc/scsi"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
        },
        "hooks": {"prestart": [{"path": "/usr/bin/fix-mounts", "args": ["fix-mounts", "arg1"]}]},
        "x-vendor": {"keep": ["me", 1]},
    }


def test_runc_spec_is_parsed_into_typed_fields() -> None:
    s = Spec.from_dict(runc_spec())
    p = s.process
    assert p.args == ("sh",)
    assert p.terminal is True
    assert p.env[1] == "TERM=xterm"
    assert (p.uid, p.gid, p.cwd) == (0, 0, "/")
    assert p.capabilities.ambient == tuple(RUNC_CAPS)
    assert p.capabilities.inheritable == ()
    assert p.rlimits == (Rlimit("RLIMIT_NOFILE", 1024, 1024),)
    assert p.no_new_privileges is True
    assert (s.root_path, s.root_readonly, s.hostname) == ("rootfs", True, "runc")
    assert [m.destination for m in s.mounts] == ["/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys",
                                                "/sys/fs/cgroup"]
    assert s.mounts[0].options == ()
    assert s.mounts[5].options[-1] == "ro"
    assert [n.type for n in s.namespaces] == ["pid", "network", "ipc", "uts", "mount"]
    assert s.has_namespace("network") and not s.has_namespace("cgroup")
    assert s.resources == {"devices": [{"allow": False, "access": "rwm"}]}
    assert "/proc/kcore" in s.masked_paths
    assert s.readonly_paths[-1] == "/proc/sysrq-trigger"
    assert s.extra == {"hooks": runc_spec()["hooks"], "x-vendor": {"keep": ["me", 1]}}


def test_runc_spec_round_trips_keeping_unknown_keys() -> None:
    original = runc_spec()
    out = Spec.from_dict(copy.deepcopy(original)).to_dict()
    # What to_dict adds is only explicit defaults: empty option lists, an empty inheritable set.
    expected = copy.deepcopy(original)
    for m in expected["mounts"]:
        m.setdefault("options", [])
    expected["process"]["capabilities"]["inheritable"] = []
    assert out == expected
    assert json.loads(json.dumps(out)) == out


def test_spec_survives_to_dict_from_dict() -> None:
    s = Spec.from_dict(runc_spec())
    assert Spec.from_dict(s.to_dict()) == s


def test_optional_process_fields_round_trip() -> None:
    s = Spec(
        process=Process(args=("/bin/true",), additional_gids=(10, 20), umask=0o022, console_size=(24, 80),
                        oom_score_adj=-500, capabilities=Capabilities.of(["CAP_KILL"])),
        namespaces=(Namespace("pid"), Namespace("network", "/run/netns/x")),
        cgroups_path="/tuidock/abc",
        sysctl={"net.ipv4.ip_forward": "1"},
        rootfs_propagation="rprivate",
        domainname="example.org",
        devices=(ocispec.Device("/dev/fuse", "c", 10, 229, 0o600, 0, 0),),
        annotations={"a": "b"},
    )
    d = s.to_dict()
    assert d["process"]["user"] == {"uid": 0, "gid": 0, "additionalGids": [10, 20], "umask": 0o022}
    assert d["process"]["consoleSize"] == {"height": 24, "width": 80}
    assert d["linux"]["namespaces"] == [{"type": "pid"}, {"type": "network", "path": "/run/netns/x"}]
    assert d["linux"]["cgroupsPath"] == "/tuidock/abc"
    assert Spec.from_dict(json.loads(json.dumps(d))) == s


def test_namespace_with_a_path_is_joined_not_created() -> None:
    s = Spec(process=Process(args=("sh",)), namespaces=(Namespace("network", "/proc/1/ns/net"), Namespace("pid")))
    assert not s.has_namespace("network")
    assert s.namespace_path("network") == "/proc/1/ns/net"
    assert s.namespace_path("pid") is None
    assert s.namespace_path("uts") is None


@pytest.mark.parametrize("process", [{"args": []}, {"args": None}, {}, None])
def test_empty_args_are_refused(process: Any) -> None:
    d = runc_spec()
    d["process"] = process
    with pytest.raises(InvalidArgument, match="process.args is empty"):
        Spec.from_dict(d)


def test_mount_without_destination_is_refused() -> None:
    d = runc_spec()
    d["mounts"].append({"type": "tmpfs", "source": "tmpfs"})
    with pytest.raises(InvalidArgument, match="mount without a destination"):
        Spec.from_dict(d)


def test_malformed_fields_raise_invalid_argument_not_keyerror() -> None:
    d = runc_spec()
    d["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 1}]
    with pytest.raises(InvalidArgument, match="malformed"):
        Spec.from_dict(d)
    d = runc_spec()
    d["process"]["user"]["uid"] = "root"
    with pytest.raises(InvalidArgument, match="malformed"):
        Spec.from_dict(d)


def test_overlay_annotation_property() -> None:
    ov = {"lowerdir": ["init", "l2", "l1"], "upperdir": "up", "workdir": "work", "base": "/var/lib/tuidock"}
    s = Spec(process=Process(args=("sh",)), annotations={ocispec.ANN_OVERLAY: json.dumps(ov)})
    assert s.overlay == ov
    assert Spec(process=Process(args=("sh",))).overlay is None


def test_with_process_changes_only_the_process() -> None:
    s = Spec.from_dict(runc_spec())
    t = s.with_process(args=("echo", "hi"), terminal=False)
    assert t.process.args == ("echo", "hi") and t.process.terminal is False
    assert t.process.env == s.process.env and t.mounts == s.mounts
    assert s.process.args == ("sh",)


def test_defaults_are_dockers() -> None:
    s = Spec(process=Process(args=("sh",)))
    assert s.process.env == (ocispec.DEFAULT_PATH,)
    assert s.process.capabilities.bounding == capabilities.DEFAULT
    assert [n.type for n in s.namespaces] == ["pid", "network", "ipc", "uts", "mount", "cgroup"]
    assert Mount("/proc", "proc", "proc", ("nosuid", "noexec", "nodev")) in s.mounts
    assert "/proc/kcore" in s.masked_paths and "/proc/sys" in s.readonly_paths


def test_load_reports_missing_and_invalid_files(tmp_path: Any) -> None:
    with pytest.raises(InvalidArgument, match="no config.json"):
        ocispec.load(str(tmp_path / "config.json"))
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(InvalidArgument, match="invalid JSON"):
        ocispec.load(str(tmp_path / "config.json"))
    (tmp_path / "config.json").write_text(json.dumps(runc_spec()))
    assert ocispec.load(str(tmp_path / "config.json")).hostname == "runc"


def test_unknown_nested_keys_survive_a_round_trip() -> None:
    d = runc_spec()
    d["process"]["apparmorProfile"] = "docker-default"
    d["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": []}
    out = Spec.from_dict(d).to_dict()
    assert out["process"].get("apparmorProfile") == "docker-default"
    assert out["linux"].get("seccomp") == d["linux"]["seccomp"]
