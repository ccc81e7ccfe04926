"""Networking, checked as a user would: addresses and routes inside, TCP between containers, published ports
from the host, names on user networks, and nothing left in ``ip link`` or nftables afterwards.

Every test uses the session's own bridge and subnet (``TUIDOCK_BRIDGE`` /
``TUIDOCK_SUBNET`` from the ``env`` fixture) and its own user networks, and
sends traffic only to loopback, to this host's own addresses and to its own
containers. Every wait is a bounded loop.
"""

from __future__ import annotations

import ipaddress
import json
import os
import random
import signal
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from runtime.net.bridge import host_routes

pytestmark = pytest.mark.requires("root", "overlay", "busybox", "nftables")

# A web server in busybox, serving one page: the test's way to see a connection succeed.
HTTPD = "mkdir -p /www && echo served-by-$(hostname) > /www/index.html && exec httpd -f -p 80 -h /www"


def until(predicate, timeout: float = 10.0, what: str = "condition"):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def http_get(host: str, port: int, timeout: float = 5.0) -> str:
    """One GET, retried while the server starts (connection refused) for up to ``timeout`` seconds."""
    def attempt() -> str:
        try:
            with socket.create_connection((host, port), timeout=1.0) as s:
                s.sendall(b"GET / HTTP/1.0\r\n\r\n")
                data = b""
                while chunk := s.recv(4096):
                    data += chunk
                return data.decode(errors="replace")
        except OSError:
            return ""

    return str(until(attempt, timeout, f"http://{host}:{port}/"))


def inspect(env, ref: str) -> dict:  # type: ignore[type-arg]
    r = env.cli("inspect", ref)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)[0]  # type: ignore[no-any-return]


def ip_of(env, ref: str) -> str:
    return str(inspect(env, ref)["NetworkSettings"]["IPAddress"])


def free_subnet() -> str:
    routes = [n for n, _ in host_routes()]
    while True:
        cand = ipaddress.IPv4Network(f"10.{random.randint(200, 250)}.{random.randint(0, 255)}.0/24")
        if not any(cand.overlaps(r) for r in routes):
            return str(cand)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def host_address() -> str | None:
    """A non-loopback IPv4 address of this host that is not one of tuidock's bridges."""
    out = json.loads(subprocess.run(["ip", "-j", "-4", "addr"], capture_output=True, text=True, check=True).stdout)
    for link in out:
        alias = open(f"/sys/class/net/{link['ifname']}/ifalias").read().strip() if os.path.exists(
            f"/sys/class/net/{link['ifname']}/ifalias") else ""
        if link["ifname"] == "lo" or alias.startswith("tuidock "):
            continue
        for a in link.get("addr_info", []):
            return str(a["local"])
    return None


def nft_elements(table: str) -> list[str]:
    r = subprocess.run(["nft", "-j", "list", "table", "ip", table], capture_output=True, text=True)
    if r.returncode != 0:
        return []
    return [json.dumps(m["map"]["elem"]) for m in json.loads(r.stdout)["nftables"] if "map" in m and m["map"].get("elem")]


def our_veths(env, cid: str = "") -> list[str]:  # type: ignore[no-untyped-def]
    """This root's veths, by the alias tuidock gives them (one container's: ``cid``)."""
    from runtime.net.bridge import owner_alias

    prefix = f"{owner_alias(str(env.root))} {cid}"
    links = json.loads(subprocess.run(["ip", "-j", "-d", "link", "show"], capture_output=True, text=True,
                                      check=True).stdout)
    return [ln["ifname"] for ln in links if ln.get("ifalias", "").startswith(prefix) and "veth" in
            ln.get("linkinfo", {}).get("info_kind", "")]


# ---- the default network ----------------------------------------------------------------


