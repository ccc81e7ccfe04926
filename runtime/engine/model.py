"""The engine's public types: what a container is configured as, and how it stands.

``Config`` and ``HostConfig`` mirror the objects of the same names in
``docker inspect`` (and serialise with docker's field names, so ``inspect``
and ``--format`` templates read the same); ``ContainerInfo`` is one row of
``ps`` with everything the TUI shows about a container.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field, fields, is_dataclass, replace
from typing import Any

from ..cgroups.resources import Resources
from ..errors import InvalidArgument
from ..state import State, Status

NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")


def check_name(name: str) -> str:
    n = name[1:] if name.startswith("/") else name
    if not NAME_RE.fullmatch(n) or len(n) > 255:
        raise InvalidArgument(f'invalid container name "{name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed')
    return n


@dataclass(frozen=True)
class RestartPolicy:
    name: str = "no"  # no | on-failure | always | unless-stopped
    max_retries: int = 0

    @classmethod
    def parse(cls, value: str) -> RestartPolicy:
        name, _, count = value.partition(":")
        if name not in ("no", "on-failure", "always", "unless-stopped"):
            raise InvalidArgument(f"restart policy {value}: must be no, on-failure[:N], always or unless-stopped")
        if count:
            if name != "on-failure":
                raise InvalidArgument(f"restart policy {value}: only on-failure takes a retry count")
            if not count.isdigit():
                raise InvalidArgument(f"restart policy {value}: the retry count must be a number")
        return cls(name, int(count or 0))

    def should_restart(self, exit_code: int, restarts: int, stopped_by_user: bool) -> bool:
        if stopped_by_user or self.name == "no":
            return False
        if self.name == "on-failure":
            return exit_code != 0 and (self.max_retries == 0 or restarts < self.max_retries)
        return True

    def __str__(self) -> str:
        return f"{self.name}:{self.max_retries}" if self.max_retries else self.name


@dataclass(frozen=True)
class MountSpec:
    """One mount asked for with -v, --mount or --tmpfs."""

    type: str  # bind | volume | tmpfs
    target: str
    source: str = ""  # host path (bind) or volume name (volume); empty for an anonymous volume
    read_only: bool = False
    options: tuple[str, ...] = ()  # tmpfs options (size=..., mode=...) and propagation
    anonymous: bool = False
    # Which flag asked for it: "" for -v and --tmpfs (docker's HostConfig.Binds and
    # .Tmpfs), "mount" for --mount (HostConfig.Mounts), "image" for the image's VOLUME.
    flag: str = ""
    mode: str = ""  # the mode part of -v as given ("ro", "ro,z", "nocopy"), for inspect

    def to_docker(self) -> dict[str, Any]:
        """docker's ``HostConfig.Mounts`` entry (for --mount)."""
        source = "" if self.anonymous else self.source
        out: dict[str, Any] = {"Type": self.type, **({"Source": source} if source else {}), "Target": self.target}
        if self.read_only:
            out["ReadOnly"] = True
        if self.type == "volume":
            labels = {k: v for k, _, v in (o[6:].partition("=") for o in self.options if o.startswith("label="))}
            vo = {**({"NoCopy": True} if "nocopy" in self.options else {}), **({"Labels": labels} if labels else {})}
            if vo:
                out["VolumeOptions"] = vo
        elif self.type == "bind":
            bo = {**{"Propagation": o for o in self.options if o in PROPAGATIONS},
                  **({"NonRecursive": True} if "nonrecursive" in self.options else {})}
            if bo:
                out["BindOptions"] = bo
        elif self.type == "tmpfs":
            to: dict[str, int] = {}
            for o in self.options:
                k, _, v = o.partition("=")
                if k == "size" and v.isdigit():
                    to["SizeBytes"] = int(v)
                elif k == "mode":
                    to["Mode"] = int(v, 8)
            if to:
                out["TmpfsOptions"] = to
        return out


PROPAGATIONS = ("private", "rprivate", "shared", "rshared", "slave", "rslave")


@dataclass(frozen=True)
class PortBinding:
    container_port: int
    protocol: str = "tcp"
    host_ip: str = ""
    host_port: int = 0  # 0: pick a free one


