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
    opt("--filter", kind="list", help="Provide filter values (label=KEY or label=KEY=VALUE)"),
    opt("-f, --force", help="Do not prompt for confirmation"),
], max_args=0)


def execute(values: dict[str, Any], operands: list[str]) -> int:
    labels = []
    for item in values["filter"]:
        key, sep, value = item.partition("=")
        if key != "label" or not sep:
            raise InvalidArgument(f"invalid filter '{item}': volume prune takes label=KEY[=VALUE]")
        labels.append(value)
    what = "all local volumes" if values["all"] else "anonymous local volumes"
    if not values["force"] and not confirm(f"This will remove {what} not used by at least one container."):
        return 0
    removed = engine().volume_prune(all=values["all"], labels=tuple(labels))
    if removed:
        print("Deleted Volumes:")
        for name, _ in removed:
            print(name)
        print()
    print(f"Total reclaimed space: {fmt.human_size(sum(s for _, s in removed))}")
    return 0
