"""Networks and their leases on disk (the state root's ``network/``), and what each container got from its network.

```
network/
  .lock                 held to create, remove or re-create a network (names and subnets stay unique)
  <id>/network.json     the network (name, bridge, subnet, gateway)
  <id>/lock             held for every change to the leases, and to take the network down
  <id>/leases.json      {"last": address, "leases": {container id: lease}}
```

A lease records the holder's PID 1 and its start time, so a lease whose
container died without cleaning up (its monitor was killed, the host
rebooted) is recognised as stale by the next command that looks, and
reclaimed. Files are written through a temporary file and a rename. A
container's :class:`Endpoint` (what it got at its last start) is kept in its
own directory, ``containers/<id>/network.json``.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, replace
from typing import Any

from .. import fsutil, procfs
from ..engine.model import PortBinding
from ..errors import InvalidArgument, NotFound

NAME_RE_TEXT = r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$"
PREDEFINED = ("bridge", "host", "none")


@dataclass(frozen=True)
class Network:
    """One bridge network: docker's network object, plus the kernel names tuidock uses for it."""

    id: str
    name: str
    bridge: str
    subnet: str
    gateway: str
    created_ns: int = 0
    driver: str = "bridge"
    labels: dict[str, str] = field(default_factory=dict)
    default: bool = False  # the predefined "bridge" network (from TUIDOCK_BRIDGE / TUIDOCK_SUBNET)

    @property
    def short_id(self) -> str:
        return self.id[:12]

    @property
    def prefixlen(self) -> int:
        return int(self.subnet.rsplit("/", 1)[1])

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "bridge": self.bridge, "subnet": self.subnet,
                "gateway": self.gateway, "created_ns": self.created_ns, "driver": self.driver,
                "labels": dict(self.labels), "default": self.default}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Network:
        return cls(d["id"], d["name"], d["bridge"], d["subnet"], d["gateway"], int(d.get("created_ns", 0)),
                   d.get("driver", "bridge"), dict(d.get("labels") or {}), bool(d.get("default")))


@dataclass(frozen=True)
class Lease:
    """A container's place on a network: its address, its veth, its PID 1, its published ports."""

    container: str
    ip: str
    mac: str
    veth: str
    pid: int
    pid_start: int | None
    name: str = ""
    hostname: str = ""
    hosts_file: str = ""  # the container's /etc/hosts on the host, rewritten when peers come and go
    ports: tuple[PortBinding, ...] = ()

    def alive(self, proc: str = procfs.PROC) -> bool:
        return procfs.is_alive(self.pid, self.pid_start, proc)

    def to_json(self) -> dict[str, Any]:
        return {"container": self.container, "ip": self.ip, "mac": self.mac, "veth": self.veth, "pid": self.pid,
                "pid_start": self.pid_start, "name": self.name, "hostname": self.hostname,
                "hosts_file": self.hosts_file,
                "ports": [[p.protocol, p.host_ip, p.host_port, p.container_port] for p in self.ports]}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Lease:
        return cls(d["container"], d["ip"], d["mac"], d["veth"], int(d["pid"]), d.get("pid_start"),
                   d.get("name", ""), d.get("hostname", ""), d.get("hosts_file", ""),
                   tuple(PortBinding(container_port=int(c), protocol=pr, host_ip=ip, host_port=int(hp))
                         for pr, ip, hp, c in d.get("ports") or ()))


@dataclass(frozen=True)
class Endpoint:
    """What a container got from its network at its last start: saved beside it as ``network.json``.

    ``inspect``, ``ps``, ``port`` and the TUI read it (``Engine.endpoint``);
    ``veth`` is the host end of the pair, ``eth0`` inside.
    """

    network: str
    network_id: str
    ip: str
    prefixlen: int
    gateway: str
    mac: str
    veth: str
    ports: tuple[PortBinding, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"network": self.network, "network_id": self.network_id, "ip": self.ip, "prefixlen": self.prefixlen,
                "gateway": self.gateway, "mac": self.mac, "veth": self.veth,
                "ports": [[p.protocol, p.host_ip, p.host_port, p.container_port] for p in self.ports]}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Endpoint:
        return cls(str(d["network"]), str(d["network_id"]), str(d["ip"]), int(d["prefixlen"]),
                   str(d["gateway"]), str(d["mac"]), str(d["veth"]),
                   tuple(PortBinding(container_port=int(c), protocol=pr, host_ip=ip, host_port=int(hp))
                         for pr, ip, hp, c in d.get("ports") or ()))


