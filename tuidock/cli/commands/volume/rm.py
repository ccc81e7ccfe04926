"""``tuidock volume rm``: remove volumes; refused while any container, running or stopped, uses one."""

from __future__ import annotations

from ...common import each, engine
from ...options import Command, opt

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

COMMAND = Command("volume rm", "[OPTIONS] VOLUME [VOLUME...]", "Remove one or more volumes", [
    opt("-f, --force", help="Do not fail when a volume does not exist (a volume in use is never removed)"),
], min_args=1, aliases=("volume remove",))


def execute(values: dict[str, Any], operands: list[str]) -> int:
    eng = engine()
    return each(operands, lambda name: eng.volume_remove(name, force=values["force"]))
