"""``tuidock pause`` / ``unpause``: freeze and thaw every process of a container (cgroup freezer)."""

from __future__ import annotations

from ..common import each, engine
from ..options import Command

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

COMMAND = Command("pause", "CONTAINER [CONTAINER...]", "Pause all processes within one or more containers",
                  min_args=1)


def execute(values: dict[str, Any], operands: list[str]) -> int:
    eng = engine()
    return each(operands, eng.pause)