@dataclass(frozen=True)
class Leases:
    """The content of a network's leases.json."""

    leases: dict[str, Lease] = field(default_factory=dict)  # by container id
    last: str | None = None  # the address handed out last: the next search starts after it

    def with_lease(self, lease: Lease) -> Leases:
        return Leases({**self.leases, lease.container: lease}, lease.ip)

    def without(self, cid: str) -> Leases:
        return replace(self, leases={k: v for k, v in self.leases.items() if k != cid})


def check_network_name(name: str) -> str:
    import re

    if not re.fullmatch(NAME_RE_TEXT, name) or len(name) > 128:
        raise InvalidArgument(f'invalid network name "{name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed')
    return name


class NetworkStore:
    """The records under ``<root>/network``: pure file handling, no kernel objects."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.dir = os.path.join(root, "network")

    def _ensure(self) -> None:
        if not os.path.isdir(self.dir):
            os.makedirs(self.dir, mode=0o700, exist_ok=True)

    def lock(self) -> fsutil.locked:
        self._ensure()
        return fsutil.locked(os.path.join(self.dir, ".lock"))

    def net_dir(self, net: Network | str) -> str:
        return os.path.join(self.dir, net if isinstance(net, str) else net.id)

    def net_lock(self, net: Network) -> fsutil.locked:
        return fsutil.locked(os.path.join(self.net_dir(net), "lock"))

    # ---- networks -------------------------------------------------------------------

    def list(self) -> list[Network]:
        try:
            names = os.listdir(self.dir)
        except FileNotFoundError:
            return []
        out = []
        for n in names:
            if len(n) != 64:
                continue
            try:
                out.append(Network.from_json(fsutil.read_json(os.path.join(self.dir, n, "network.json"))))
            except (FileNotFoundError, ValueError, KeyError):
                continue  # being created or removed right now
        out.sort(key=lambda n: (not n.default, n.created_ns))
        return out

    def default(self) -> Network | None:
        return next((n for n in self.list() if n.default), None)

    def find(self, ref: str) -> Network | None:
        """By name, full id or unique id prefix."""
        nets = self.list()
        for n in nets:
            if n.name == ref or n.id == ref:
                return n
        matches = [n for n in nets if n.id.startswith(ref)] if len(ref) >= 3 else []
        if len(matches) > 1:
            raise InvalidArgument(f"network {ref}: ambiguous id prefix, matches {len(matches)} networks")
        return matches[0] if matches else None

    def get(self, ref: str) -> Network:
        n = self.find(ref)
        if n is None:
            raise NotFound(f"network {ref} not found")
        return n

    def save(self, net: Network) -> None:
        """Write a network's record (the caller holds :meth:`lock`)."""
        self._ensure()
        d = self.net_dir(net)
        os.makedirs(d, mode=0o700, exist_ok=True)
        fsutil.write_json(os.path.join(d, "network.json"), net.to_json())

    def delete(self, net: Network) -> None:
        fsutil.remove_tree(self.net_dir(net))

    def exists(self, net: Network) -> bool:
        return os.path.exists(os.path.join(self.net_dir(net), "network.json"))

    # ---- leases (the caller holds net_lock) -----------------------------------------------

    def leases(self, net: Network) -> Leases:
        d = fsutil.read_json_or(os.path.join(self.net_dir(net), "leases.json"), {})
        return Leases({k: Lease.from_json(v) for k, v in (d.get("leases") or {}).items()}, d.get("last"))

    def write_leases(self, net: Network, leases: Leases) -> None:
        # No fsync: after a crash every lease is stale anyway (its PID 1 is gone).
        fsutil.write_json(os.path.join(self.net_dir(net), "leases.json"),
                          {"last": leases.last, "leases": {k: v.to_json() for k, v in leases.leases.items()}},
                          sync=False)


def new_id() -> str:
    import secrets

    return secrets.token_hex(32)


def now_ns() -> int:
    return time.time_ns()
