"""``tuidock start``: start stopped containers (``-a`` attaches to one)."""

from __future__ import annotations

from runtime import client

from ..common import each, engine
from ..options import Command, opt

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

COMMAND = Command("start", "[OPTIONS] CONTAINER [CONTAINER...]", "Start one or more stopped containers", [
    opt("-a, --attach", help="Attach STDOUT/STDERR and forward signals"),
    opt("-i, --interactive", help="Attach container's STDIN"),
    opt("--detach-keys", kind="str", help="Override the key sequence for detaching a container"),
], min_args=1)


def execute(values: dict[str, Any], operands: list[str]) -> int:
    eng = engine()
    if values["attach"] or values["interactive"]:
        if len(operands) > 1:
            from runtime.errors import InvalidArgument

            raise InvalidArgument("you cannot start and attach multiple containers at once")
        from ..session import relay_to_exit

        info = eng.get(operands[0])
        cfg = info.record.config
        stdin = values["interactive"] and cfg.open_stdin
        conn, reply = client.start(operands[0], root=eng.root, parent=eng.cgroup_parent, attach={"stdin": stdin},
                                   console_size=client.terminal_size(0) if cfg.tty else None)
        return relay_to_exit(conn, reply["id"], interactive=stdin, tty=cfg.tty, detach_keys=values["detach_keys"],
                             sig_proxy=not cfg.tty)
    return each(operands, lambda ref: eng.start(ref).close())
