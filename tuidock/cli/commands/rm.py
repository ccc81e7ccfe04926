"""``tuidock rm``: remove containers (``-f`` kills a running one first; ``-v`` its anonymous volumes)."""

from __future__ import annotations

from ..common import each, engine
from ..options import Command, opt

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

COMMAND = Command("rm", "[OPTIONS] CONTAINER [CONTAINER...]", "Remove one or more containers", [
    opt("-f, --force", help="Force the removal of a running container (uses SIGKILL)"),
    opt("-v, --volumes", help="Remove anonymous volumes associated with the container"),
], min_args=1)


def execute(values: dict[str, Any], operands: list[str]) -> int:
    eng = engine()
    return each(operands, lambda ref: eng.remove(ref, force=values["force"], volumes=values["volumes"]))
