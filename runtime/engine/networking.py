"""The engine's side of networking: networks for the CLI and the TUI, and a container's network at start, exit and removal.

The kernel work lives in :mod:`runtime.net`; here are the engine's rules
around it, as docker has them:

- ``bridge`` is the predefined default network. Its bridge and subnet come
  from ``TUIDOCK_BRIDGE`` and ``TUIDOCK_SUBNET`` (defaults ``tuidock0``,
  ``10.77.0.0/16``) when it is first used, and are recorded in the state
  root; asking for other values later re-creates it while no container uses
  it. ``host`` and ``none`` are predefined too and have no kernel objects.
- ``network create`` adds a network with its own bridge (``tdbr`` and the
  start of its id) and subnet (``--subnet``, or the first free /24 of
  10.78.0.0/16). Containers on such a network find each other by name: each
  one's /etc/hosts lists its peers, rewritten as they come and go. The
  default network, as docker's, gives no names.
- Bridges and rules are made by the first container that needs them and
  taken down by ``network rm`` / ``network prune`` (which also takes the idle
  default network's bridge down; the next start brings it back).

A container's network runs in three places: :func:`prestart` in its create
worker (lease, links, ports, /etc/hosts), :func:`poststop` in its monitor
when it exits (in a forked child: the monitor stays small), and
:func:`release` when it is removed (for a container whose monitor was killed
before it could clean up).
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import astuple, dataclass
from typing import TYPE_CHECKING, Any

from .. import fsutil
from ..errors import Conflict, InvalidArgument, NotFound, RuntimeFailure
from ..net import ipam
from ..net.store import PREDEFINED, Endpoint, Lease, Network, NetworkStore, check_network_name, new_id, now_ns
from .model import ContainerInfo, HostConfig, PortBinding

if TYPE_CHECKING:
    from ..net.ports import Reservation
    from .engine import Engine

ENV_BRIDGE = "TUIDOCK_BRIDGE"
ENV_SUBNET = "TUIDOCK_SUBNET"
ENV_KEYS = (ENV_BRIDGE, ENV_SUBNET)
DEFAULT_BRIDGE = "tuidock0"
DEFAULT_SUBNET = "10.77.0.0/16"
USER_POOL = "10.78.0.0/16"
USER_PREFIXLEN = 24
USER_BRIDGE_PREFIX = "tdbr"
ENDPOINT_FILE = "network.json"
# Bridge names become part of nftables table names (tuidock_<bridge>), whose unquoted
# identifiers take no '-'; IFNAMSIZ allows 15 characters.
BRIDGE_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9_.]{0,14}$")


def check_bridge_name(name: str) -> str:
    if not BRIDGE_RE.fullmatch(name):
        raise InvalidArgument(f"bridge name {name!r}: 1 to 15 letters, digits, '_' or '.', starting with a letter")
    return name


SYSFS_NET = "/sys/class/net"


@dataclass(frozen=True)
class NetworkMember:
    """A running container on a network, as ``network inspect`` and the TUI's networks screen list it."""

    container: str  # full id
    name: str
    ip: str = ""  # empty on host and none
    mac: str = ""
    veth: str = ""  # the host end of its veth pair (eth0 inside)
    ports: tuple[PortBinding, ...] = ()


@dataclass(frozen=True)
class NetworkInfo:
    """A network and what is on it now (``Engine.network_infos``)."""

    network: Network
    up: bool  # its bridge exists in the kernel (made by the first container; never for host and none)
    members: tuple[NetworkMember, ...] = ()


def pseudo_id(root: str, name: str) -> str:
    """A stable id for the ``host`` and ``none`` networks, which have no record."""
    return hashlib.sha256(f"tuidock {root} {name}".encode()).hexdigest()


