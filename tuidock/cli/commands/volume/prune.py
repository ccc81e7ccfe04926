"""``tuidock volume prune``: remove unused anonymous volumes (every unused one with ``-a``), as docker 23+."""

from __future__ import annotations

from runtime.errors import InvalidArgument

from ... import format as fmt
from ...common import engine
from ...options import Command, opt
from ..prune import confirm

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

COMMAND = Command("volume prune", "[OPTIONS]", "Remove unused local volumes", [
    opt("-a, --all", help="Remove all unused volumes, not just anonymous ones"),
    opt("--filter", kind="list", help="Provide filter values (label=KEY[=VALUE], label!=KEY[=VALUE], all=true)"),
    opt("-f, --force", help="Do not prompt for confirmation"),
], max_args=0)


def execute(values: dict[str, Any], operands: list[str]) -> int:
    labels = []
    every = values["all"]
    for item in values["filter"]:
        key, sep, value = item.partition("=")
        if key == "all" and value.lower() in ("true", "1", "false", "0"):
            every = every or value.lower() in ("true", "1")  # docker's --filter all=true is -a
        elif key in ("label", "label!") and sep and value:
            labels.append(("!" if key == "label!" else "") + value)
        else:
            raise InvalidArgument(f"invalid filter '{item}': volume prune takes label=KEY[=VALUE], "
                                  "label!=KEY[=VALUE] or all=true")
    what = "all local volumes" if every else "anonymous local volumes"
    if not values["force"] and not confirm(f"This will remove {what} not used by at least one container."):
        return 0
    removed = engine().volume_prune(all=every, labels=tuple(labels))
    print(fmt.pruned_output("Deleted Volumes", removed), end="")
    return 0
