"""``tuidock volume inspect``: docker's JSON for volumes, or a ``--format`` template of it."""

from __future__ import annotations

import json

from runtime.errors import TuidockError

from ... import eprint
from ...common import engine
from ...gotemplate import render
from ...options import Command, opt

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

COMMAND = Command("volume inspect", "[OPTIONS] VOLUME [VOLUME...]", "Display detailed information on one or more volumes", [
    opt("-f, --format", dest="format", kind="str", help="Format output using a Go template"),
], min_args=1)


def execute(values: dict[str, Any], operands: list[str]) -> int:
    eng = engine()
    objs = []
    failed = 0
    for name in operands:
        try:
            objs.append(eng.volume_inspect(name))
        except TuidockError as e:
            eprint(str(e))
            failed = e.exit_code
    if values["format"]:
        for o in objs:
            print(render(values["format"], o))
    else:
        print(json.dumps(objs, indent=4))
    return failed
