"""``tuidock run``: create and start a container, attached or detached.

This path stays thin (see :mod:`runtime.client`): parse, send, relay.
"""

from __future__ import annotations

import os
import sys

from runtime import client

from .. import eprint
from ..options import Command
from ..runflags import client_values, options

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


def relay_to_exit(conn: Any, cid: str, *, interactive: bool, tty: bool, detach_keys: str | None,
                  sig_proxy: bool) -> int:
    """Relay an attached session; the container's exit code, or 0 after a detach."""
    # Imported only now: the container is being created meanwhile.
    import signal

    from runtime import attach

    keys = attach.parse_detach_keys(detach_keys if detach_keys is not None else attach.DEFAULT_DETACH_KEYS)
    old: dict[int, Any] = {}
    if sig_proxy:
        # docker's --sig-proxy: signals this command receives go to the container.
        def forward(signum: int, _frame: Any) -> None:
            try:
                conn.request("kill", signal=signum)
            except OSError:
                pass

        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2):
            old[sig] = signal.signal(sig, forward)
    try:
        result = attach.relay(conn, stdin=interactive, tty_mode=tty, detach_keys=keys)
    finally:
        for signum, handler in old.items():
            signal.signal(signum, handler)
        conn.close()
    if result.detached:
        if tty:
            sys.stderr.write("\r\n")
        return 0
    if result.exit_code is None:
        eprint(f"container {cid[:12]}: lost the connection to its monitor")
        return 125
    return int(result.exit_code)
