"""From an image and ``run`` options to a container's configuration and OCI bundle (pure).

The rules are docker's: a command replaces the image's Cmd; ``--entrypoint``
replaces the image's Entrypoint *and* drops its Cmd; ``-e KEY`` without a
value passes the caller's own; the working directory must be absolute. The
bundle's root is an overlay whose lower layers are the image's layers (top
first) under the container's *init layer*, the small layer holding
/etc/hosts, /etc/hostname and /etc/resolv.conf mount points that ``commit``
never sees; the files themselves are bind-mounted from the container's
directory, so writing them never touches the upper layer.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from .. import capabilities
from ..cgroups.resources import DEFAULT_DEVICE_RULES
from ..errors import InvalidArgument
from ..images.store import Image, hex_of
from ..oci import spec as ocispec
from .model import Config, ContainerRecord, RunOptions


class ContainerPaths:
    """Where a container's files live (all inside the state root)."""

    def __init__(self, root: str, cid: str) -> None:
        self.root = root
        self.id = cid
        self.dir = d = os.path.join(root, "containers", cid)
        self.config = os.path.join(d, "config.json")  # the OCI bundle's
        self.record = os.path.join(d, "container.json")  # the engine's
        self.log = os.path.join(d, "ctr.log")
        self.hosts = os.path.join(d, "hosts")
        self.hostname = os.path.join(d, "hostname")
        self.resolv = os.path.join(d, "resolv.conf")
        self.init = os.path.join(d, "init")  # the init layer
        self.upper = os.path.join(d, "upper")  # the writable layer
        self.work = os.path.join(d, "work")  # overlayfs's scratch space
        self.merged = os.path.join(d, "merged")  # where the overlay is mounted, in the container's namespace


INIT_BINARY = "/usr/bin/tini-static"  # Debian's tini, statically linked: what docker ships as docker-init
INIT_PATH = "/sbin/docker-init"

INIT_LAYER_DIRS = ("dev", "dev/pts", "dev/shm", "proc", "sys", "etc")
INIT_LAYER_FILES = ("etc/hosts", "etc/hostname", "etc/resolv.conf", "dev/console")

HOSTS_BASE = """127.0.0.1\tlocalhost
::1\tlocalhost ip6-localhost ip6-loopback
fe00::0\tip6-localnet
ff00::0\tip6-mcastprefix
ff02::1\tip6-allnodes
ff02::2\tip6-allrouters
"""


def merge_env(base: tuple[str, ...], extra: tuple[str, ...], host_env: Mapping[str, str]) -> tuple[str, ...]:
    """Image env, then ``-e`` values by key; ``-e KEY`` alone takes the caller's value if it has one."""
    env: dict[str, str] = {}
    for item in base:
        k, _, v = item.partition("=")
        env[k] = v
    for item in extra:
        k, sep, v = item.partition("=")
        if not k:
            raise InvalidArgument(f"invalid environment variable: {item}")
        if sep:
            env[k] = v
        elif k in host_env:
            env[k] = host_env[k]
    return tuple(f"{k}={v}" for k, v in env.items())


def container_config(opts: RunOptions, image: Image, cid: str, host_env: Mapping[str, str]) -> Config:
    ic = image.config
    if opts.entrypoint is not None:
        entrypoint = opts.entrypoint
        cmd = opts.command
    else:
        entrypoint = ic.entrypoint or ()
        cmd = opts.command or (ic.cmd or ())
    if not entrypoint and not cmd:
        raise InvalidArgument(f"image {opts.image}: no command specified")
    workdir = opts.workdir if opts.workdir is not None else ic.working_dir
    if workdir and not workdir.startswith("/"):
        raise InvalidArgument(f"the working directory '{workdir}' is invalid, it needs to be an absolute path")
    env = merge_env(ic.env, opts.env, host_env)
    if not any(e.startswith("PATH=") for e in env):
        env = (ocispec.DEFAULT_PATH,) + env
    return Config(
        image=opts.image,
        cmd=tuple(cmd),
        entrypoint=tuple(entrypoint),
        env=env,
        working_dir=workdir or "",
        user=opts.user if opts.user is not None else ic.user,
        hostname=opts.hostname or cid[:12],
        domainname=opts.domainname or "",
        labels={**ic.labels, **opts.labels},
        tty=opts.tty,
        open_stdin=opts.interactive,
        stop_signal=opts.stop_signal or ic.stop_signal or "SIGTERM",
        stop_timeout=opts.stop_timeout,
        exposed_ports=ic.exposed_ports,
        volumes=ic.volumes,
    )


