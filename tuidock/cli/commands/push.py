"""``tuidock push``: an image from the store to a registry, with docker's progress output."""

from __future__ import annotations

import sys

from ..common import cancellable, engine
from ..options import Command, opt
from .pull import tls_verify

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

COMMAND = Command("push", "[OPTIONS] NAME[:TAG]", "Upload an image to a registry", [
    opt("-q, --quiet", help="Suppress verbose output"),
    opt("--tls-verify", default="", help="Require HTTPS and verify certificates (false: allow an insecure registry)"),
], min_args=1, max_args=1)


def execute(values: dict[str, Any], operands: list[str]) -> int:
    from ..progress import Renderer

    eng = engine()
    progress = None if values["quiet"] else Renderer(sys.stdout)
    result = cancellable(lambda cancel: eng.push(operands[0], tls_verify=tls_verify(values), progress=progress,
                                                 cancel=cancel))
    if values["quiet"]:
        print(result.reference)
    return 0