@dataclass(frozen=True)
class Config:
    """What runs: docker's ``Config``."""

    image: str
    cmd: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] = ()
    env: tuple[str, ...] = ()
    working_dir: str = ""
    user: str = ""
    hostname: str = ""
    domainname: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    tty: bool = False
    open_stdin: bool = False
    stop_signal: str = "SIGTERM"
    stop_timeout: int | None = None
    exposed_ports: tuple[str, ...] = ()
    volumes: tuple[str, ...] = ()

    def to_docker(self) -> dict[str, Any]:
        return {
            "Hostname": self.hostname,
            "Domainname": self.domainname,
            "User": self.user,
            "AttachStdin": self.open_stdin,
            "AttachStdout": True,
            "AttachStderr": True,
            "ExposedPorts": {p: {} for p in self.exposed_ports} or None,
            "Tty": self.tty,
            "OpenStdin": self.open_stdin,
            "StdinOnce": self.open_stdin,
            "Env": list(self.env),
            "Cmd": list(self.cmd) or None,
            "Image": self.image,
            "Volumes": {v: {} for v in self.volumes} or None,
            "WorkingDir": self.working_dir,
            "Entrypoint": list(self.entrypoint) or None,
            "Labels": dict(self.labels),
            "StopSignal": self.stop_signal,
            **({"StopTimeout": self.stop_timeout} if self.stop_timeout is not None else {}),
        }


@dataclass(frozen=True)
class HostConfig:
    """How it runs: docker's ``HostConfig``."""

    auto_remove: bool = False
    restart: RestartPolicy = field(default_factory=RestartPolicy)
    init: bool = False
    read_only: bool = False
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    resources: Resources = field(default_factory=Resources)
    network: str = "bridge"
    ports: tuple[PortBinding, ...] = ()
    mounts: tuple[MountSpec, ...] = ()
    dns: tuple[str, ...] = ()

    def to_docker(self) -> dict[str, Any]:
        r = self.resources
        port_bindings: dict[str, list[dict[str, str]]] = {}
        for p in self.ports:
            port_bindings.setdefault(f"{p.container_port}/{p.protocol}", []).append(
                {"HostIp": p.host_ip, "HostPort": str(p.host_port) if p.host_port else ""})
        return {
            "Binds": [f"{m.source}:{m.target}{':' + m.mode if m.mode else ':ro' if m.read_only else ''}"
                      for m in self.mounts if m.type in ("bind", "volume") and m.source and not m.anonymous
                      and not m.flag] or None,
            "NetworkMode": self.network,
            "PortBindings": port_bindings,
            "RestartPolicy": {"Name": self.restart.name, "MaximumRetryCount": self.restart.max_retries},
            "AutoRemove": self.auto_remove,
            "CapAdd": list(self.cap_add) or None,
            "CapDrop": list(self.cap_drop) or None,
            "Dns": list(self.dns),
            "Init": self.init,
            "ReadonlyRootfs": self.read_only,
            "Tmpfs": {m.target: ",".join(m.options) for m in self.mounts if m.type == "tmpfs" and not m.flag} or None,
            **({"Mounts": mounts} if (mounts := [m.to_docker() for m in self.mounts if m.flag == "mount"]) else {}),
            "Memory": r.memory or 0,
            "MemoryReservation": r.memory_reservation or 0,
            "MemorySwap": r.memory_swap or 0,
            "NanoCpus": r.nano_cpus or 0,  # --cpus; docker keeps it apart from CpuPeriod/CpuQuota
            "CpuShares": r.cpu_shares or 0,
            "CpuPeriod": r.cpu_period or 0,
            "CpuQuota": r.cpu_quota or 0,
            "CpusetCpus": r.cpuset_cpus or "",
            "CpusetMems": r.cpuset_mems or "",
            "PidsLimit": r.pids_limit,
            "OomKillDisable": bool(r.oom_kill_disable),
        }