class Networks:
    """The networks of one state root (``Engine.networks``)."""

    def __init__(self, root: str, env: Mapping[str, str] | None = None) -> None:
        self.root = root
        self.env = dict(os.environ if env is None else env)
        self.store = NetworkStore(root)

    # ---- finding ----------------------------------------------------------------------

    def default(self) -> Network:
        """The ``bridge`` network, recorded on first use, re-created if the environment asks for another bridge or subnet."""
        want_bridge, want_subnet = self.env.get(ENV_BRIDGE), self.env.get(ENV_SUBNET)
        cur = self.store.default()
        if cur is not None and self._matches(cur, want_bridge, want_subnet):
            return cur
        from ..net import bridge as bridge_

        with self.store.lock():
            cur = self.store.default()
            if cur is not None and self._matches(cur, want_bridge, want_subnet):
                return cur
            name = check_bridge_name(want_bridge or (cur.bridge if cur else DEFAULT_BRIDGE))
            subnet = ipam.parse_subnet(want_subnet or (cur.subnet if cur else DEFAULT_SUBNET), ENV_SUBNET)
            others = [n for n in self.store.list() if not n.default]
            self._check_unique(name, subnet, others)
            if cur is not None:
                with self.store.net_lock(cur):
                    live = self._live(cur)
                    if live:
                        raise Conflict(f"network bridge: uses {cur.bridge} and {cur.subnet}, and {len(live)} running "
                                       f"containers are on it; stop them before switching to {name} and {subnet}")
                    bridge_.teardown(cur, self.root)
                    self.store.delete(cur)
            net = Network(new_id(), "bridge", name, str(subnet), str(ipam.default_gateway(subnet)), now_ns(),
                          default=True)
            self.store.save(net)
            return net

    @staticmethod
    def _matches(net: Network, bridge: str | None, subnet: str | None) -> bool:
        if bridge and bridge != net.bridge:
            return False
        if subnet:
            try:
                return str(ipaddress.IPv4Network(subnet.strip(), strict=False)) == net.subnet
            except ValueError:
                return False
        return True

    def _check_unique(self, bridge: str, subnet: ipaddress.IPv4Network, others: list[Network]) -> None:
        for n in others:
            if n.bridge == bridge:
                raise Conflict(f"bridge {bridge}: already used by network {n.name}")
        clash = ipam.overlapping(subnet, [(ipaddress.IPv4Network(n.subnet), f"network {n.name} ({n.subnet})")
                                          for n in others])
        if clash:
            raise Conflict(f"subnet {subnet}: overlaps {clash[0]}")

    def resolve(self, mode: str) -> Network | None:
        """The network a container's ``--network`` names (None for host and none)."""
        if mode in ("host", "none"):
            return None
        if mode in ("bridge", "default"):
            return self.default()
        net = self.store.find(mode)
        if net is None:
            raise NotFound(f"network {mode} not found")
        return net

    def get(self, ref: str) -> Network:
        if ref == "bridge":
            return self.default()
        return self.store.get(ref)

    def all(self) -> list[Network]:
        """Every network, the predefined ``host`` and ``none`` included (as records without kernel objects)."""
        self.default()
        nets = self.store.list()
        nets += [Network(pseudo_id(self.root, n), n, "", "", "", 0, "host" if n == "host" else "null")
                 for n in ("host", "none")]
        return sorted(nets, key=lambda n: n.name)

    def infos(self, running: Iterable[ContainerInfo] = ()) -> list[NetworkInfo]:
        """Every network with the containers on it now; ``running`` are the running containers (names, host, none).

        Reads records, leases and sysfs only: no lock, no netlink, no pyroute2
        import, so the TUI can call it on every refresh.
        """
        running = list(running)
        return [self.info(net, running) for net in self.all()]

    def info(self, net: Network, running: Iterable[ContainerInfo] = ()) -> NetworkInfo:
        """One network with the containers on it now (see :meth:`infos`)."""
        if net.driver == "bridge":
            names = {i.id: i.name for i in running}  # a lease keeps the name the container had when it joined
            members = [NetworkMember(le.container, names.get(le.container, le.name), le.ip, le.mac, le.veth, le.ports)
                       for le in self.attached(net)]
            up = os.path.isdir(os.path.join(SYSFS_NET, net.bridge))
        else:
            members = [NetworkMember(i.id, i.name) for i in running if i.record.host.network == net.name]
            up = False
        return NetworkInfo(net, up, tuple(sorted(members, key=lambda m: m.name)))

    def attached(self, net: Network) -> list[Lease]:
        """The containers on the network now (their live leases)."""
        return [lease for lease in self.store.leases(net).leases.values() if lease.alive()]

    def _live(self, net: Network) -> list[Lease]:
        from ..net import endpoint

        return list(endpoint.reconcile(self.store, net).leases.values())

    # ---- changing -----------------------------------------------------------------------

    def create(self, name: str, subnet: str | None = None, gateway: str | None = None,
               labels: Mapping[str, str] | None = None, driver: str = "bridge") -> Network:
        """``network create``: the record only; the bridge comes with the first container."""
        from ..net import bridge as bridge_

        check_network_name(name)
        if driver != "bridge":
            raise InvalidArgument(f"network {name}: driver {driver!r} is not supported (only bridge)")
        if name in PREDEFINED:
            raise Conflict(f"network {name}: is a pre-defined network and cannot be created")
        with self.store.lock():
            existing = self.store.list()
            if any(n.name == name for n in existing):
                raise Conflict(f"network with name {name} already exists")
            ours = {n.bridge for n in existing}
            used = [(ipaddress.IPv4Network(n.subnet), f"network {n.name} ({n.subnet})") for n in existing]
            used += [(net, what) for net, what in bridge_.host_routes() if what.rsplit(" ", 1)[1] not in ours]
            if subnet:
                sub = ipam.parse_subnet(subnet)
            else:
                sub = ipam.free_subnet(ipaddress.IPv4Network(USER_POOL), USER_PREFIXLEN, [u for u, _ in used])
            clash = ipam.overlapping(sub, used)
            if clash:
                raise Conflict(f"network {name}: subnet {sub} overlaps {clash[0]}")
            gw = ipam.check_gateway(sub, gateway) if gateway else ipam.default_gateway(sub)
            nid = new_id()
            net = Network(nid, name, USER_BRIDGE_PREFIX + nid[:11], str(sub), str(gw), now_ns(),
                          labels=dict(labels or {}))
            self.store.save(net)
        return net

    def remove(self, ref: str) -> Network:
        """``network rm``: refused for the predefined networks and while containers are on it."""
        from ..net import bridge as bridge_

        if ref in PREDEFINED:
            raise Conflict(f"network {ref}: is a pre-defined network and cannot be removed")
        net = self.store.get(ref)
        if net.default:
            raise Conflict(f"network {net.name}: is a pre-defined network and cannot be removed")
        with self.store.lock(), self.store.net_lock(net):
            live = self._live(net)
            if live:
                names = ", ".join(sorted(lease.name or lease.container[:12] for lease in live))
                raise Conflict(f"network {net.name}: in use by running containers ({names})")
            bridge_.teardown(net, self.root)
            self.store.delete(net)
        return net

    def prune(self) -> list[Network]:
        """``network prune``: remove every user network no running container is on.

        The default network's bridge and rules are taken down too when
        nothing uses them (its record stays; the next start brings them
        back), and links this state root left behind in a crash go.
        """
        from ..net import bridge as bridge_

        removed = []
        for net in self.store.list():
            if net.default:
                with self.store.lock(), self.store.net_lock(net):
                    if not self._live(net):
                        bridge_.teardown(net, self.root)
                continue
            try:
                removed.append(self.remove(net.id))
            except (Conflict, NotFound):
                continue
        self.sweep()
        return removed

    def reconcile(self) -> None:
        """Reclaim every stale lease (after a crash), with its ports and links."""
        for net in self.store.list():
            with self.store.net_lock(net):
                self._live(net)

    def sweep(self) -> list[str]:
        """Delete links this state root made that nothing accounts for any more; their names."""
        from ..net import bridge as bridge_
        from ..net import nft, rtnl

        self.reconcile()
        nets = self.store.list()
        bridges = {n.bridge for n in nets if bridge_.up(n)}
        held = {lease.veth for n in nets for lease in self.store.leases(n).leases.values()}
        owner = bridge_.owner_alias(self.root)
        gone = []
        with rtnl.Rtnl() as rt:
            for link in rt.links():
                orphan_bridge = link.kind == "bridge" and link.alias == owner and link.name not in bridges
                orphan_veth = link.kind == "veth" and link.alias.startswith(owner + " ") and link.name not in held
                if orphan_bridge:
                    nft.delete_table(link.name)
                if (orphan_bridge or orphan_veth) and rtnl.delete_link(rt, link.name):
                    gone.append(link.name)
        return gone

    # ---- inspect ------------------------------------------------------------------------

    @staticmethod
    def inspect(info: NetworkInfo) -> dict[str, Any]:
        """docker's ``network inspect`` JSON."""
        from .inspect import rfc3339

        net = info.network
        containers = {m.container: {"Name": m.name,
                                    "EndpointID": endpoint_id(net.id, m.container, m.veth) if m.veth else "",
                                    "MacAddress": m.mac, "IPv4Address": f"{m.ip}/{net.prefixlen}" if m.ip else "",
                                    "IPv6Address": ""} for m in info.members}
        return {
            "Name": net.name,
            "Id": net.id,
            "Created": rfc3339(net.created_ns),
            "Scope": "local",
            "Driver": net.driver,
            "EnableIPv6": False,
            "IPAM": {"Driver": "default", "Options": {},
                     "Config": [{"Subnet": net.subnet, "Gateway": net.gateway}] if net.subnet else []},
            "Internal": False,
            "Attachable": False,
            "Ingress": False,
            "ConfigFrom": {"Network": ""},
            "ConfigOnly": False,
            "Containers": containers,
            "Options": ({"com.docker.network.bridge.name": net.bridge,
                         "com.docker.network.bridge.enable_ip_masquerade": "true",
                         "org.tuidock.network.nftables_table": f"ip tuidock_{net.bridge}"} if net.bridge else {}),
            "Labels": dict(net.labels),
        }