def test_a_container_gets_an_address_a_route_and_names_itself(env):
    # No --network: the default is the bridge network, as in docker.
    r = env.cli("run", "--rm", "--name", "self", "busybox", "sh", "-c",
                "ip -4 -o addr show eth0; ip route; cat /etc/hosts; hostname")
    assert r.returncode == 0, r.stderr
    subnet = ipaddress.IPv4Network(env.subnet)
    addr = r.stdout.split("inet ")[1].split()[0]
    ip, prefix = addr.split("/")
    assert ipaddress.IPv4Address(ip) in subnet and int(prefix) == subnet.prefixlen
    assert f"default via {subnet.network_address + 1} dev eth0" in r.stdout
    hostname = r.stdout.strip().splitlines()[-1]
    assert f"{ip}\t{hostname} self" in r.stdout  # /etc/hosts names the container
    assert "127.0.0.1\tlocalhost" in r.stdout
    # Outbound traffic from the subnet leaves masqueraded (only looked at: tests send nothing off the host).
    chain = subprocess.run(["nft", "list", "chain", "ip", f"tuidock_{env.bridge}", "postrouting"],
                           capture_output=True, text=True, check=True).stdout
    assert f'ip saddr {env.subnet} oifname != "{env.bridge}" masquerade' in chain
    assert open("/proc/sys/net/ipv4/ip_forward").read().strip() == "1"


def test_monitors_never_map_the_network_code(env):
    """The network server does the kernel work, so a monitor of a container on a bridge stays small."""
    port = free_port()
    assert env.cli("run", "-d", "--name", "lean", "-p", f"127.0.0.1:{port}:80", "busybox", "sleep", "60").returncode == 0
    st = env.engine().get("lean").state
    assert st is not None
    maps = open(f"/proc/{st.monitor_pid}/maps").read()
    assert "libnftables" not in maps and "libmnl" not in maps
    assert env.cli("exec", "lean", "ip", "-4", "-o", "addr", "show", "eth0").stdout.count("inet ") == 1
    table = f"tuidock_{env.bridge}"
    assert any(str(port) in e for e in nft_elements(table))
    assert env.cli("stop", "-t", "0", "lean").returncode == 0  # the monitor's clean-up goes through the server too
    assert not nft_elements(table)


def test_a_container_outliving_the_network_server_is_still_disconnected_at_exit(env):
    """The network server exits a minute after its last request; a monitor at exit starts a new one."""
    from runtime import launch

    port = free_port()
    assert env.cli("run", "-d", "--name", "outlives", "-p", f"127.0.0.1:{port}:80", "busybox", "sleep", "60"
                   ).returncode == 0
    run_dir = env.root / "run"
    [pidfile] = [p for p in run_dir.iterdir() if p.name.startswith(f"{launch.NET_SERVER}-") and p.suffix == ".pid"]
    server = int(pidfile.read_text())
    os.kill(server, signal.SIGTERM)  # as if it had gone idle
    until(lambda: not os.path.exists(f"/proc/{server}"))
    table = f"tuidock_{env.bridge}"
    assert any(str(port) in e for e in nft_elements(table))
    assert env.cli("stop", "-t", "0", "outlives").returncode == 0
    assert not nft_elements(table)
    assert env.cli("inspect", "-f", "{{.State.Status}}", "outlives").stdout.strip() == "exited"


def test_an_engine_without_the_envs_variables_still_uses_its_bridge(env):
    # An engine made in the test process (whose environment names no bridge): the root's record decides.
    from runtime.engine.networking import Networks

    net = Networks(str(env.root), {}).default()
    assert (net.bridge, net.subnet) == (env.bridge, env.subnet)

def test_none_has_only_loopback_and_host_shares_the_hosts_network(env):
    r = env.cli("run", "--rm", "--network", "none", "busybox", "ls", "/sys/class/net")
    assert r.returncode == 0 and r.stdout.split() == ["lo"], r.stdout + r.stderr
    r = env.cli("run", "--rm", "--network", "host", "busybox", "readlink", "/proc/self/ns/net")
    assert r.returncode == 0 and r.stdout.strip() == os.readlink("/proc/self/ns/net")


