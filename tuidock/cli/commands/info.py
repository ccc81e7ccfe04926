"""``tuidock info``: the same as ``tuidock system info``."""

from __future__ import annotations

from ..options import Command, opt
from . import system

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

COMMAND = Command("info", "[OPTIONS]", "Display system-wide information", [
    opt("-f, --format", dest="format", kind="str", help="Format the output using a Go template, or json"),
], max_args=0)


def execute(values: dict[str, Any], operands: list[str]) -> int:
    return system.execute({"format": values["format"], "force": False, "all": False}, ["info"])