def endpoint_id(network_id: str, cid: str, veth: str) -> str:
    """docker's EndpointID: ours is derived from the network, the container and its veth."""
    return hashlib.sha256(f"{network_id} {cid} {veth}".encode()).hexdigest()


# ---- checks at create time ---------------------------------------------------------------


def check_host(host: HostConfig, root: str) -> None:
    """``run``/``create``: the network must exist, and ports need a bridge network."""
    mode = host.network
    if mode.startswith("container:"):
        raise InvalidArgument(f"network {mode}: joining another container's network is not supported")
    if mode not in ("host", "none", "bridge", "default"):
        store = NetworkStore(root)
        if store.find(mode) is None:
            raise NotFound(f"network {mode} not found")


# ---- a container's network -------------------------------------------------------------------

_pending: list[Reservation] = []


def reserve_early(host: HostConfig) -> None:
    """Bind the published host ports before the container is made, so a port in use leaves nothing behind.

    Called by the create worker for ``run``; :func:`prestart`, in the same
    worker, takes the sockets over.
    """
    global _pending
    if host.ports and host.network not in ("host", "none"):
        from ..net import ports

        _pending = ports.reserve(host.ports)


def endpoint_of(state_dir: str) -> Endpoint | None:
    """What the container got at its last start (None: it never joined a bridge network)."""
    try:
        return Endpoint.from_json(fsutil.read_json(os.path.join(state_dir, ENDPOINT_FILE)))
    except (FileNotFoundError, ValueError, KeyError):
        return None


