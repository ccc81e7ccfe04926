"""``tuidock container prune``: remove every stopped container."""

from __future__ import annotations

import sys

from .. import format as fmt
from ..common import engine
from ..options import Command, opt

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

COMMAND = Command("container prune", "[OPTIONS]", "Remove all stopped containers", [
    opt("-f, --force", help="Do not prompt for confirmation"),
], max_args=0)


def confirm(warning: str) -> bool:
    sys.stdout.write(f"WARNING! {warning}\nAre you sure you want to continue? [y/N] ")
    sys.stdout.flush()
    answer = sys.stdin.readline().strip().lower()
    return answer in ("y", "yes")


def execute(values: dict[str, Any], operands: list[str]) -> int:
    if not values["force"] and not confirm("This will remove all stopped containers."):
        return 0
    removed = engine().prune()
    print(fmt.pruned_output("Deleted Containers", removed), end="")
    return 0
