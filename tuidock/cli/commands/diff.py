"""``tuidock diff``: what the container changed, read from its upper layer (A added, C changed, D deleted)."""

from __future__ import annotations

from ..common import engine
from ..options import Command

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

COMMAND = Command("diff", "CONTAINER", "Inspect changes to files or directories on a container's filesystem",
                  min_args=1, max_args=1)


def execute(values: dict[str, Any], operands: list[str]) -> int:
    for c in engine().changes(operands[0]):
        print(f"{c.kind} {c.path}")
    return 0
