"""``--network``, ``-p`` and ``--dns`` into HostConfig; the rtnetlink messages the plumbing sends."""

from __future__ import annotations

import pytest

from runtime.engine import runflags
from runtime.engine.model import HostConfig, PortBinding
from runtime.errors import InvalidArgument
from runtime.net import rtnl


def opts(values: dict[str, object]):  # type: ignore[no-untyped-def]
    return runflags.to_options(values, ["busybox", "true"])


def test_network_publish_and_dns_reach_the_host_config():
    o = opts({"network": "mynet", "publish": ["8080:80", "127.0.0.1::53/udp"], "dns": ["10.0.0.53"]})
    assert o.host.network == "mynet"
    assert o.host.ports == (PortBinding(80, "tcp", "", 8080), PortBinding(53, "udp", "127.0.0.1", 0))
    assert o.host.dns == ("10.0.0.53",)
    pb = o.host.to_docker()["PortBindings"]
    assert pb == {"80/tcp": [{"HostIp": "", "HostPort": "8080"}], "53/udp": [{"HostIp": "127.0.0.1", "HostPort": ""}]}


def test_run_joins_the_default_bridge_network_unless_told_otherwise():
    assert opts({}).host.network == "bridge"
    assert opts({"network": ""}).host.network == "bridge"
    assert HostConfig().network == "bridge"


@pytest.mark.parametrize("network", ["none", "host"])
def test_published_ports_need_a_bridge_network(network):
    with pytest.raises(InvalidArgument, match=f"published ports need a bridge network, not --network {network}"):
        opts({"network": network, "publish": ["80"]})


@pytest.mark.parametrize("network, message", [
    ("container:web", "joining another container's network is not supported"),
    ("bad name!", "invalid network name"),
])
def test_bad_networks_are_refused(network, message):
    with pytest.raises(InvalidArgument, match=message):
        opts({"network": network})


def test_bad_dns_is_refused():
    with pytest.raises(InvalidArgument, match="--dns nameserver: not an IP address"):
        opts({"dns": ["nameserver"]})


def test_the_veth_message_creates_the_peer_in_the_containers_namespace():
    m = rtnl.new_veth("vethabc", 7, "eth0", 4242, "02:74:0a:4d:00:02")
    m.encode()
    back = type(m)(m.data)
    back.decode()
    assert back.get_attr("IFLA_IFNAME") == "vethabc" and back.get_attr("IFLA_MASTER") == 7
    assert back["flags"] & 1 and back["change"] & 1  # IFF_UP on the host end
    info = back.get_attr("IFLA_LINKINFO")
    assert info.get_attr("IFLA_INFO_KIND") == "veth"
    peer = info.get_attr("IFLA_INFO_DATA").get_attr("VETH_INFO_PEER")
    assert (peer.get_attr("IFLA_IFNAME"), peer.get_attr("IFLA_NET_NS_PID"), peer.get_attr("IFLA_ADDRESS")) == (
        "eth0", 4242, "02:74:0a:4d:00:02")


def test_address_and_default_route_messages():
    a = rtnl.new_addr(3, "10.77.0.2", 16)
    a.encode()
    back = type(a)(a.data)
    back.decode()
    assert (back["index"], back["prefixlen"], back.get_attr("IFA_LOCAL")) == (3, 16, "10.77.0.2")
    r = rtnl.new_default_route("10.77.0.1")
    r.encode()
    back = type(r)(r.data)
    back.decode()
    assert back["dst_len"] == 0 and back.get_attr("RTA_GATEWAY") == "10.77.0.1" and back["table"] == 254