def test_two_containers_exchange_data_over_tcp_by_address(env):
    # The server answers only after it has read the client's line, so the
    # client's exit status says the line arrived. (A plain `nc -l` with an
    # empty stdin closes its half of the connection at once, and a client
    # whose `echo` had not yet filled its pipe then exits 0 having sent
    # nothing: the race this test once lost under load.)
    srv = env.cli("run", "-d", "--network", "bridge", "--name", "srv", "busybox", "nc", "-l", "-p", "5000",
                  "-e", "sh", "-c", 'read line; echo "server got $line" >&2; echo "reply to $line"')
    assert srv.returncode == 0, srv.stderr
    ip = ip_of(env, "srv")
    # The client retries (bounded) while the server is not listening yet (connection refused).
    cli = env.cli("run", "--rm", "--network", "bridge", "busybox", "sh", "-c",
                  f"for i in $(seq 50); do echo hello-over-tcp | nc -w 2 {ip} 5000 && exit 0; sleep 0.1; done; exit 1")
    assert cli.returncode == 0, cli.stderr
    assert cli.stdout == "reply to hello-over-tcp\n"
    # The server exits after one exchange; its output is all in the log once it has.
    assert env.cli("wait", "srv", timeout=30).stdout.strip() == "0"
    assert env.cli("logs", "srv").stderr == "server got hello-over-tcp\n"


def test_inspect_shows_the_network_settings(env):
    assert env.cli("run", "-d", "--network", "bridge", "--name", "insp", "busybox", "sleep", "60").returncode == 0
    ns = inspect(env, "insp")["NetworkSettings"]
    subnet = ipaddress.IPv4Network(env.subnet)
    assert ipaddress.IPv4Address(ns["IPAddress"]) in subnet
    assert ns["Gateway"] == str(subnet.network_address + 1) and ns["IPPrefixLen"] == subnet.prefixlen
    assert ns["MacAddress"].startswith("02:74:")
    bridge = ns["Networks"]["bridge"]
    assert bridge["IPAddress"] == ns["IPAddress"] and bridge["MacAddress"] == ns["MacAddress"]
    net_id = env.cli("network", "inspect", "-f", "{{.Id}}", "bridge").stdout.strip()
    assert bridge["NetworkID"] == net_id
    # The MAC inside is the one inspect reports.
    inside = env.cli("exec", "insp", "cat", "/sys/class/net/eth0/address").stdout.strip()
    assert inside == ns["MacAddress"]
    # The engine's typed view (what the TUI shows) agrees, and names the host end of the pair.
    eng = env.engine()
    info = eng.get("insp")
    ep = eng.endpoint(info)
    assert ep is not None and (ep.network, ep.ip, ep.mac, ep.gateway) == ("bridge", ns["IPAddress"], ns["MacAddress"],
                                                                          ns["Gateway"])
    assert our_veths(env, info.id) == [ep.veth]
    bridge_info = next(i for i in eng.network_infos() if i.network.name == "bridge")
    assert bridge_info.up and [(m.name, m.ip, m.veth) for m in bridge_info.members] == [("insp", ep.ip, ep.veth)]


def test_parallel_starts_get_distinct_addresses(env):
    def go(i: int) -> subprocess.CompletedProcess[str]:
        return env.cli("run", "-d", "--network", "bridge", "--name", f"par{i}", "busybox", "sleep", "60")

    with ThreadPoolExecutor(10) as pool:
        results = list(pool.map(go, range(10)))
    assert [r.returncode for r in results] == [0] * 10, [r.stderr for r in results]
    ips = [ip_of(env, f"par{i}") for i in range(10)]
    assert len(set(ips)) == 10 and all(ipaddress.IPv4Address(ip) in ipaddress.IPv4Network(env.subnet) for ip in ips)
    # Each container really has the address it was given.
    for i in (0, 9):
        assert f"inet {ips[i]}/" in env.cli("exec", f"par{i}", "ip", "-4", "addr", "show", "eth0").stdout
    assert env.cli("rm", "-f", *[f"par{i}" for i in range(10)]).returncode == 0
    assert env.leftovers() == []


