"""``tuidock port``: the container's published ports (the host ports really bound, for ``-p 80`` too)."""

from __future__ import annotations

from runtime.errors import InvalidArgument, NotFound

from ..common import engine
from ..options import Command

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

COMMAND = Command("port", "CONTAINER [PRIVATE_PORT[/PROTO]]",
                  "List port mappings or a specific mapping for the container", [], min_args=1, max_args=2)


def execute(values: dict[str, Any], operands: list[str]) -> int:
    eng = engine()
    info = eng.get(operands[0])
    ports = eng.published_ports(info)
    if len(operands) == 1:
        for p in sorted(ports, key=lambda p: (p.container_port, p.protocol, p.host_ip)):
            print(f"{p.container_port}/{p.protocol} -> {p.host_ip or '0.0.0.0'}:{p.host_port}")
        return 0
    num, _, proto = operands[1].partition("/")
    proto = proto or "tcp"
    if not num.isdigit() or proto not in ("tcp", "udp"):
        raise InvalidArgument(f"port {operands[1]}: expected PORT or PORT/tcp or PORT/udp")
    found = [p for p in ports if p.container_port == int(num) and p.protocol == proto]
    if not found:
        raise NotFound(f"no public port '{num}/{proto}' published for {info.name}")
    for p in found:
        print(f"{p.host_ip or '0.0.0.0'}:{p.host_port}")
    return 0
