"""``tuidock network rm``: remove networks no running container is on (their bridges and rules go too)."""

from __future__ import annotations

from ...common import each, engine
from ...options import Command

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

COMMAND = Command("network rm", "NETWORK [NETWORK...]", "Remove one or more networks", [], min_args=1,
                  aliases=("network remove",))


def execute(values: dict[str, Any], operands: list[str]) -> int:
    nets = engine().networks
    return each(operands, nets.remove)
