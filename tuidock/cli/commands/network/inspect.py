"""``tuidock network inspect``: docker's JSON for networks, or a ``--format`` template of it."""

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

COMMAND = Command("network inspect", "[OPTIONS] NETWORK [NETWORK...]",
                  "Display detailed information on one or more networks", [
                      opt("-f, --format", dest="format", kind="str", help="Format output using a Go template"),
                  ], min_args=1)


def execute(values: dict[str, Any], operands: list[str]) -> int:
    eng = engine()
    nets = eng.networks
    pseudo = {n.name: n for n in nets.all() if n.driver != "bridge"}
    running = eng.containers(all=False)
    objs = []
    failed = 0
    for ref in operands:
        try:
            net = pseudo.get(ref) or nets.get(ref)
            objs.append(nets.inspect(nets.info(net, running)))
        except TuidockError as e:
            eprint(str(e))
            failed = e.exit_code
    if values["format"]:
        for o in objs:
            print(render(values["format"], o))
    else:
        print(json.dumps(objs, indent=4))
    return failed
