"""``tuidock create``: a container configured and ready to start; nothing runs yet."""

from __future__ import annotations

from runtime.engine.engine import Engine
from runtime.engine.runflags import to_options

from .. import eprint
from ..options import Command
from ..runflags import client_values, options

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

COMMAND = Command("create", "[OPTIONS] IMAGE [COMMAND] [ARG...]", "Create a new container",
                  options(exclude=("detach", "sig_proxy", "detach_keys")), min_args=1, interspersed=False)


def execute(values: dict[str, Any], operands: list[str]) -> int:
    opts = to_options(client_values(values), operands)
    engine = Engine()
    notice = engine.setup()
    if notice:
        eprint(notice)
    print(engine.create(opts).id)
    return 0
