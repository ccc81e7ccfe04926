"""``tuidock kill``: send a signal (SIGKILL by default) to the container's PID 1."""

from __future__ import annotations

from runtime import signals

from ..common import each, engine
from ..options import Command, opt

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

COMMAND = Command("kill", "[OPTIONS] CONTAINER [CONTAINER...]", "Kill one or more running containers", [
    opt("-s, --signal", dest="signal", kind="str", default="KILL", help="Signal to send to the container"),
], min_args=1)


def execute(values: dict[str, Any], operands: list[str]) -> int:
    sig = signals.parse(values["signal"])  # a bad signal fails before anything is touched
    eng = engine()
    return each(operands, lambda ref: eng.kill(ref, sig))