def bundle_spec(rec: ContainerRecord, paths: ContainerPaths, cgroup_parent: str,
                extra_mounts: tuple[ocispec.Mount, ...] = (), netns_path: str | None = None) -> ocispec.Spec:
    """The OCI spec a container runs with; regenerated at every start (limits may have changed)."""
    cfg, host = rec.config, rec.host
    caps = capabilities.resolve(host.cap_add, host.cap_drop)
    env = list(cfg.env)
    if not any(e.startswith("HOSTNAME=") for e in env):
        env.insert(1 if env and env[0].startswith("PATH=") else 0, f"HOSTNAME={cfg.hostname}")
    if cfg.tty and not any(e.startswith("TERM=") for e in env):
        env.append("TERM=xterm")
    annotations = {
        ocispec.ANN_OVERLAY: _overlay_json(rec, paths),
        ocispec.ANN_CWD_CREATE: "true",
        "org.tuidock.container.name": rec.name,
    }
    uid = gid = 0
    if cfg.user:
        user, _, group = cfg.user.partition(":")
        if user.isdigit() and (not group or group.isdigit()):
            uid = int(user)
            gid = int(group) if group else 0
        annotations[ocispec.ANN_USER] = cfg.user
    binds = tuple(
        ocispec.Mount(dest, "bind", src, ("rbind", "rprivate"))
        for dest, src in (("/etc/hosts", paths.hosts), ("/etc/hostname", paths.hostname),
                          ("/etc/resolv.conf", paths.resolv))
    )
    args = cfg.entrypoint + cfg.cmd
    if host.init:
        # docker's --init: tini as PID 1, forwarding signals and reaping orphans.
        binds += (ocispec.Mount(INIT_PATH, "bind", INIT_BINARY, ("rbind", "ro", "rprivate")),)
        args = (INIT_PATH, "--") + args
    # A mount asked for replaces the default one at its destination, as in docker
    # (--tmpfs /dev/shm, -v /my/hosts:/etc/hosts).
    asked = {m.destination for m in extra_mounts}
    base = tuple(m for m in ocispec.DEFAULT_MOUNTS + binds if m.destination not in asked)
    mounts = _sorted_mounts(base + extra_mounts)
    namespaces = [ocispec.Namespace(t) for t in ("pid", "ipc", "uts", "mount", "cgroup")]
    if host.network != "host":
        namespaces.append(ocispec.Namespace("network", netns_path or ""))
    resources = host.resources.to_oci()
    resources["devices"] = [r.to_oci() for r in DEFAULT_DEVICE_RULES]
    process = ocispec.Process(
        args=args,
        env=tuple(env),
        cwd=cfg.working_dir or "/",
        uid=uid,
        gid=gid,
        terminal=cfg.tty,
        capabilities=ocispec.Capabilities.of(caps),
    )
    return ocispec.Spec(
        process=process,
        root_path=paths.merged,
        root_readonly=host.read_only,
        hostname=cfg.hostname,
        domainname=cfg.domainname,
        mounts=mounts,
        namespaces=tuple(namespaces),
        cgroups_path=f"{cgroup_parent}/{rec.id}",
        resources=resources,
        annotations=annotations,
    )


def _overlay_json(rec: ContainerRecord, paths: ContainerPaths) -> str:
    import json

    # Paths relative to the state root keep the mount data well under a page
    # even for images with many layers (overlayfs reads them against the cwd).
    lower = [os.path.relpath(paths.init, paths.root)]
    lower += [os.path.join("layers", hex_of(d), "diff") for d in reversed(rec.layers)]
    return json.dumps({
        "lowerdir": lower,
        "upperdir": os.path.relpath(paths.upper, paths.root),
        "workdir": os.path.relpath(paths.work, paths.root),
        "base": paths.root,
    })


def _sorted_mounts(mounts: tuple[ocispec.Mount, ...]) -> tuple[ocispec.Mount, ...]:
    """Parents before children (/dev before /dev/pts), the order given otherwise (docker sorts so too)."""
    return tuple(sorted(mounts, key=lambda m: len([p for p in m.destination.split("/") if p])))


def hosts_file(hostname: str, ip: str | None = None, extra: tuple[tuple[str, str], ...] = ()) -> str:
    text = HOSTS_BASE
    if ip:
        text += f"{ip}\t{hostname}\n"
    for addr, name in extra:
        text += f"{addr}\t{name}\n"
    return text
