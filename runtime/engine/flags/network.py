"""``run`` flags for networking: ``--network``."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..model import HostConfig

FLAGS: list[tuple[str, str, str, str]] = [
    ("--network, --net", "network", "str", "Connect a container to a network: none (the default: only loopback) or host"),
]
DEFAULTS: dict[str, Any] = {}
CLIENT_PATHS: tuple[str, ...] = ()


def apply(values: dict[str, Any], host: HostConfig) -> HostConfig:
    import dataclasses

    from ...errors import InvalidArgument

    network = values.get("network") or "none"
    if network not in ("none", "host"):
        raise InvalidArgument(f"network {network}: not found (none and host exist)")
    return dataclasses.replace(host, network=network)
