"""``tuidock wait``: block until containers stop, then print their exit codes."""

from __future__ import annotations

from ..common import each, engine
from ..options import Command

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

COMMAND = Command("wait", "CONTAINER [CONTAINER...]", "Block until one or more containers stop, then print their exit codes",
                  min_args=1)


def execute(values: dict[str, Any], operands: list[str]) -> int:
    eng = engine()

    def wait(ref: str) -> None:
        info = eng.wait(ref)
        print(info.state.exit_code if info.state and info.state.exit_code is not None else 0, flush=True)

    return each(operands, wait, echo=False)