def test_a_restarted_container_keeps_its_address(env):
    assert env.cli("run", "-d", "--network", "bridge", "--name", "again", "busybox", "sleep", "60").returncode == 0
    before = ip_of(env, "again")
    assert env.cli("restart", "-t", "0", "again").returncode == 0
    assert ip_of(env, "again") == before


# ---- published ports ----------------------------------------------------------------------


def test_a_published_port_answers_on_loopback_and_the_hosts_address(env):
    port = free_port()
    r = env.cli("run", "-d", "--name", "web", "--network", "bridge", "-p", f"{port}:80", "-p", "127.0.0.1::80",
                "busybox", "sh", "-c", HTTPD)
    assert r.returncode == 0, r.stderr
    cid = r.stdout.strip()
    assert f"served-by-{cid[:12]}" in http_get("127.0.0.1", port)
    ours = host_address()
    if ours:
        assert f"served-by-{cid[:12]}" in http_get(ours, port)
    # -p 127.0.0.1::80 got a free port, bound on loopback only.
    lines = env.cli("port", "web").stdout.splitlines()
    assert f"80/tcp -> 0.0.0.0:{port}" in lines
    random_port = int(next(ln for ln in lines if "127.0.0.1:" in ln).rsplit(":", 1)[1])
    assert random_port > 0 and f"served-by-{cid[:12]}" in http_get("127.0.0.1", random_port)
    assert env.cli("port", "web", "80/tcp").stdout.split() == sorted([f"0.0.0.0:{port}", f"127.0.0.1:{random_port}"],
                                                                     key=lambda s: not s.startswith("0.0.0.0"))
    ps = env.cli("ps", "--format", "{{.Ports}}", "--filter", "name=web").stdout
    assert f"0.0.0.0:{port}->80/tcp" in ps and f"127.0.0.1:{random_port}->80/tcp" in ps
    doc = inspect(env, "web")
    assert doc["HostConfig"]["PortBindings"]["80/tcp"] == [{"HostIp": "", "HostPort": str(port)},
                                                          {"HostIp": "127.0.0.1", "HostPort": ""}]
    assert {"HostIp": "0.0.0.0", "HostPort": str(port)} in doc["NetworkSettings"]["Ports"]["80/tcp"]
    # The port is held: nothing else on the host can bind it while the container runs.
    with socket.socket() as s, pytest.raises(OSError):
        s.bind(("0.0.0.0", port))
    table = f"tuidock_{env.bridge}"
    assert any(str(port) in e for e in nft_elements(table))
    assert env.cli("rm", "-f", "web").returncode == 0
    assert not nft_elements(table)
    with socket.socket() as s:
        s.bind(("0.0.0.0", port))  # given back
    assert env.leftovers() == []


def test_a_port_in_use_is_a_clear_error_and_leaves_nothing(env):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        r = env.cli("run", "-d", "--name", "busy", "--network", "bridge", "-p", f"127.0.0.1:{port}:80",
                    "busybox", "sleep", "60")
        assert r.returncode == 125
        assert r.stderr.strip() == f"tuidock: port 127.0.0.1:{port}/tcp: already in use on this host"
    assert "busy" not in env.cli("ps", "-a", "--format", "{{.Names}}").stdout.split()
    assert env.leftovers() == []


# ---- user networks ------------------------------------------------------------------------


