"""An attached session from the terminal's side: relay until exit or detach (run, start -a, attach, exec)."""

from __future__ import annotations

import os
import sys

from . import eprint

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def warm() -> None:
    """Import what :func:`relay_to_exit` needs (~5 ms), while a server works on the request just sent."""
    import signal  # noqa: F401

    from runtime import attach  # noqa: F401

    from .. import config  # noqa: F401


def relay_to_exit(conn: Any, cid: str, *, interactive: bool, tty: bool, detach_keys: str | None,
                  sig_proxy: bool) -> int:
    """Relay an attached session; the process's exit code, or 0 after a detach."""
    # Imported only now: for `run`, the container is being created meanwhile.
    import signal

    from runtime import attach

    from ..config import detach_keys as configured_keys

    keys = attach.parse_detach_keys(configured_keys(detach_keys))
    tty = tty and os.isatty(0)
    old: dict[int, Any] = {}
    if sig_proxy and not tty:
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
