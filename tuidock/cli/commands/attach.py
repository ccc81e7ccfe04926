"""``tuidock attach``: connect this terminal to a running container's main process."""

from __future__ import annotations

from ..common import engine
from ..options import Command, opt
from ..session import relay_to_exit

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

COMMAND = Command("attach", "[OPTIONS] CONTAINER", "Attach local standard input, output, and error streams to a running container", [
    opt("--no-stdin", help="Do not attach STDIN"),
    opt("--detach-keys", kind="str", help="Override the key sequence for detaching a container"),
    opt("--sig-proxy", kind="bool", default=True, help="Proxy all received signals to the process (default true)"),
], min_args=1, max_args=1)


def execute(values: dict[str, Any], operands: list[str]) -> int:
    info, conn = engine().attach(operands[0], stdin=not values["no_stdin"])
    cfg = info.record.config
    return relay_to_exit(conn, info.id, interactive=cfg.open_stdin and not values["no_stdin"], tty=cfg.tty,
                         detach_keys=values["detach_keys"], sig_proxy=values["sig_proxy"])