def test_a_user_network_resolves_names_and_goes_away_completely(env):
    subnet = free_subnet()
    r = env.cli("network", "create", "--subnet", subnet, "tnet")
    assert r.returncode == 0, r.stderr
    net_id = r.stdout.strip()
    assert env.cli("network", "create", "tnet").stderr.strip() == "tuidock: network with name tnet already exists"
    assert env.cli("run", "-d", "--network", "tnet", "--name", "alpha", "busybox", "sh", "-c", HTTPD).returncode == 0
    assert env.cli("run", "-d", "--network", "tnet", "--name", "beta", "busybox", "sleep", "60").returncode == 0
    assert ipaddress.IPv4Address(ip_of(env, "alpha")) in ipaddress.IPv4Network(subnet)
    # beta reaches alpha by name; both hosts files list the other.
    got = env.cli("exec", "beta", "sh", "-c",
                  "for i in $(seq 50); do printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 alpha 80 | grep served-by-"
                  " && exit 0; sleep 0.1; done; exit 1")
    assert got.returncode == 0 and "served-by-" in got.stdout, got.stderr
    assert f"{ip_of(env, 'beta')}\t" in env.cli("exec", "alpha", "cat", "/etc/hosts").stdout
    doc = json.loads(env.cli("network", "inspect", "tnet").stdout)[0]
    assert doc["Id"] == net_id and doc["IPAM"]["Config"] == [{"Subnet": subnet, "Gateway": str(
        ipaddress.IPv4Network(subnet).network_address + 1)}]
    assert sorted(c["Name"] for c in doc["Containers"].values()) == ["alpha", "beta"]
    bridge = doc["Options"]["com.docker.network.bridge.name"]
    assert os.path.exists(f"/sys/class/net/{bridge}")
    assert "tnet" in env.cli("network", "ls", "--format", "{{.Name}}").stdout.split()
    # Refused while in use; when beta leaves, alpha's hosts file forgets it.
    r = env.cli("network", "rm", "tnet")
    assert r.returncode == 125 and "network tnet: in use by running containers (alpha, beta)" in r.stderr
    beta_ip = ip_of(env, "beta")
    assert env.cli("rm", "-f", "beta").returncode == 0
    assert beta_ip not in env.cli("exec", "alpha", "cat", "/etc/hosts").stdout
    assert env.cli("rm", "-f", "alpha").returncode == 0
    assert env.cli("network", "rm", "tnet").returncode == 0
    assert not os.path.exists(f"/sys/class/net/{bridge}")
    assert subprocess.run(["nft", "list", "table", "ip", f"tuidock_{bridge}"], capture_output=True).returncode != 0
    assert env.cli("network", "inspect", "tnet").returncode == 125
    assert env.leftovers() == []


def test_network_commands_and_their_refusals(env):
    names = env.cli("network", "ls", "--format", "{{.Name}} {{.Driver}}").stdout.splitlines()
    assert {"bridge bridge", "host host", "none null"} <= set(names)
    assert env.cli("network", "inspect", "-f", "{{.Options}}", "bridge").stdout.count(env.bridge) >= 1
    assert env.cli("network", "rm", "bridge").stderr.strip() == (
        "tuidock: network bridge: is a pre-defined network and cannot be removed")
    r = env.cli("run", "--rm", "--network", "nosuchnet", "busybox", "true")
    assert r.returncode == 125 and "network nosuchnet not found" in r.stderr
    r = env.cli("network", "create", "--subnet", env.subnet, "clash")
    assert r.returncode == 125 and "overlaps network bridge" in r.stderr
    subnet = free_subnet()
    assert env.cli("network", "create", "--subnet", subnet, "unused").returncode == 0
    r = env.cli("network", "prune", "-f")
    assert r.returncode == 0 and "unused" in r.stdout.split()
    assert "unused" not in env.cli("network", "ls", "--format", "{{.Name}}").stdout.split()


# ---- crashes ------------------------------------------------------------------------------------


