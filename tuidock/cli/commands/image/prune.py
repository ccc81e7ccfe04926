"""``tuidock image prune``: remove dangling images (``-a``: every image no container uses)."""

from __future__ import annotations

from ... import format as fmt
from ...common import engine
from ...options import Command, opt
from ..prune import confirm

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

COMMAND = Command("image prune", "[OPTIONS]", "Remove unused images", [
    opt("-a, --all", help="Remove all unused images, not just dangling ones"),
    opt("-f, --force", help="Do not prompt for confirmation"),
], max_args=0)


def execute(values: dict[str, Any], operands: list[str]) -> int:
    warning = ("This will remove all images without at least one container associated to them." if values["all"]
               else "This will remove all dangling images.")
    if not values["force"] and not confirm(warning):
        return 0
    records, freed = engine().prune_images(all_images=values["all"])
    if records:
        print("Deleted Images:")
        for r in records:
            print(f"untagged: {r.untagged}" if r.untagged else f"deleted: {r.deleted}")
        print()
    print(f"Total reclaimed space: {fmt.human_size(freed)}")
    return 0
