"""``tuidock import``: a root file system tarball (a file or ``-`` for STDIN) as a one-layer image."""

from __future__ import annotations

import sys

from runtime.errors import InvalidArgument, NotFound

from ..common import engine
from ..options import Command, opt

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

COMMAND = Command("import", "[OPTIONS] file|-  [REPOSITORY[:TAG]]",
                  "Import the contents from a tarball to create a filesystem image", [
                      opt("-c, --change", kind="list", help="Apply Dockerfile instruction to the created image"),
                      opt("-m, --message", kind="str", default="", help="Set commit message for imported image"),
                      opt("--platform", kind="str", help="Set platform (only this machine's is supported)"),
                  ], min_args=1, max_args=2, aliases=("image import",))


def execute(values: dict[str, Any], operands: list[str]) -> int:
    src = operands[0]
    tags = operands[1:]
    if "://" in src:
        raise InvalidArgument(f"import {src}: importing from a URL is not supported (no network): download it first")
    eng = engine()
    if src == "-":
        img = eng.import_image(sys.stdin.buffer, tags, changes=values["change"], message=values["message"], source="-")
    else:
        try:
            f = open(src, "rb")
        except FileNotFoundError:
            raise NotFound(f"open {src}: no such file or directory") from None
        with f:
            img = eng.import_image(f, tags, changes=values["change"], message=values["message"], source=src)
    print(img.id)
    return 0
