"""``tuidock save``: images as a docker-archive tar (to ``-o FILE`` or standard output)."""

from __future__ import annotations

import os
import sys

from runtime.errors import InvalidArgument

from ..common import engine
from ..options import Command, opt

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

COMMAND = Command("save", "[OPTIONS] IMAGE [IMAGE...]",
                  "Save one or more images to a tar archive (streamed to STDOUT by default)", [
                      opt("-o, --output", kind="str", help="Write to a file, instead of STDOUT"),
                  ], min_args=1, aliases=("image save",))


def execute(values: dict[str, Any], operands: list[str]) -> int:
    eng = engine()
    path = values["output"]
    if not path:
        if os.isatty(1):
            raise InvalidArgument("cowardly refusing to save to a terminal. Use the -o flag or redirect")
        eng.save_images(operands, sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return 0
    # Written beside the target and renamed: a failed save leaves no half-written file.
    tmp = f"{path}.tuidock-{os.getpid()}.tmp"
    try:
        with open(tmp, "wb") as f:
            eng.save_images(operands, f)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return 0
