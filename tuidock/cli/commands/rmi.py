"""``tuidock rmi`` (``image rm``): untag and remove images, docker's way (see runtime/engine/imageops.py)."""

from __future__ import annotations

from .. import eprint
from ..common import engine
from ..options import Command, opt

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

COMMAND = Command("rmi", "[OPTIONS] IMAGE [IMAGE...]", "Remove one or more images", [
    opt("-f, --force", help="Force removal of the image"),
    opt("--no-prune", help="Do not delete untagged parents"),
], min_args=1, aliases=("image rm", "image remove"))


def execute(values: dict[str, Any], operands: list[str]) -> int:
    records, errors = engine().remove_images(operands, force=values["force"], prune=not values["no_prune"])
    for r in records:
        print(r, flush=True)
    for e in errors:
        eprint(e)
    return 1 if errors else 0