class ContainerStatus(enum.Enum):
    """docker's statuses, with the rules for what may happen in each."""

    CREATED = "created"
    RUNNING = "running"
    PAUSED = "paused"
    RESTARTING = "restarting"
    EXITED = "exited"
    DEAD = "dead"

    def can_start(self) -> bool:
        return self in (ContainerStatus.CREATED, ContainerStatus.EXITED)

    def can_stop(self) -> bool:
        return self in (ContainerStatus.RUNNING, ContainerStatus.PAUSED, ContainerStatus.RESTARTING)

    def can_exec(self) -> bool:
        return self is ContainerStatus.RUNNING

    def can_pause(self) -> bool:
        return self is ContainerStatus.RUNNING

    def is_up(self) -> bool:
        return self in (ContainerStatus.RUNNING, ContainerStatus.PAUSED, ContainerStatus.RESTARTING)

    @classmethod
    def of(cls, st: State | None) -> ContainerStatus:
        if st is None:
            return cls.CREATED
        if st.status in (Status.CREATING, Status.CREATED):
            return cls.CREATED if not st.started_ns else cls.RUNNING
        if st.status is Status.RUNNING:
            return cls.RUNNING
        if st.status is Status.PAUSED:
            return cls.PAUSED
        if st.status is Status.RESTARTING:
            return cls.RESTARTING
        return cls.EXITED if st.started_ns else cls.CREATED


@dataclass(frozen=True)
class ContainerRecord:
    """What the engine stores for a container (container.json)."""

    id: str
    name: str
    created_ns: int
    image_id: str
    layers: tuple[str, ...]  # diff ids, bottom first, fixed at create time
    config: Config
    host: HostConfig

    @property
    def short_id(self) -> str:
        return self.id[:12]

    def to_json(self) -> dict[str, Any]:
        return _to_json(self)  # type: ignore[no-any-return]

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ContainerRecord:
        return _from_json(cls, d)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class ContainerInfo:
    """A container as it stands now: its record and its observed state."""

    record: ContainerRecord
    state: State | None
    status: ContainerStatus

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def pid(self) -> int:
        return self.state.pid if self.state and self.status.is_up() else 0


# ---- JSON for nested frozen dataclasses --------------------------------------

_TYPES: dict[str, Any] = {}


def _to_json(obj: Any) -> Any:
    if hasattr(obj, "__dataclass_fields__"):
        return {f.name: _to_json(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, tuple):
        return [_to_json(x) for x in obj]
    if isinstance(obj, dict):
        return {k: _to_json(v) for k, v in obj.items()}
    return obj


_HINTS: dict[type, dict[str, Any]] = {}


def resolve_hints() -> None:
    """Resolve every model class's type hints now: the fork server does, so no create worker has to."""
    import typing

    for obj in list(globals().values()):
        if isinstance(obj, type) and is_dataclass(obj) and obj not in _HINTS:
            _HINTS[obj] = typing.get_type_hints(obj)


def _from_json(cls: Any, d: Any) -> Any:
    hints = _HINTS.get(cls)
    if hints is None:
        import typing

        hints = _HINTS[cls] = typing.get_type_hints(cls)
    kwargs = {}
    for f in fields(cls):
        if f.name not in d:
            continue
        kwargs[f.name] = _convert(hints[f.name], d[f.name])
    return cls(**kwargs)


def _convert(tp: Any, v: Any) -> Any:
    import types
    import typing

    if v is None:
        return None
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            if arg is type(None):
                continue
            return _convert(arg, v)
    if origin is tuple:
        args = typing.get_args(tp)
        return tuple(_convert(args[0], x) for x in v)
    if hasattr(tp, "__dataclass_fields__"):
        return _from_json(tp, v)
    return v


def with_changes(obj: Any, **changes: Any) -> Any:
    return replace(obj, **changes)


@dataclass(frozen=True)
class RunOptions:
    """Everything ``docker run`` / ``create`` takes about the container (not about the terminal)."""

    image: str
    command: tuple[str, ...] = ()
    name: str | None = None
    entrypoint: tuple[str, ...] | None = None  # () resets the image's entrypoint
    env: tuple[str, ...] = ()
    workdir: str | None = None
    hostname: str | None = None
    domainname: str | None = None
    user: str | None = None
    tty: bool = False
    interactive: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    stop_signal: str | None = None
    stop_timeout: int | None = None
    host: HostConfig = field(default_factory=HostConfig)

    def to_json(self) -> dict[str, Any]:
        return _to_json(self)  # type: ignore[no-any-return]

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> RunOptions:
        return _from_json(cls, d)  # type: ignore[no-any-return]
