"""Address management as pure functions: subnets, gateways, the next free address, MAC addresses.

The state these functions decide over (which addresses are leased) lives in
the network's lease file and is read and written under its lock by
:mod:`runtime.net.store`; here is only the arithmetic, so it is tested
without root or files.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection, Iterable
from ipaddress import IPv4Address, IPv4Network

from ..errors import Conflict, InvalidArgument

# The smallest subnet worth having: /30 leaves two hosts (the gateway and one container).
MAX_PREFIXLEN = 30


def parse_subnet(text: str, what: str = "subnet") -> IPv4Network:
    """``10.77.0.0/16`` → an IPv4 network; host bits must be zero, as docker insists."""
    try:
        net = ipaddress.ip_network(text.strip(), strict=True)
    except ValueError as e:
        raise InvalidArgument(f"{what} {text}: invalid subnet ({e})") from None
    if not isinstance(net, IPv4Network):
        raise InvalidArgument(f"{what} {text}: only IPv4 subnets are supported")
    if net.prefixlen > MAX_PREFIXLEN:
        raise InvalidArgument(f"{what} {text}: too small (at most /{MAX_PREFIXLEN})")
    return net


def parse_address(text: str, what: str = "address") -> IPv4Address:
    try:
        addr = ipaddress.ip_address(text.strip())
    except ValueError:
        raise InvalidArgument(f"{what} {text}: not an IP address") from None
    if not isinstance(addr, IPv4Address):
        raise InvalidArgument(f"{what} {text}: only IPv4 addresses are supported")
    return addr


def default_gateway(subnet: IPv4Network) -> IPv4Address:
    """The first host address, as docker and podman choose."""
    return subnet.network_address + 1


def check_gateway(subnet: IPv4Network, text: str) -> IPv4Address:
    gw = parse_address(text, "gateway")
    if gw not in subnet or gw in (subnet.network_address, subnet.broadcast_address):
        raise InvalidArgument(f"gateway {gw}: not a host address of subnet {subnet}")
    return gw


def choose(subnet: IPv4Network, gateway: IPv4Address, taken: Collection[str], last: str | None = None,
           preferred: str | None = None) -> IPv4Address:
    """The address for a new lease.

    ``preferred`` (the container's address from its previous start) if it is
    free; otherwise the first free address after ``last``, wrapping around.
    Going round the subnet rather than taking the lowest free address means a
    just-released address is not handed out again at once, while the old
    owner's ARP entries and connections may still be around.
    """
    first = int(subnet.network_address) + 1
    end = int(subnet.broadcast_address)  # exclusive
    used = {int(IPv4Address(a)) for a in taken} | {int(gateway)}
    if preferred:
        p = int(IPv4Address(preferred))
        if first <= p < end and p not in used:
            return IPv4Address(p)
    start = first
    if last:
        n = int(IPv4Address(last)) + 1
        if first <= n < end:
            start = n
    size = end - first
    for i in range(size):
        cand = first + (start - first + i) % size
        if cand not in used:
            return IPv4Address(cand)
    raise Conflict(f"subnet {subnet}: no free address left ({len(used)} in use)")


def mac_for(addr: IPv4Address | str) -> str:
    """A locally administered MAC derived from the address (docker does the same with 02:42).

    A reused address then keeps its MAC, so neighbours' ARP entries stay right.
    """
    b = IPv4Address(addr).packed
    return "02:74:" + ":".join(f"{x:02x}" for x in b)


def overlapping(subnet: IPv4Network, others: Iterable[tuple[IPv4Network, str]]) -> list[str]:
    """The descriptions of the ``(network, what)`` pairs that overlap ``subnet``."""
    return [what for net, what in others if net.overlaps(subnet)]


def free_subnet(pool: IPv4Network, prefixlen: int, used: Iterable[IPv4Network]) -> IPv4Network:
    """The first ``/prefixlen`` of ``pool`` that overlaps nothing in ``used`` (``network create`` without --subnet)."""
    taken = list(used)
    for cand in pool.subnets(new_prefix=prefixlen):
        if not any(cand.overlaps(u) for u in taken):
            return cand
    raise Conflict(f"subnet pool {pool}: every /{prefixlen} is in use (pass --subnet)")


def random_free_subnet(pool: IPv4Network, prefixlen: int, used: Iterable[IPv4Network],
                       tries: int = 200) -> IPv4Network:
    """A free ``/prefixlen`` of ``pool`` picked at random, so sessions started side by side (test runs,
    benchmarks) rarely reach for the same one; ``free_subnet`` is the deterministic choice for users."""
    import random

    taken = list(used)
    count = 2 ** (prefixlen - pool.prefixlen)
    for _ in range(tries):
        cand = IPv4Network((int(pool.network_address) + random.randrange(count) * 2 ** (32 - prefixlen), prefixlen))
        if not any(cand.overlaps(u) for u in taken):
            return cand
    raise Conflict(f"subnet pool {pool}: no free /{prefixlen} found in {tries} tries")


def routes_from_proc(text: str) -> list[tuple[IPv4Network, str]]:
    """The IPv4 routes in /proc/net/route text, as (destination, 'route DST dev IFACE').

    The default route (0.0.0.0/0) is left out: every subnet overlaps it.
    """
    import socket
    import struct

    out = []
    for line in text.splitlines()[1:]:
        f = line.split()
        if len(f) < 8:
            continue
        dev, dst_hex, mask_hex = f[0], f[1], f[7]
        dst = socket.inet_ntoa(struct.pack("<I", int(dst_hex, 16)))
        mask = socket.inet_ntoa(struct.pack("<I", int(mask_hex, 16)))
        net = IPv4Network(f"{dst}/{mask}", strict=False)
        if net.prefixlen == 0:
            continue
        out.append((net, f"route {net} dev {dev}"))
    return out
