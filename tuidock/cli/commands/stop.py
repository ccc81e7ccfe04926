"""``tuidock stop``: the stop signal, then SIGKILL after the timeout (default 10 s)."""

from __future__ import annotations

from ..common import each, engine
from ..options import Command, opt

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

COMMAND = Command("stop", "[OPTIONS] CONTAINER [CONTAINER...]", "Stop one or more running containers", [
    opt("-t, --time", dest="time", kind="int", help="Seconds to wait before killing the container"),
    opt("-s, --signal", dest="signal", kind="str", help="Signal to send to the container"),
], min_args=1)


def execute(values: dict[str, Any], operands: list[str]) -> int:
    eng = engine()
    return each(operands, lambda ref: eng.stop(ref, values["time"], values["signal"]))
