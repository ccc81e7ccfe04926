"""``-p`` parsing, the PORTS text, reserving host ports, and the nftables script for published ports."""

from __future__ import annotations

import socket

import pytest

from runtime.engine.model import PortBinding
from runtime.errors import Conflict, InvalidArgument
from runtime.net import nft, ports


@pytest.mark.parametrize("spec, want", [
    ("80", PortBinding(80)),
    ("8080:80", PortBinding(80, "tcp", "", 8080)),
    ("8080:80/udp", PortBinding(80, "udp", "", 8080)),
    ("127.0.0.1:8080:80", PortBinding(80, "tcp", "127.0.0.1", 8080)),
    ("127.0.0.1::80/tcp", PortBinding(80, "tcp", "127.0.0.1", 0)),
    ("0.0.0.0:8080:80", PortBinding(80, "tcp", "", 8080)),
    (":8080:80", PortBinding(80, "tcp", "", 8080)),
])
def test_docker_publish_forms(spec, want):
    assert ports.parse(spec) == want


@pytest.mark.parametrize("spec, message", [
    ("80/sctp", "protocol 'sctp' is not supported"),
    ("8000-8010:80-90", "port ranges are not supported"),
    ("[::1]:8080:80", "IPv6 host addresses are not supported"),
    ("::1:8080:80", "IPv6 host addresses are not supported"),
    ("70000:80", "invalid host port"),
    ("8080:0", "invalid container port"),
    ("http", "invalid container port"),
    ("999.1.1.1:80:80", "invalid host address"),
])
def test_bad_publish_specs_name_the_spec(spec, message):
    with pytest.raises(InvalidArgument, match=message) as e:
        ports.parse(spec)
    assert str(e.value).startswith(f"port {spec}:")


def test_describe_is_dockers_ports_column():
    assert ports.describe(PortBinding(80, "tcp", "", 8080)) == "0.0.0.0:8080->80/tcp"
    assert ports.describe(PortBinding(53, "udp", "127.0.0.1", 5353)) == "127.0.0.1:5353->53/udp"


def test_too_many_published_ports_are_refused():
    with pytest.raises(InvalidArgument, match="at most"):
        ports.parse_all([str(p) for p in range(1, ports.MAX_PUBLISHED + 2)])


def test_a_port_in_use_is_a_conflict_and_nothing_stays_bound():
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    busy = holder.getsockname()[1]
    try:
        free = ports.reserve((PortBinding(1, "tcp", "127.0.0.1", 0),))
        first = free[0].binding.host_port
        ports.release(free)
        with pytest.raises(Conflict, match=f"port 127.0.0.1:{busy}/tcp: already in use on this host"):
            ports.reserve((PortBinding(1, "tcp", "127.0.0.1", first), PortBinding(2, "tcp", "127.0.0.1", busy)))
        # The first binding was given back when the second failed.
        again = ports.reserve((PortBinding(1, "tcp", "127.0.0.1", first),))
        ports.release(again)
    finally:
        holder.close()


def test_a_random_host_port_is_really_bound():
    got = ports.reserve((PortBinding(80, "udp", "127.0.0.1", 0),))
    try:
        p = got[0].binding.host_port
        assert p > 0 and got[0].sock.getsockname() == ("127.0.0.1", p)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        with pytest.raises(OSError):
            s.bind(("127.0.0.1", p))
        s.close()
    finally:
        ports.release(got)


def test_a_host_address_not_on_this_host_is_refused():
    with pytest.raises(InvalidArgument, match="192.0.2.123 is not an address of this host"):
        ports.reserve((PortBinding(80, "tcp", "192.0.2.123", 0),))


def test_published_ports_are_map_elements_keyed_by_address_only_when_bound_to_one():
    assert nft.element("", "tcp", 8080, "10.77.0.2", 80) == ("ports_any", "tcp . 8080", "10.77.0.2 . 80")
    assert nft.element("127.0.0.1", "udp", 53, "10.77.0.2", 53) == ("ports", "127.0.0.1 . udp . 53", "10.77.0.2 . 53")
    script = nft.add_elements_script("tdx0", [nft.element("", "tcp", 8080, "10.77.0.2", 80)])
    assert script == "add element ip tuidock_tdx0 ports_any { tcp . 8080 : 10.77.0.2 . 80 }\n"


def test_the_table_script_is_idempotent_and_names_only_its_own_table():
    s = nft.setup_script("tdx0", "10.77.0.0/16")
    lines = s.splitlines()
    assert all(" ip tuidock_tdx0 " in ln + " " for ln in lines)
    # Chains are flushed and refilled in the same transaction; maps are only added (elements survive).
    assert not any(ln.startswith(("flush map", "delete")) for ln in lines)
    for chain in ("prerouting", "output", "postrouting", "guard"):
        assert f"flush chain ip tuidock_tdx0 {chain}" in lines
    assert 'add rule ip tuidock_tdx0 postrouting ip saddr 10.77.0.0/16 oifname != "tdx0" masquerade' in lines
    assert 'add rule ip tuidock_tdx0 guard iifname "tdx0" ip daddr 127.0.0.0/8 drop' in lines


def test_nft_errors_are_one_line_naming_the_command():
    err = ("Error: Could not process rule: File exists\n"
           "add element ip tuidock_x ports_any { tcp . 1 : 1.2.3.4 . 5 }\n"
           "                                     ^^^^^^^\n")
    assert nft._first_error(err) == ("could not process rule: File exists "
                                     "(in: add element ip tuidock_x ports_any { tcp . 1 : 1.2.3.4 . 5 })")