def _hosts(lease: Lease, peers: list[Lease]) -> str:
    from .specgen import HOSTS_BASE

    def names(le: Lease) -> str:
        return " ".join(dict.fromkeys(n for n in (le.hostname, le.name) if n))

    return HOSTS_BASE + f"{lease.ip}\t{names(lease)}\n" + "".join(
        f"{p.ip}\t{names(p)}\n" for p in sorted(peers, key=lambda p: p.name))


def prestart(engine: Engine, request: dict[str, Any], pid: int) -> list[int]:
    """In the create worker, PID 1 made and waiting: join its network; the port-holding descriptors for the monitor.

    The kernel work (rtnetlink through pyroute2, nftables) is done by the
    network server (:func:`serve_net`): the fork server that monitors come
    from never imports it, so no monitor maps its ~15 MB.
    """
    global _pending
    from ..net import ports

    reservations, _pending = _pending, []
    cid = request["id"]
    rec = engine.record(cid)
    if rec.host.network in ("host", "none"):
        ports.release(reservations)
        return []
    try:
        if not reservations and rec.host.ports:
            reservations = ports.reserve(rec.host.ports)
        _net_call(engine, request, "connect", pid=pid, bindings=[astuple(r.binding) for r in reservations])
    except BaseException:
        ports.release(reservations)
        raise
    # The monitor holds these for the container's life (runtime.net.ports).
    return [r.sock.detach() for r in reservations]


def _connect(engine: Engine, request: dict[str, Any], pid: int, bindings: list[PortBinding]) -> None:
    from ..net import endpoint

    cid = request["id"]
    rec = engine.record(cid)
    nets = Networks(engine.root, request.get("network_env") or {})
    net = nets.resolve(rec.host.network)
    if net is None:
        return
    paths = engine.paths(cid)
    prev = endpoint_of(paths.dir)
    ep = endpoint.connect(nets.store, net, engine.root, cid=cid, pid=pid, name=rec.name,
                          hostname=rec.config.hostname, hosts_file=paths.hosts, bindings=tuple(bindings),
                          preferred_ip=prev.ip if prev and prev.network_id == net.id else None,
                          hosts=_hosts, peer_names=not net.default)
    fsutil.write_json(os.path.join(paths.dir, ENDPOINT_FILE), ep.to_json(), sync=False)


