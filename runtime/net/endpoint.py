"""A container on a network: lease an address, plumb the veth pair, publish ports; and undo it all.

:func:`connect` runs in the container's create worker after PID 1 exists and
before it executes (the address is leased and the ports published under the
network's lock; the links are made outside it). :func:`disconnect` runs when
the container has exited, and again, harmlessly, when it is removed.
:func:`reconcile` reclaims leases whose PID 1 died without either (a killed
monitor, a reboot): every connect runs it first, and so do ``rm``,
``network prune`` and ``system prune``.

The veth pair dies with the container's network namespace, so a normal exit
usually finds no link left to delete; the host end is deleted explicitly
when it is still there (something holds the dead container's namespace
open), at disconnect and for a stale lease.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from collections.abc import Callable

from .. import procfs
from ..engine.model import PortBinding
from ..errors import NotFound, RuntimeFailure
from . import bridge, ipam, nft, rtnl
from .store import Endpoint, Lease, Leases, Network, NetworkStore

# Renders a container's /etc/hosts from its own lease and its peers'.
HostsRenderer = Callable[[Lease, list[Lease]], str]


def port_elements(lease: Lease) -> list[tuple[str, str, str]]:
    return [nft.element(p.host_ip, p.protocol, p.host_port, lease.ip, p.container_port) for p in lease.ports]


def connect(store: NetworkStore, net: Network, root: str, *, cid: str, pid: int, name: str, hostname: str,
            hosts_file: str, bindings: tuple[PortBinding, ...], preferred_ip: str | None = None,
            hosts: HostsRenderer | None = None, peer_names: bool = False) -> Endpoint:
    """Put the container whose PID 1 is ``pid`` on ``net``; undone completely if any step fails."""
    veth = "veth" + secrets.token_hex(5)  # 14 characters: IFNAMSIZ is 16 with the NUL
    with store.net_lock(net):
        if not store.exists(net):
            raise NotFound(f"network {net.name} not found")
        index = bridge.ensure(net, root)
        leases = reconcile(store, net)
        if cid in leases.leases:  # left by this container's previous run: it is not running any more
            _drop(leases.leases[cid], net)
            leases = leases.without(cid)
        ip = ipam.choose(ipaddress.IPv4Network(net.subnet), ipaddress.IPv4Address(net.gateway),
                         [lease.ip for lease in leases.leases.values()], leases.last, preferred_ip)
        lease = Lease(cid, str(ip), ipam.mac_for(ip), veth, pid, procfs.start_time(pid), name, hostname,
                      hosts_file, bindings)
        elements = port_elements(lease)
        if elements:
            nft.run(nft.add_elements_script(net.bridge, elements))
        try:
            store.write_leases(net, leases.with_lease(lease))
        except BaseException:
            nft.delete_elements(net.bridge, elements)
            raise
    try:
        _plumb(lease, net, index, bridge.veth_alias(root, cid))
        if hosts is not None and peer_names:
            _write_hosts(store, net, hosts)
        elif hosts is not None:
            rewrite_in_place(hosts_file, hosts(lease, []))
    except BaseException:
        try:
            _drop_link(lease)
        except RuntimeFailure:
            pass  # the first error is the one to report
        disconnect(store, net, cid)
        raise
    return Endpoint(net.name, net.id, lease.ip, net.prefixlen, net.gateway, lease.mac, veth, bindings)


def _plumb(lease: Lease, net: Network, bridge_index: int, alias: str) -> None:
    """The veth pair, the container's eth0 with its address and default route: two netlink batches."""
    with rtnl.Rtnl() as rt:
        rt.request((f"create veth {lease.veth} for pid {lease.pid}",
                    rtnl.new_veth(lease.veth, bridge_index, "eth0", lease.pid, lease.mac)),
                   (f"set alias of {lease.veth}", rtnl.set_alias(lease.veth, alias)))
    with rtnl.Rtnl(lease.pid, lookup=("eth0",)) as inside:
        eth0 = inside.indexes.get("eth0")
        if eth0 is None:
            raise NotFound(f"eth0 in the network namespace of pid {lease.pid}: not found after creating it")
        inside.request(("set eth0 up", rtnl.link_up(eth0)),
                       (f"add address {lease.ip}/{net.prefixlen} to eth0", rtnl.new_addr(eth0, lease.ip, net.prefixlen)),
                       (f"add default route via {net.gateway}", rtnl.new_default_route(net.gateway)))


def disconnect(store: NetworkStore, net: Network, cid: str, pid: int | None = None,
               hosts: HostsRenderer | None = None, peer_names: bool = False) -> bool:
    """Release the container's lease and published ports; True if it held one.

    With ``pid``, only a lease of that PID 1 is released (a later start's lease is left alone).
    """
    with store.net_lock(net):
        if not store.exists(net):
            return False
        leases = store.leases(net)
        lease = leases.leases.get(cid)
        if lease is None or (pid is not None and lease.pid != pid):
            return False
        nft.delete_elements(net.bridge, port_elements(lease))
        store.write_leases(net, leases.without(cid))
    if not lease.alive():
        _drop_link(lease)
    if hosts is not None and peer_names:
        _write_hosts(store, net, hosts)
    return True


def reconcile(store: NetworkStore, net: Network) -> Leases:
    """Drop the leases whose PID 1 is gone, with their ports and links; the live ones (caller holds the lock)."""
    leases = store.leases(net)
    stale = [lease for lease in leases.leases.values() if not lease.alive()]
    if not stale:
        return leases
    for lease in stale:
        _drop(lease, net)
        leases = leases.without(lease.container)
    store.write_leases(net, leases)
    return leases


def _drop(lease: Lease, net: Network | None = None) -> None:
    if net is not None:
        nft.delete_elements(net.bridge, port_elements(lease))
    _drop_link(lease)


def _drop_link(lease: Lease) -> None:
    """Delete a dead container's host end of the pair, if it is still there.

    The pair normally goes with the namespace, but a namespace lives on while
    anything holds it (an open ``/proc/<pid>/ns/net``, a bind mount, a process
    that joined it), and then its veth would stay on the bridge. Deleting
    either end deletes both.
    """
    if rtnl.index_of(lease.veth) is not None:
        with rtnl.Rtnl() as rt:
            rtnl.delete_link(rt, lease.veth)


def _write_hosts(store: NetworkStore, net: Network, hosts: HostsRenderer) -> None:
    """Rewrite /etc/hosts of every container on the network: each names itself and its peers."""
    with store.net_lock(net):
        live = [lease for lease in store.leases(net).leases.values() if lease.alive()]
        for lease in live:
            peers = [p for p in live if p.container != lease.container]
            if lease.hosts_file:
                rewrite_in_place(lease.hosts_file, hosts(lease, peers))


def rewrite_in_place(path: str, text: str) -> None:
    """Replace a file's content keeping its inode: it is bind-mounted into a container, where a rename would not show.

    The new bytes go in first and the file is cut to length after, so a
    reader never finds it empty.
    """
    data = text.encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return  # the container is being removed
    try:
        os.pwrite(fd, data, 0)
        os.ftruncate(fd, len(data))
    finally:
        os.close(fd)
