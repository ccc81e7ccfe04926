"""``tuidock load``: images from a docker-archive or OCI layout tar (``-i FILE`` or standard input)."""

from __future__ import annotations

import os
import sys

from runtime.errors import InvalidArgument, NotFound

from ..common import engine
from ..options import Command, opt

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

COMMAND = Command("load", "[OPTIONS]", "Load an image from a tar archive or STDIN", [
    opt("-i, --input", kind="str", help="Read from tar archive file, instead of STDIN"),
    opt("-q, --quiet", help="Suppress the load output"),
], max_args=0, aliases=("image load",))


def execute(values: dict[str, Any], operands: list[str]) -> int:
    eng = engine()
    path = values["input"]
    if path:
        try:
            f = open(path, "rb")
        except FileNotFoundError:
            raise NotFound(f"open {path}: no such file or directory") from None
        with f:
            loaded = eng.load_images(f)
    else:
        if os.isatty(0):
            raise InvalidArgument("requested load from stdin, but stdin is empty")
        loaded = eng.load_images(sys.stdin.buffer)
    if not values["quiet"]:
        for item in loaded:
            for line in item.lines():
                print(line)
    return 0