def test_after_a_killed_monitor_rm_releases_the_lease_and_the_ports(env):
    port = free_port()
    assert env.cli("run", "-d", "--name", "orphan", "--network", "bridge", "-p", f"127.0.0.1:{port}:80",
                   "busybox", "sleep", "60").returncode == 0
    st = env.engine().get("orphan").state
    assert st is not None
    os.kill(st.monitor_pid, signal.SIGKILL)  # PID 1 dies with it: nobody runs the clean-up
    until(lambda: env.cli("inspect", "-f", "{{.State.Status}}", "orphan").stdout.strip() == "exited")
    table = f"tuidock_{env.bridge}"
    assert any(str(port) in e for e in nft_elements(table))  # stale, until someone looks
    assert env.cli("rm", "orphan").returncode == 0
    assert not nft_elements(table)
    assert env.leftovers() == []


def test_after_a_simulated_reboot_the_next_start_reclaims_stale_leases(env):
    port = free_port()
    for n in ("boot1", "boot2"):
        extra = ["-p", f"127.0.0.1:{port}:80"] if n == "boot1" else []
        assert env.cli("run", "-d", "--name", n, "--network", "bridge", *extra, "busybox", "sleep", "60").returncode == 0
    victims = []
    for n in ("boot1", "boot2"):
        st = env.engine().get(n).state
        assert st is not None
        victims += [st.monitor_pid, st.pid]
    for pid in victims:
        os.kill(pid, signal.SIGKILL)
    until(lambda: all(not os.path.exists(f"/proc/{p}") or open(f"/proc/{p}/stat").read().split()[2] == "Z"
                      for p in victims), what="the processes to die")
    # The port is free again on the host, and the next start can publish it: the stale rule is reclaimed.
    r = env.cli("run", "-d", "--name", "next", "--network", "bridge", "-p", f"127.0.0.1:{port}:80",
                "busybox", "sh", "-c", HTTPD)
    assert r.returncode == 0, r.stderr
    assert f"served-by-{r.stdout.strip()[:12]}" in http_get("127.0.0.1", port)
    leases = [json.loads(p.read_text())["leases"] for p in (env.root / "network").glob("*/leases.json")]
    assert sorted(v["name"] for d in leases for v in d.values()) == ["next"]
    assert env.cli("rm", "-f", "boot1", "boot2", "next").returncode == 0
    assert env.leftovers() == []


def test_after_a_killed_monitor_rm_deletes_a_veth_whose_namespace_is_still_held(env):
    r = env.cli("run", "-d", "--name", "held", "--network", "bridge", "busybox", "sleep", "60")
    assert r.returncode == 0, r.stderr
    cid = r.stdout.strip()
    st = env.engine().get("held").state
    assert st is not None and len(our_veths(env, cid)) == 1
    # An open namespace file keeps the namespace, and with it the veth pair, after every process in it is gone.
    holder = os.open(f"/proc/{st.pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.kill(st.monitor_pid, signal.SIGKILL)
        until(lambda: env.cli("inspect", "-f", "{{.State.Status}}", "held").stdout.strip() == "exited")
        assert len(our_veths(env, cid)) == 1  # left on the bridge: nobody ran the clean-up
        assert env.cli("rm", "held").returncode == 0
        assert our_veths(env, cid) == []
        assert env.leftovers() == []
    finally:
        os.close(holder)


def test_network_prune_sweeps_links_a_crash_left_without_a_lease(env):
    from runtime.net.bridge import owner_alias

    name, peer = f"tdsw{os.urandom(4).hex()}", f"tdsp{os.urandom(4).hex()}"
    # What a crash between creating a container's pair and recording it would leave: a pair with our alias.
    subprocess.run(["ip", "link", "add", name, "type", "veth", "peer", "name", peer], check=True)
    try:
        subprocess.run(["ip", "link", "set", name, "alias", f"{owner_alias(str(env.root))} {'0' * 64}"], check=True)
        assert name in our_veths(env)
        assert env.cli("network", "prune", "-f").returncode == 0
        assert not os.path.exists(f"/sys/class/net/{name}") and not os.path.exists(f"/sys/class/net/{peer}")
    finally:
        subprocess.run(["ip", "link", "del", name], capture_output=True)

