"""``tuidock commit``: a container's changes (its upper layer) as a new image."""

from __future__ import annotations

from ..common import engine
from ..options import Command, opt

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

COMMAND = Command("commit", "[OPTIONS] CONTAINER [REPOSITORY[:TAG]]", "Create a new image from a container's changes", [
    opt("-a, --author", kind="str", default="", help='Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")'),
    opt("-c, --change", kind="list", help="Apply Dockerfile instruction to the created image"),
    opt("-m, --message", kind="str", default="", help="Commit message"),
    opt("-p, --pause", default=True, help="Pause container during commit (default true)"),
], min_args=1, max_args=2, aliases=("container commit",))


def execute(values: dict[str, Any], operands: list[str]) -> int:
    img = engine().commit(operands[0], operands[1] if len(operands) > 1 else None, message=values["message"],
                          author=values["author"], changes=values["change"], pause=values["pause"])
    print(img.id)
    return 0
