"""``tuidock run``: create and start a container, attached or detached.

This path stays thin (see :mod:`runtime.client`): parse, send, relay.
"""

from __future__ import annotations

import os

from runtime import client

from .. import eprint
from ..options import Command
from ..runflags import client_values, options
from ..session import relay_to_exit

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

COMMAND = Command("run", "[OPTIONS] IMAGE [COMMAND] [ARG...]", "Create and run a new container from an image",
                  options(), min_args=1, interspersed=False)


def execute(values: dict[str, Any], operands: list[str]) -> int:
    flags = client_values(values)
    request = {"flags": flags, "operands": operands}
    if values["detach"]:
        conn, reply = client.run_flags(request)
        conn.close()
        if reply.get("notice"):
            eprint(reply["notice"])
        print(reply["id"])
        return 0
    tty = bool(values["tty"])
    interactive = bool(values["interactive"])
    console = client.terminal_size(0) if tty else None
    conn, reply = client.run_flags(request, attach={"stdin": interactive}, console_size=console)
    if reply.get("notice"):
        eprint(reply["notice"])
    return relay_to_exit(conn, reply["id"], interactive=interactive, tty=tty,
                         detach_keys=values["detach_keys"], sig_proxy=values["sig_proxy"] and not (tty and os.isatty(0)))
