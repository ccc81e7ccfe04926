"""``run`` flags for networking: ``--network``, ``-p``/``--publish``, ``--dns``."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..model import HostConfig

FLAGS: list[tuple[str, str, str, str]] = [
    ("--network, --net", "network", "str",
     "Connect a container to a network: bridge (the default), none (only loopback), host, or a network's name"),
    ("-p, --publish", "publish", "list",
     "Publish a container's port to the host: [IP:][HOSTPORT:]CONTAINERPORT[/tcp|udp] (no HOSTPORT: a free one)"),
    ("--dns", "dns", "list", "Set custom DNS servers"),
]
DEFAULTS: dict[str, Any] = {}
CLIENT_PATHS: tuple[str, ...] = ()
DEFAULT_NETWORK = "bridge"


def apply(values: dict[str, Any], host: HostConfig) -> HostConfig:
    import dataclasses
    import ipaddress

    from ...errors import InvalidArgument
    from ...net import ports
    from ...net.store import check_network_name

    network = values.get("network") or DEFAULT_NETWORK
    if network.startswith("container:"):
        raise InvalidArgument(f"network {network}: joining another container's network is not supported")
    check_network_name(network)
    published = ports.parse_all(list(values.get("publish") or ()))
    if published and network in ("none", "host"):
        raise InvalidArgument(f"-p: published ports need a bridge network, not --network {network}")
    dns = []
    for d in values.get("dns") or ():
        try:
            dns.append(str(ipaddress.ip_address(d)))
        except ValueError:
            raise InvalidArgument(f"--dns {d}: not an IP address") from None
    return dataclasses.replace(host, network=network, ports=published, dns=tuple(dns))
