"""``tuidock volume inspect``: docker's JSON for volumes, or a ``--format`` template of it."""

from __future__ import annotations

from ... import format as fmt
from ...common import each, engine
from ...options import Command, opt

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

COMMAND = Command("volume inspect", "[OPTIONS] VOLUME [VOLUME...]", "Display detailed information on one or more volumes", [
    opt("-f, --format", dest="format", kind="str", help="Format output using a Go template"),
], min_args=1)


def execute(values: dict[str, Any], operands: list[str]) -> int:
    eng = engine()
    objs: list[dict[str, Any]] = []
    failed = each(operands, lambda name: objs.append(eng.volume_inspect(name)), echo=False)
    print(fmt.inspect_output(objs, values["format"]), end="")
    return failed
