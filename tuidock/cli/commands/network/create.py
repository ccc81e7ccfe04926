"""``tuidock network create``: a bridge network with its own subnet (the bridge appears with its first container)."""

from __future__ import annotations

from runtime.errors import InvalidArgument

from ...common import engine
from ...options import Command, opt

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

COMMAND = Command("network create", "[OPTIONS] NETWORK", "Create a network", [
    opt("-d, --driver", kind="str", default="bridge", help="Driver to manage the Network (only bridge)"),
    opt("--subnet", kind="str", help="Subnet in CIDR format (default: the first free /24 of 10.78.0.0/16)"),
    opt("--gateway", kind="str", help="IPv4 Gateway for the master subnet (default: its first address)"),
    opt("--label", kind="list", help="Set metadata on a network"),
], min_args=1, max_args=1)


def execute(values: dict[str, Any], operands: list[str]) -> int:
    labels = {}
    for item in values["label"]:
        k, _, v = item.partition("=")
        if not k:
            raise InvalidArgument(f"invalid label: {item!r}")
        labels[k] = v
    if values["gateway"] and not values["subnet"]:
        raise InvalidArgument("--gateway: needs --subnet")
    net = engine().networks.create(operands[0], values["subnet"], values["gateway"], labels, values["driver"])
    print(net.id)
    return 0
