"""``tuidock network prune``: remove every network no running container is on."""

from __future__ import annotations

from ...common import engine
from ...options import Command, opt
from ..prune import confirm

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

COMMAND = Command("network prune", "[OPTIONS]", "Remove all unused networks", [
    opt("-f, --force", help="Do not prompt for confirmation"),
], max_args=0)


def execute(values: dict[str, Any], operands: list[str]) -> int:
    if not values["force"] and not confirm(
            "This will remove all custom networks not used by at least one running container\n"
            "(and take the default network's bridge down while no container uses it)."):
        return 0
    removed = engine().networks.prune()
    if removed:
        print("Deleted Networks:")
        for n in removed:
            print(n.name)
    return 0
