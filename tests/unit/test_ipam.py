"""Address management: the next free address, preferences, wrap-around, exhaustion, and the lease records."""

from __future__ import annotations

import ipaddress
from concurrent.futures import ThreadPoolExecutor

import pytest

from runtime.errors import Conflict, InvalidArgument
from runtime.net import ipam
from runtime.net.store import Lease, Leases, Network, NetworkStore

NET = ipaddress.IPv4Network("10.77.0.0/29")  # hosts .1 to .6
GW = ipaddress.IPv4Address("10.77.0.1")


def test_the_first_address_after_the_gateway():
    assert str(ipam.choose(NET, GW, [])) == "10.77.0.2"


def test_taken_addresses_and_the_gateway_are_skipped():
    assert str(ipam.choose(NET, GW, ["10.77.0.2", "10.77.0.3"])) == "10.77.0.4"


def test_the_search_goes_on_after_the_last_address_handed_out():
    # .2 was just released: it is not handed out again while newer ones are free.
    assert str(ipam.choose(NET, GW, [], last="10.77.0.4")) == "10.77.0.5"


def test_the_search_wraps_around_the_subnet():
    assert str(ipam.choose(NET, GW, ["10.77.0.6"], last="10.77.0.5")) == "10.77.0.2"


def test_a_free_preferred_address_wins():
    assert str(ipam.choose(NET, GW, ["10.77.0.2"], last="10.77.0.2", preferred="10.77.0.5")) == "10.77.0.5"
    assert str(ipam.choose(NET, GW, ["10.77.0.5"], last="10.77.0.2", preferred="10.77.0.5")) == "10.77.0.3"
    assert str(ipam.choose(NET, GW, [], preferred="10.99.0.5")) == "10.77.0.2"  # not in the subnet


def test_network_and_broadcast_addresses_are_never_handed_out():
    got = set()
    taken: list[str] = []
    for _ in range(5):
        a = ipam.choose(NET, GW, taken, taken[-1] if taken else None)
        taken.append(str(a))
        got.add(str(a))
    assert got == {"10.77.0.2", "10.77.0.3", "10.77.0.4", "10.77.0.5", "10.77.0.6"}


def test_a_full_subnet_is_a_conflict_naming_it():
    with pytest.raises(Conflict, match="subnet 10.77.0.0/29: no free address left"):
        ipam.choose(NET, GW, [f"10.77.0.{i}" for i in range(2, 7)])


@pytest.mark.parametrize("text, message", [
    ("10.77.0.1/24", "host bits set"),
    ("10.77.0.0/31", "too small"),
    ("fd00::/64", "only IPv4"),
    ("nonsense", "invalid subnet"),
])
def test_bad_subnets_are_refused(text, message):
    with pytest.raises(InvalidArgument, match=message):
        ipam.parse_subnet(text)


def test_gateways_must_be_host_addresses_of_the_subnet():
    sub = ipaddress.IPv4Network("10.9.0.0/24")
    assert str(ipam.check_gateway(sub, "10.9.0.254")) == "10.9.0.254"
    for bad in ("10.9.1.1", "10.9.0.0", "10.9.0.255"):
        with pytest.raises(InvalidArgument, match="not a host address"):
            ipam.check_gateway(sub, bad)


def test_macs_derive_from_addresses_and_are_locally_administered():
    mac = ipam.mac_for("10.77.1.2")
    assert mac == "02:74:0a:4d:01:02"
    assert int(mac.split(":")[0], 16) & 0b10  # locally administered, unicast


def test_a_free_subnet_skips_the_used_ones():
    pool = ipaddress.IPv4Network("10.78.0.0/16")
    used = [ipaddress.IPv4Network("10.78.0.0/24"), ipaddress.IPv4Network("10.78.1.128/25")]
    assert str(ipam.free_subnet(pool, 24, used)) == "10.78.2.0/24"


def test_routes_are_read_from_proc_net_route_without_the_default_route():
    text = ("Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
            "eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
            "eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
            "cni0\t0000580A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n")
    routes = ipam.routes_from_proc(text)
    assert [(str(n), what) for n, what in routes] == [
        ("192.0.2.0/24", "route 192.0.2.0/24 dev eth0"), ("10.88.0.0/16", "route 10.88.0.0/16 dev cni0")]
    assert ipam.overlapping(ipaddress.IPv4Network("10.88.3.0/24"), routes) == ["route 10.88.0.0/16 dev cni0"]


def test_leases_round_trip_and_parallel_writers_never_share_an_address(tmp_path):
    # The store's lock is what makes parallel starts safe: forty writers, forty addresses.
    store = NetworkStore(str(tmp_path))
    net = Network("a" * 64, "n", "tdx", "10.5.0.0/24", "10.5.0.1")
    store.save(net)

    def take(i: int) -> str:
        with store.net_lock(net):
            leases = store.leases(net)
            ip = ipam.choose(ipaddress.IPv4Network(net.subnet), ipaddress.IPv4Address(net.gateway), [le.ip for le in leases.leases.values()],
                             leases.last)
            store.write_leases(net, leases.with_lease(Lease(f"{i:064x}", str(ip), ipam.mac_for(ip), f"v{i}", 1, None)))
            return str(ip)

    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(take, range(40)))
    assert len(set(got)) == 40
    leases = store.leases(net)
    assert sorted(le.ip for le in leases.leases.values()) == sorted(got)
    assert isinstance(leases, Leases) and leases.without(f"{0:064x}").leases.keys() == set(leases.leases) - {f"{0:064x}"}


def test_random_free_subnet_stays_in_the_pool_and_off_used_ranges() -> None:
    from ipaddress import IPv4Network

    from runtime.net.ipam import random_free_subnet

    pool, used = IPv4Network("10.192.0.0/22"), [IPv4Network("10.192.0.0/23"), IPv4Network("10.192.3.0/24")]
    assert {random_free_subnet(pool, 24, used) for _ in range(20)} == {IPv4Network("10.192.2.0/24")}
    with pytest.raises(Conflict):
        random_free_subnet(pool, 24, [pool], tries=5)
