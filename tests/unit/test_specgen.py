"""From image + ``run`` options to a container config and its OCI bundle spec, by docker's rules."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from runtime import capabilities
from runtime.cgroups import Layout
from runtime.cgroups.resources import DEFAULT_DEVICE_RULES, Resources
from runtime.engine.model import Config, ContainerRecord, HostConfig, RunOptions
from runtime.engine.specgen import ContainerPaths, bundle_spec, container_config, hosts_file, merge_env
from runtime.errors import InvalidArgument
from runtime.images.store import Image, ImageConfig, Layer
from runtime.oci import spec as ocispec
from runtime.oci.spec import Mount, Spec
from runtime.rootfs import plan

CID = "3f2a9c1b7d0e" + "5" * 52
ROOT = "/var/lib/tuidock"
L0, L1, L2 = ("sha256:" + c * 64 for c in "abc")  # bottom to top


def image(**cfg: object) -> Image:
    return Image(
        id="sha256:" + "9" * 64,
        manifest_digest="sha256:" + "8" * 64,
        repo_tags=("docker.io/library/nginx:latest",),
        created="2026-11-01T00:00:00Z",
        config=ImageConfig(**cfg),  # type: ignore[arg-type]
        layers=tuple(Layer("sha256:" + "7" * 64, d, 100, "application/vnd.oci.image.layer.v1.tar+gzip")
                     for d in (L0, L1, L2)),
        history=(),
        architecture="amd64",
        os="linux",
    )


NGINX = image(env=("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "NGINX_VERSION=1.27.0"),
              entrypoint=("/docker-entrypoint.sh",), cmd=("nginx", "-g", "daemon off;"), working_dir="",
              labels={"maintainer": "NGINX", "tier": "image"}, exposed_ports=("80/tcp",), stop_signal="SIGQUIT")
BUSYBOX = image(env=("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",), cmd=("sh",))


def config(opts: RunOptions, img: Image = NGINX, host_env: dict[str, str] | None = None) -> Config:
    return container_config(opts, img, CID, host_env or {})


# ---- merge_env -------------------------------------------------------------------


def test_merge_env_overrides_by_key_in_place() -> None:
    out = merge_env(("PATH=/bin", "A=1", "B=2"), ("A=override", "C=3"), {})
    assert out == ("PATH=/bin", "A=override", "B=2", "C=3")


def test_merge_env_bare_key_takes_the_callers_value_or_is_dropped() -> None:
    out = merge_env(("A=image",), ("HOME", "MISSING", "A"), {"HOME": "/root", "A": "caller"})
    assert out == ("A=caller", "HOME=/root")


def test_merge_env_keeps_empty_values_and_equals_signs() -> None:
    assert merge_env((), ("EMPTY=", "URL=a=b=c"), {}) == ("EMPTY=", "URL=a=b=c")


def test_merge_env_rejects_an_empty_key() -> None:
    with pytest.raises(InvalidArgument, match="=oops"):
        merge_env((), ("=oops",), {})


# ---- container_config ------------------------------------------------------------


def test_image_defaults() -> None:
    cfg = config(RunOptions(image="nginx"))
    assert cfg.entrypoint == ("/docker-entrypoint.sh",)
    assert cfg.cmd == ("nginx", "-g", "daemon off;")
    assert cfg.stop_signal == "SIGQUIT"
    assert cfg.exposed_ports == ("80/tcp",)
    assert cfg.image == "nginx"


def test_command_replaces_cmd_and_keeps_entrypoint() -> None:
    cfg = config(RunOptions(image="nginx", command=("nginx", "-T")))
    assert (cfg.entrypoint, cfg.cmd) == (("/docker-entrypoint.sh",), ("nginx", "-T"))


def test_entrypoint_replaces_entrypoint_and_drops_image_cmd() -> None:
    cfg = config(RunOptions(image="nginx", entrypoint=("/bin/sh",)))
    assert (cfg.entrypoint, cfg.cmd) == (("/bin/sh",), ())
    cfg = config(RunOptions(image="nginx", entrypoint=("/bin/sh",), command=("-c", "id")))
    assert (cfg.entrypoint, cfg.cmd) == (("/bin/sh",), ("-c", "id"))


def test_empty_entrypoint_resets_it() -> None:
    cfg = config(RunOptions(image="nginx", entrypoint=(), command=("ls", "/")))
    assert (cfg.entrypoint, cfg.cmd) == ((), ("ls", "/"))


def test_no_command_at_all_is_an_error() -> None:
    with pytest.raises(InvalidArgument, match="image scratchy: no command specified"):
        config(RunOptions(image="scratchy"), image())
    with pytest.raises(InvalidArgument, match="no command specified"):
        config(RunOptions(image="busybox", entrypoint=()), image())


@pytest.mark.parametrize("opt_wd, image_wd", [("app", ""), (None, "relative/dir")])
def test_relative_workdir_is_rejected(opt_wd: str | None, image_wd: str) -> None:
    with pytest.raises(InvalidArgument, match="needs to be an absolute path"):
        config(RunOptions(image="busybox", workdir=opt_wd), image(cmd=("sh",), working_dir=image_wd))


def test_workdir_from_option_or_image() -> None:
    img = image(cmd=("sh",), working_dir="/srv")
    assert config(RunOptions(image="b"), img).working_dir == "/srv"
    assert config(RunOptions(image="b", workdir="/tmp"), img).working_dir == "/tmp"
    assert config(RunOptions(image="b"), BUSYBOX).working_dir == ""


def test_hostname_defaults_to_the_short_id() -> None:
    assert config(RunOptions(image="nginx")).hostname == CID[:12]
    assert config(RunOptions(image="nginx", hostname="web")).hostname == "web"


def test_labels_are_merged_with_the_options_winning() -> None:
    cfg = config(RunOptions(image="nginx", labels={"tier": "run", "extra": "1"}))
    assert cfg.labels == {"maintainer": "NGINX", "tier": "run", "extra": "1"}


def test_path_is_added_when_the_image_has_none() -> None:
    cfg = config(RunOptions(image="x", env=("A=1",)), image(cmd=("sh",), env=("HOME=/root",)))
    assert cfg.env == (ocispec.DEFAULT_PATH, "HOME=/root", "A=1")
    cfg = config(RunOptions(image="x"), image(cmd=("sh",), env=("PATH=/opt/bin",)))
    assert cfg.env == ("PATH=/opt/bin",)


def test_env_merge_with_the_callers_environment() -> None:
    cfg = config(RunOptions(image="nginx", env=("NGINX_VERSION=0", "TOKEN")), host_env={"TOKEN": "s3cret"})
    assert "NGINX_VERSION=0" in cfg.env and "TOKEN=s3cret" in cfg.env
    assert not any(e.startswith("NGINX_VERSION=1") for e in cfg.env)


def test_user_tty_stdin_and_stop_signal() -> None:
    cfg = config(RunOptions(image="nginx", user="nobody", tty=True, interactive=True, stop_signal="SIGTERM"))
    assert (cfg.user, cfg.tty, cfg.open_stdin, cfg.stop_signal) == ("nobody", True, True, "SIGTERM")
    assert config(RunOptions(image="b"), image(cmd=("sh",), user="1000")).user == "1000"
    assert config(RunOptions(image="b"), BUSYBOX).stop_signal == "SIGTERM"


# ---- bundle_spec -----------------------------------------------------------------


def record(cfg: Config | None = None, host: HostConfig | None = None) -> ContainerRecord:
    return ContainerRecord(CID, "web", 1, NGINX.id, NGINX.diff_ids,
                           cfg or config(RunOptions(image="nginx")), host or HostConfig())


PATHS = ContainerPaths(ROOT, CID)


def bundle(cfg: Config | None = None, host: HostConfig | None = None, **kw: object) -> Spec:
    return bundle_spec(record(cfg, host), PATHS, "/tuidock", **kw)  # type: ignore[arg-type]


def test_cgroups_path_is_parent_slash_id() -> None:
    assert bundle().cgroups_path == f"/tuidock/{CID}"


def test_process_args_env_and_cwd() -> None:
    s = bundle(config(RunOptions(image="nginx", workdir="/srv")))
    assert s.process.args == ("/docker-entrypoint.sh", "nginx", "-g", "daemon off;")
    assert s.process.cwd == "/srv"
    assert s.process.env[0].startswith("PATH=")
    assert s.process.env[1] == f"HOSTNAME={CID[:12]}"
    assert bundle().process.cwd == "/"
    assert s.hostname == CID[:12]


def test_hostname_env_is_not_duplicated() -> None:
    s = bundle(config(RunOptions(image="nginx", env=("HOSTNAME=mine",))))
    assert [e for e in s.process.env if e.startswith("HOSTNAME=")] == ["HOSTNAME=mine"]


def test_term_only_with_a_tty() -> None:
    assert "TERM=xterm" not in bundle().process.env
    s = bundle(config(RunOptions(image="nginx", tty=True)))
    assert "TERM=xterm" in s.process.env and s.process.terminal
    s = bundle(config(RunOptions(image="nginx", tty=True, env=("TERM=vt100",))))
    assert [e for e in s.process.env if e.startswith("TERM=")] == ["TERM=vt100"]


def test_network_namespace() -> None:
    assert bundle().has_namespace("network")
    host_net = bundle(host=HostConfig(network="host"))
    assert all(n.type != "network" for n in host_net.namespaces)
    assert {n.type for n in host_net.namespaces} == {"pid", "ipc", "uts", "mount", "cgroup"}
    joined = bundle(netns_path="/run/netns/tuidock-3f2a")
    assert joined.namespace_path("network") == "/run/netns/tuidock-3f2a"


def test_overlay_annotation_layer_order() -> None:
    ov = bundle().overlay
    assert ov == {
        "lowerdir": [f"containers/{CID}/init", f"layers/{'c' * 64}/diff", f"layers/{'b' * 64}/diff",
                     f"layers/{'a' * 64}/diff"],
        "upperdir": f"containers/{CID}/upper",
        "workdir": f"containers/{CID}/work",
        "base": ROOT,
    }
    assert bundle().root_path == PATHS.merged


def test_overlay_and_binds_reach_the_rootfs_plan(tmp_path: Path) -> None:
    paths = ContainerPaths(str(tmp_path), CID)
    os.makedirs(paths.dir)
    for f in (paths.hosts, paths.hostname, paths.resolv):
        open(f, "w").close()
    p = plan(bundle_spec(record(), paths, "/tuidock"), "/unused", Layout(2, unified="/sys/fs/cgroup"))
    assert p.overlay is not None
    assert p.overlay.base == str(tmp_path)
    assert p.overlay.lowerdir == (f"containers/{CID}/init", f"layers/{'c' * 64}/diff", f"layers/{'b' * 64}/diff",
                                  f"layers/{'a' * 64}/diff")
    assert p.rootfs == paths.merged
    binds = {op.target: op for op in p.mounts if op.source in (paths.hosts, paths.hostname, paths.resolv)}
    assert set(binds) == {"/etc/hosts", "/etc/hostname", "/etc/resolv.conf"}
    assert all(op.kind == "file" for op in binds.values())


def test_etc_files_are_bind_mounted_from_the_container_dir() -> None:
    mounts = {m.destination: m for m in bundle().mounts}
    for dest, src in (("/etc/hosts", PATHS.hosts), ("/etc/hostname", PATHS.hostname),
                      ("/etc/resolv.conf", PATHS.resolv)):
        assert mounts[dest] == Mount(dest, "bind", src, ("rbind", "rprivate"))
    assert PATHS.hosts == f"{ROOT}/containers/{CID}/hosts"


def test_mounts_have_parents_before_children() -> None:
    extra = (Mount("/data/sub", "bind", "/srv/sub", ("rbind",)), Mount("/data", "bind", "/srv", ("rbind",)))
    dests = [m.destination for m in bundle(extra_mounts=extra).mounts]
    for i, d in enumerate(dests):
        for parent in dests[i + 1:]:
            assert not d.startswith(parent.rstrip("/") + "/"), f"{d} comes before its parent {parent}"
    assert set(dests) >= {m.destination for m in ocispec.DEFAULT_MOUNTS} | {"/data", "/data/sub"}


@pytest.mark.parametrize("user, uid, gid", [("1000:100", 1000, 100), ("0", 0, 0), ("nobody", 0, 0),
                                            ("1000:staff", 0, 0)])
def test_user_annotation_and_numeric_ids(user: str, uid: int, gid: int) -> None:
    s = bundle(config(RunOptions(image="nginx", user=user)))
    assert s.annotations[ocispec.ANN_USER] == user  # resolved in the container's /etc/passwd at start
    assert (s.process.uid, s.process.gid) == (uid, gid)


def test_no_user_no_annotation() -> None:
    s = bundle()
    assert ocispec.ANN_USER not in s.annotations
    assert (s.process.uid, s.process.gid) == (0, 0)
    assert s.annotations[ocispec.ANN_CWD_CREATE] == "true"
    assert s.annotations["org.tuidock.container.name"] == "web"


def test_capabilities_resources_and_read_only_root() -> None:
    host = HostConfig(cap_add=("CAP_NET_ADMIN",), cap_drop=("CAP_CHOWN",), read_only=True,
                      resources=Resources(memory=1 << 26, pids_limit=10))
    s = bundle(host=host)
    caps = s.process.capabilities
    assert "CAP_NET_ADMIN" in caps.bounding and "CAP_CHOWN" not in caps.bounding
    assert caps.bounding == caps.effective == caps.permitted == tuple(
        capabilities.resolve(("CAP_NET_ADMIN",), ("CAP_CHOWN",)))
    assert caps.inheritable == () and caps.ambient == ()
    assert s.root_readonly
    assert s.resources["memory"] == {"limit": 1 << 26}
    assert s.resources["pids"] == {"limit": 10}
    assert s.resources["devices"][0] == {"allow": False, "type": "a", "access": "rwm"}
    assert len(s.resources["devices"]) == len(DEFAULT_DEVICE_RULES)


def test_bundle_spec_survives_config_json() -> None:
    s = bundle(config(RunOptions(image="nginx", tty=True, user="1000:100")),
               HostConfig(resources=Resources(cpu_quota=20000, cpu_period=100000)))
    assert Spec.from_dict(json.loads(json.dumps(s.to_dict()))) == s


def test_hosts_file() -> None:
    text = hosts_file("web", "10.88.0.5", (("10.0.0.1", "db"),))
    lines = text.splitlines()
    assert lines[0] == "127.0.0.1\tlocalhost"
    assert lines[-2:] == ["10.88.0.5\tweb", "10.0.0.1\tdb"]
    assert "web" not in hosts_file("web")
