"""``tuidock restart``: stop (with its timeout), then start."""

from __future__ import annotations

from ..common import each, engine
from ..options import Command, opt

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

COMMAND = Command("restart", "[OPTIONS] CONTAINER [CONTAINER...]", "Restart one or more containers", [
    opt("-t, --time", dest="time", kind="int", help="Seconds to wait before killing the container"),
], min_args=1)


def execute(values: dict[str, Any], operands: list[str]) -> int:
    eng = engine()
    return each(operands, lambda ref: eng.restart(ref, values["time"]))
