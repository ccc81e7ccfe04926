"""A network's kernel objects: its bridge (with the gateway address) and its nftables table.

Both are created on first use, under the network's lock, and checked cheaply
on every start after that (the bridge's index from sysfs, the table's rule
count from one nft listing): a rebooted host, a flushed ruleset or a bridge
someone deleted are put back by the next start. A bridge carries the alias
``tuidock <state root>``, so tuidock never adopts a bridge of the same name
made by someone else, two state roots never share one, and ``ip -d link``
says who made it.
"""

from __future__ import annotations

import hashlib
import ipaddress

from ..errors import Conflict
from . import ipam, nft, rtnl
from .store import Network

SYSFS_NET = "/sys/class/net"
PROC_SYS = "/proc/sys/net/ipv4"
ALIAS_PREFIX = "tuidock "
IFALIASZ = 255


def owner_alias(root: str) -> str:
    """The alias tuidock gives the links it makes for the state root ``root``."""
    alias = ALIAS_PREFIX + root
    if len(alias) > IFALIASZ - 80:  # leave room for a container id in veth aliases
        alias = ALIAS_PREFIX + "sha256:" + hashlib.sha256(root.encode()).hexdigest()[:32]
    return alias


def veth_alias(root: str, cid: str) -> str:
    return f"{owner_alias(root)} {cid}"


def read_alias(name: str, sysfs: str = SYSFS_NET) -> str | None:
    try:
        with open(f"{sysfs}/{name}/ifalias") as f:
            return f.read().strip()
    except (FileNotFoundError, NotADirectoryError):
        return None


def _sysctl(path: str, value: str) -> None:
    with open(path) as f:
        if f.read().strip() == value:
            return
    with open(path, "w") as f:
        f.write(value)


def host_routes(proc_route: str = "/proc/net/route") -> list[tuple[ipaddress.IPv4Network, str]]:
    try:
        with open(proc_route) as f:
            return ipam.routes_from_proc(f.read())
    except FileNotFoundError:
        return []


def ensure(net: Network, root: str) -> int:
    """The bridge's index, creating the bridge and the table as needed (the caller holds the network's lock)."""
    index = rtnl.index_of(net.bridge)
    alias = owner_alias(root)
    created = False
    if index is None:
        subnet = ipaddress.IPv4Network(net.subnet)
        clash = ipam.overlapping(subnet, host_routes())
        if clash:
            raise Conflict(f"network {net.name}: subnet {net.subnet} overlaps the host's {clash[0]} "
                           "(choose another subnet, e.g. with TUIDOCK_SUBNET)")
        with rtnl.Rtnl() as rt:
            rt.request((f"create bridge {net.bridge}", rtnl.new_bridge(net.bridge, ipam.mac_for(net.gateway))),
                       (f"set alias of {net.bridge}", rtnl.set_alias(net.bridge, alias)))
            index = rtnl.index_of(net.bridge)
            if index is None:
                raise Conflict(f"network {net.name}: bridge {net.bridge} vanished while being created")
            rt.request((f"add address {net.gateway}/{net.prefixlen} to {net.bridge}",
                        rtnl.new_addr(index, net.gateway, net.prefixlen)))
        created = True
    elif read_alias(net.bridge) != alias:
        raise Conflict(f"network {net.name}: a link named {net.bridge} exists and is not this tuidock's "
                       f"(its alias is {read_alias(net.bridge)!r}; choose another bridge name, e.g. with TUIDOCK_BRIDGE)")
    if created:
        # Forwarding carries the containers' outbound traffic and connections
        # to published ports from other hosts (docker enables it too);
        # route_localnet lets connections DNAT'ed from 127.0.0.1 leave through
        # the bridge (see runtime.net.nft for the guard that goes with it).
        _sysctl(f"{PROC_SYS}/ip_forward", "1")
        _sysctl(f"{PROC_SYS}/conf/{net.bridge}/route_localnet", "1")
    if created or not nft.intact(net.bridge, net.subnet):
        nft.run(nft.setup_script(net.bridge, net.subnet))
    return index


def teardown(net: Network, root: str) -> None:
    """Delete the network's table and bridge (the caller holds the network's lock and checked it is unused)."""
    nft.delete_table(net.bridge)
    if read_alias(net.bridge) == owner_alias(root):
        with rtnl.Rtnl() as rt:
            rtnl.delete_link(rt, net.bridge)


def up(net: Network) -> bool:
    """Whether the network's bridge exists (it is created by the first container that joins)."""
    return rtnl.index_of(net.bridge) is not None
