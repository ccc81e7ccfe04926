"""``tuidock rename``: give a container a new name."""

from __future__ import annotations

from ..common import engine
from ..options import Command

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

COMMAND = Command("rename", "CONTAINER NEW_NAME", "Rename a container", min_args=2, max_args=2)


def execute(values: dict[str, Any], operands: list[str]) -> int:
    engine().rename(operands[0], operands[1])
    return 0
