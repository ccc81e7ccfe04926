"""The engine's typed view of networks (``Engine.network_infos``, ``Engine.endpoint``) from files, without root."""

from __future__ import annotations

import json
import os

from runtime import procfs
from runtime.engine.model import PortBinding
from runtime.engine.networking import ENDPOINT_FILE, NetworkInfo, NetworkMember, Networks, endpoint_of
from runtime.net.store import Endpoint, Lease

ENV = {"TUIDOCK_BRIDGE": "tdunit0", "TUIDOCK_SUBNET": "10.251.7.0/24"}
WEB = PortBinding(container_port=80, protocol="tcp", host_ip="127.0.0.1", host_port=8080)


def test_infos_list_every_network_with_its_live_members_only(tmp_path):
    nets = Networks(str(tmp_path), ENV)
    bridge = nets.default()
    assert (bridge.name, bridge.bridge, bridge.subnet, bridge.gateway) == ("bridge", "tdunit0", "10.251.7.0/24",
                                                                           "10.251.7.1")
    me = os.getpid()
    live = Lease("a" * 64, "10.251.7.2", "02:74:0a:fb:07:02", "vethaaaa", me, procfs.start_time(me), "web",
                 ports=(WEB,))
    dead = Lease("b" * 64, "10.251.7.3", "02:74:0a:fb:07:03", "vethbbbb", me, -1, "gone")  # pid reused: stale
    with nets.store.net_lock(bridge):
        nets.store.write_leases(bridge, nets.store.leases(bridge).with_lease(live).with_lease(dead))

    infos = {i.network.name: i for i in nets.infos()}
    assert sorted(infos) == ["bridge", "host", "none"]
    assert infos["bridge"] == NetworkInfo(bridge, up=False, members=(  # no bridge in this test's kernel
        NetworkMember("a" * 64, "web", "10.251.7.2", "02:74:0a:fb:07:02", "vethaaaa", (WEB,)),))
    assert infos["host"].network.driver == "host" and infos["none"].network.driver == "null"
    assert infos["host"].members == () and not infos["host"].up

    doc = Networks.inspect(infos["bridge"])
    (entry,) = doc["Containers"].values()
    assert entry["Name"] == "web" and entry["IPv4Address"] == "10.251.7.2/24" and len(entry["EndpointID"]) == 64
    assert doc["IPAM"]["Config"] == [{"Subnet": "10.251.7.0/24", "Gateway": "10.251.7.1"}]


def test_an_endpoint_round_trips_through_the_containers_file(tmp_path):
    ep = Endpoint("bridge", "c" * 64, "10.251.7.2", 24, "10.251.7.1", "02:74:0a:fb:07:02", "vethcccc", (WEB,))
    (tmp_path / ENDPOINT_FILE).write_text(json.dumps(ep.to_json()))
    assert endpoint_of(str(tmp_path)) == ep
    assert endpoint_of(str(tmp_path / "nothing")) is None