def _disconnect(root: str, cid: str, state_dir: str) -> bool:
    ep = endpoint_of(state_dir)
    if ep is None:
        return False
    store = NetworkStore(root)
    net = store.find(ep.network_id)
    if net is None or cid not in store.leases(net).leases:
        return False  # released already (at its exit): nothing for the kernel, and no pyroute2 to import
    from ..net import endpoint

    return endpoint.disconnect(store, net, cid, hosts=_hosts, peer_names=not net.default)


def poststop(engine: Engine, request: dict[str, Any]) -> None:
    """In the monitor, PID 1 gone: release the lease and the ports (done by the network server)."""
    state_dir = engine.paths(request["id"]).dir
    if not os.path.exists(os.path.join(state_dir, ENDPOINT_FILE)):
        return
    _net_call(engine, request, "disconnect")


def _net_call(engine: Engine, request: dict[str, Any], call: str, **args: Any) -> None:
    """Have the network server do ``call`` for this container, and wait; its error is raised here."""
    from .. import control, launch

    keep = ("id", "root", "cgroup_parent", "network_env")
    conn = control.Connection(launch.connect_server(engine.run_dir, launch.NET_SERVER))
    try:
        conn.call("net", call=call, request={k: request.get(k) for k in keep}, **args)
    finally:
        conn.close()


def serve_net(request: dict[str, Any]) -> dict[str, Any]:
    """In a child of the network server: one :func:`_net_call`."""
    from .engine import Engine

    req = request["request"]
    engine = Engine(req["root"], req.get("cgroup_parent"))
    if request["call"] == "connect":
        _connect(engine, req, int(request["pid"]), [PortBinding(*b) for b in request["bindings"]])
    elif request["call"] == "disconnect":
        _disconnect(engine.root, req["id"], engine.paths(req["id"]).dir)
    else:
        raise InvalidArgument(f"network server: unknown call {request['call']!r}")
    return {"ok": True}


def release(engine: Engine, cid: str) -> None:
    """When a container is removed: release what its monitor could not (it was killed, the host rebooted)."""
    _disconnect(engine.root, cid, engine.paths(cid).dir)


# ---- what inspect, ps and port show --------------------------------------------------------


def endpoint(info: ContainerInfo, state_dir: str) -> Endpoint | None:
    """The container's place on its bridge network while it is up (None when stopped, or on host or none)."""
    if not info.status.is_up() or info.record.host.network in ("host", "none"):
        return None
    return endpoint_of(state_dir)


def published(info: ContainerInfo, state_dir: str) -> tuple[PortBinding, ...]:
    """The ports published now, with the host ports really bound (empty unless running)."""
    ep = endpoint(info, state_dir)
    return ep.ports if ep else ()


def settings(info: ContainerInfo, state_dir: str) -> dict[str, Any]:
    """docker's ``NetworkSettings`` for a container."""
    mode = info.record.host.network
    up = info.status.is_up()
    ep = endpoint(info, state_dir)
    ports: dict[str, Any] = {p: None for p in info.record.config.exposed_ports}
    for p in ep.ports if ep else ():
        key = f"{p.container_port}/{p.protocol}"
        ports[key] = (ports.get(key) or []) + [{"HostIp": p.host_ip or "0.0.0.0", "HostPort": str(p.host_port)}]
    name = ep.network if ep else ("bridge" if mode == "default" else mode)
    net_entry = {
        "IPAMConfig": None, "Links": None, "Aliases": None,
        "NetworkID": ep.network_id if ep else "",
        "EndpointID": endpoint_id(ep.network_id, info.id, ep.veth) if ep else "",
        "Gateway": ep.gateway if ep else "",
        "IPAddress": ep.ip if ep else "",
        "IPPrefixLen": ep.prefixlen if ep else 0,
        "IPv6Gateway": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0,
        "MacAddress": ep.mac if ep else "",
    }
    return {
        "Bridge": "",
        "SandboxID": "",
        "SandboxKey": f"/proc/{info.pid}/ns/net" if up and mode != "host" and info.pid else "",
        "Ports": ports,
        "HairpinMode": False,
        "LinkLocalIPv6Address": "",
        "LinkLocalIPv6PrefixLen": 0,
        "EndpointID": net_entry["EndpointID"],
        "Gateway": net_entry["Gateway"],
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "IPAddress": net_entry["IPAddress"],
        "IPPrefixLen": net_entry["IPPrefixLen"],
        "IPv6Gateway": "",
        "MacAddress": net_entry["MacAddress"],
        "Networks": {name: net_entry},
    }
