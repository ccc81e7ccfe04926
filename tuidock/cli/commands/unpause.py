"""``tuidock unpause``: thaw a paused container."""

from __future__ import annotations

from ..common import each, engine
from ..options import Command

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

COMMAND = Command("unpause", "CONTAINER [CONTAINER...]", "Unpause all processes within one or more containers",
                  min_args=1)


def execute(values: dict[str, Any], operands: list[str]) -> int:
    eng = engine()
    return each(operands, eng.unpause)
