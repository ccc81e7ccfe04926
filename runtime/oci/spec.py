"""The OCI runtime-spec ``config.json``: typed, parsed, generated with docker's defaults.

Only the parts tuidock executes are typed; everything else in a bundle's
config.json is kept in ``extra`` and written back untouched, so a bundle made
by ``runc spec`` round-trips. tuidock's own extensions travel as annotations
(the spec's extension point), all under ``org.tuidock.``:

    org.tuidock.rootfs.overlay   {"lowerdir": [...], "upperdir": ..., "workdir": ...}
    org.tuidock.process.user     "name[:group]" resolved in the container's /etc/passwd
    org.tuidock.cwd.create       "true": create the working directory if missing
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from ..capabilities import DEFAULT as DEFAULT_CAPS
from ..errors import InvalidArgument

OCI_VERSION = "1.0.2"
ANN_OVERLAY = "org.tuidock.rootfs.overlay"
ANN_USER = "org.tuidock.process.user"
ANN_CWD_CREATE = "org.tuidock.cwd.create"

DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# Docker's and Podman's defaults (moby oci/defaults.go).
MASKED_PATHS = (
    "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
    "/sys/firmware", "/sys/devices/virtual/powercap",
)
READONLY_PATHS = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")
NAMESPACES = ("pid", "network", "ipc", "uts", "mount", "cgroup")


@dataclass(frozen=True)
class Mount:
    destination: str
    type: str = "bind"
    source: str = ""
    options: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Mount:
        if not d.get("destination"):
            raise InvalidArgument("config.json: mount without a destination")
        return cls(d["destination"], d.get("type", "bind") or "bind", d.get("source", ""), tuple(d.get("options") or ()))

    def to_dict(self) -> dict[str, Any]:
        return {"destination": self.destination, "type": self.type, "source": self.source, "options": list(self.options)}


DEFAULT_MOUNTS = (
    Mount("/proc", "proc", "proc", ("nosuid", "noexec", "nodev")),
    Mount("/dev", "tmpfs", "tmpfs", ("nosuid", "strictatime", "mode=755", "size=65536k")),
    Mount("/dev/pts", "devpts", "devpts", ("nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5")),
    Mount("/dev/shm", "tmpfs", "shm", ("nosuid", "noexec", "nodev", "mode=1777", "size=65536k")),
    Mount("/dev/mqueue", "mqueue", "mqueue", ("nosuid", "noexec", "nodev")),
    Mount("/sys", "sysfs", "sysfs", ("nosuid", "noexec", "nodev", "ro")),
    Mount("/sys/fs/cgroup", "cgroup", "cgroup", ("nosuid", "noexec", "nodev", "relatime", "ro")),
)


@dataclass(frozen=True)
class Capabilities:
    bounding: tuple[str, ...] = DEFAULT_CAPS
    effective: tuple[str, ...] = DEFAULT_CAPS
    permitted: tuple[str, ...] = DEFAULT_CAPS
    inheritable: tuple[str, ...] = ()
    ambient: tuple[str, ...] = ()

    @classmethod
    def of(cls, caps: tuple[str, ...] | list[str]) -> Capabilities:
        t = tuple(caps)
        return cls(t, t, t, (), ())


@dataclass(frozen=True)
class Rlimit:
    type: str
    hard: int
    soft: int


@dataclass(frozen=True)
class Process:
    args: tuple[str, ...]
    env: tuple[str, ...] = (DEFAULT_PATH,)
    cwd: str = "/"
    uid: int = 0
    gid: int = 0
    additional_gids: tuple[int, ...] = ()
    umask: int | None = None
    terminal: bool = False
    console_size: tuple[int, int] | None = None  # (height, width)
    capabilities: Capabilities = field(default_factory=Capabilities)
    rlimits: tuple[Rlimit, ...] = ()
    no_new_privileges: bool = False
    oom_score_adj: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # unknown keys of "process", kept


@dataclass(frozen=True)
class Namespace:
    type: str
    path: str = ""


@dataclass(frozen=True)
class Device:
    path: str
    type: str  # c, b, u, p
    major: int
    minor: int
    file_mode: int = 0o666
    uid: int = 0
    gid: int = 0


@dataclass(frozen=True)
class Spec:
    """A parsed bundle config.json."""

    process: Process
    root_path: str = "rootfs"
    root_readonly: bool = False
    hostname: str = ""
    domainname: str = ""
    mounts: tuple[Mount, ...] = DEFAULT_MOUNTS
    namespaces: tuple[Namespace, ...] = tuple(Namespace(t) for t in NAMESPACES)
    masked_paths: tuple[str, ...] = MASKED_PATHS
    readonly_paths: tuple[str, ...] = READONLY_PATHS
    devices: tuple[Device, ...] = ()
    cgroups_path: str = ""
    resources: dict[str, Any] = field(default_factory=dict)
    sysctl: dict[str, str] = field(default_factory=dict)
    rootfs_propagation: str = ""
    annotations: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # unknown top-level keys, kept
    linux_extra: dict[str, Any] = field(default_factory=dict)  # unknown keys of "linux" (seccomp, ...), kept
    root_extra: dict[str, Any] = field(default_factory=dict)

    def has_namespace(self, ns_type: str) -> bool:
        return any(n.type == ns_type and not n.path for n in self.namespaces)

    def namespace_path(self, ns_type: str) -> str | None:
        for n in self.namespaces:
            if n.type == ns_type:
                return n.path or None
        return None

    @property
    def overlay(self) -> dict[str, Any] | None:
        raw = self.annotations.get(ANN_OVERLAY)
        return json.loads(raw) if raw else None

    def with_process(self, **changes: Any) -> Spec:
        return replace(self, process=replace(self.process, **changes))

    # ---- serialisation ---------------------------------------------------

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Spec:
        try:
            return _spec_from_dict(d)
        except (KeyError, TypeError, ValueError) as e:
            raise InvalidArgument(f"config.json: malformed: {e}") from None

    def to_dict(self) -> dict[str, Any]:
        p = self.process
        proc: dict[str, Any] = {
            **p.extra,
            "terminal": p.terminal,
            "user": {"uid": p.uid, "gid": p.gid},
            "args": list(p.args),
            "env": list(p.env),
            "cwd": p.cwd,
            "capabilities": {
                "bounding": list(p.capabilities.bounding),
                "effective": list(p.capabilities.effective),
                "inheritable": list(p.capabilities.inheritable),
                "permitted": list(p.capabilities.permitted),
                "ambient": list(p.capabilities.ambient),
            },
            "noNewPrivileges": p.no_new_privileges,
        }
        if p.additional_gids:
            proc["user"]["additionalGids"] = list(p.additional_gids)
        if p.umask is not None:
            proc["user"]["umask"] = p.umask
        if p.console_size:
            proc["consoleSize"] = {"height": p.console_size[0], "width": p.console_size[1]}
        if p.rlimits:
            proc["rlimits"] = [{"type": r.type, "hard": r.hard, "soft": r.soft} for r in p.rlimits]
        if p.oom_score_adj is not None:
            proc["oomScoreAdj"] = p.oom_score_adj
        linux: dict[str, Any] = {
            **self.linux_extra,
            "namespaces": [{"type": n.type, **({"path": n.path} if n.path else {})} for n in self.namespaces],
            "maskedPaths": list(self.masked_paths),
            "readonlyPaths": list(self.readonly_paths),
        }
        if self.cgroups_path:
            linux["cgroupsPath"] = self.cgroups_path
        if self.resources:
            linux["resources"] = self.resources
        if self.devices:
            linux["devices"] = [
                {"path": dv.path, "type": dv.type, "major": dv.major, "minor": dv.minor,
                 "fileMode": dv.file_mode, "uid": dv.uid, "gid": dv.gid}
                for dv in self.devices
            ]
        if self.sysctl:
            linux["sysctl"] = self.sysctl
        if self.rootfs_propagation:
            linux["rootfsPropagation"] = self.rootfs_propagation
        out: dict[str, Any] = dict(self.extra)
        out.update({
            "ociVersion": OCI_VERSION,
            "process": proc,
            "root": {**self.root_extra, "path": self.root_path, "readonly": self.root_readonly},
            "hostname": self.hostname,
            "mounts": [m.to_dict() for m in self.mounts],
            "linux": linux,
        })
        if self.domainname:
            out["domainname"] = self.domainname
        if self.annotations:
            out["annotations"] = self.annotations
        return out


_KNOWN = {"ociVersion", "process", "root", "hostname", "domainname", "mounts", "linux", "annotations"}
_KNOWN_PROCESS = {"terminal", "user", "args", "env", "cwd", "capabilities", "consoleSize", "rlimits",
                  "noNewPrivileges", "oomScoreAdj"}
_KNOWN_LINUX = {"namespaces", "maskedPaths", "readonlyPaths", "cgroupsPath", "resources", "devices", "sysctl",
                "rootfsPropagation"}


def _spec_from_dict(d: dict[str, Any]) -> Spec:
    p = d.get("process") or {}
    if not p.get("args"):
        raise InvalidArgument("config.json: process.args is empty")
    user = p.get("user") or {}
    caps = p.get("capabilities") or {}
    cs = p.get("consoleSize")
    process = Process(
        args=tuple(p["args"]),
        env=tuple(p.get("env") or ()),
        cwd=p.get("cwd") or "/",
        uid=int(user.get("uid", 0)),
        gid=int(user.get("gid", 0)),
        additional_gids=tuple(int(g) for g in user.get("additionalGids") or ()),
        umask=user.get("umask"),
        terminal=bool(p.get("terminal", False)),
        console_size=(int(cs["height"]), int(cs["width"])) if cs else None,
        capabilities=Capabilities(
            bounding=tuple(caps.get("bounding") or ()),
            effective=tuple(caps.get("effective") or ()),
            permitted=tuple(caps.get("permitted") or ()),
            inheritable=tuple(caps.get("inheritable") or ()),
            ambient=tuple(caps.get("ambient") or ()),
        ),
        rlimits=tuple(Rlimit(r["type"], int(r["hard"]), int(r["soft"])) for r in p.get("rlimits") or ()),
        no_new_privileges=bool(p.get("noNewPrivileges", False)),
        oom_score_adj=p.get("oomScoreAdj"),
        extra={k: v for k, v in p.items() if k not in _KNOWN_PROCESS},
    )
    root = d.get("root") or {}
    linux = d.get("linux") or {}
    return Spec(
        process=process,
        root_path=root.get("path", "rootfs"),
        root_readonly=bool(root.get("readonly", False)),
        hostname=d.get("hostname", ""),
        domainname=d.get("domainname", ""),
        mounts=tuple(Mount.from_dict(m) for m in d.get("mounts") or ()),
        namespaces=tuple(Namespace(n["type"], n.get("path", "")) for n in linux.get("namespaces") or ()),
        masked_paths=tuple(linux.get("maskedPaths") or ()),
        readonly_paths=tuple(linux.get("readonlyPaths") or ()),
        devices=tuple(
            Device(dv["path"], dv["type"], int(dv.get("major", 0)), int(dv.get("minor", 0)),
                   int(dv.get("fileMode", 0o666)), int(dv.get("uid", 0)), int(dv.get("gid", 0)))
            for dv in linux.get("devices") or ()
        ),
        cgroups_path=linux.get("cgroupsPath", ""),
        resources=linux.get("resources") or {},
        sysctl=linux.get("sysctl") or {},
        rootfs_propagation=linux.get("rootfsPropagation", ""),
        annotations=dict(d.get("annotations") or {}),
        extra={k: v for k, v in d.items() if k not in _KNOWN},
        linux_extra={k: v for k, v in linux.items() if k not in _KNOWN_LINUX},
        root_extra={k: v for k, v in root.items() if k not in ("path", "readonly")},
    )


def load(path: str) -> Spec:
    """Read and parse a bundle's config.json."""
    try:
        with open(path, "rb") as f:
            raw = json.loads(f.read())
    except FileNotFoundError:
        raise InvalidArgument(f"bundle {path}: no config.json") from None
    except json.JSONDecodeError as e:
        raise InvalidArgument(f"{path}: invalid JSON: {e}") from None
    return Spec.from_dict(raw)
