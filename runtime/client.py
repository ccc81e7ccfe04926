"""The thin client of ``run`` and ``start``: a request to the fork server, nothing more.

Creating and starting a container needs the image store, the spec generator
and the mount planner: a few thousand lines that take tens of milliseconds to
import. The fork server has them imported already, so ``tuidock run`` sends
its options as JSON and the forked process creates the container, then stays
on as its monitor. This module imports only what that conversation needs; the
CLI's start-up is part of every container start.
"""

from __future__ import annotations

import os

from . import control, launch

TYPE_CHECKING = False  # typing stays out of this module's imports
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

DEFAULT_ROOT = "/var/lib/tuidock"
DEFAULT_CGROUP_PARENT = "/tuidock"


def terminal_size(fd: int) -> tuple[int, int] | None:
    """The size of the terminal on ``fd`` as (rows, columns), or None."""
    try:
        size = os.get_terminal_size(fd)
    except OSError:
        return None
    return (size.lines, size.columns) if size.lines and size.columns else None


def root_dir(root: str | None = None) -> str:
    return os.path.abspath(root or os.environ.get("TUIDOCK_ROOT") or DEFAULT_ROOT)


def cgroup_parent(parent: str | None = None) -> str:
    return parent or os.environ.get("TUIDOCK_CGROUP_PARENT") or DEFAULT_CGROUP_PARENT


def _ensure_root(root: str) -> str:
    run_dir = os.path.join(root, "run")
    if not os.path.isdir(run_dir):
        os.makedirs(run_dir, mode=0o700, exist_ok=True)
        os.chmod(root, 0o700)
    return run_dir


def _spawn(root: str, parent: str, request: dict[str, Any]) -> tuple[control.Connection, dict[str, Any]]:
    run_dir = _ensure_root(root)
    # The default network's bridge and subnet travel with the request, like the
    # cgroup parent: the fork server was started with a minimal environment.
    net_env = {k: os.environ[k] for k in ("TUIDOCK_BRIDGE", "TUIDOCK_SUBNET") if k in os.environ}
    conn = launch.spawn_monitor(run_dir, {"root": root, "cgroup_parent": parent, "network_env": net_env, **request})
    try:
        reply = conn.reply()
    except BaseException:
        # The monitor finishes its clean-up (--rm included) before it hangs
        # up: wait for that, so the error is the last thing that happens.
        conn.drain(timeout=30)
        conn.close()
        raise
    return conn, reply


def run(options: dict[str, Any], *, root: str | None = None, parent: str | None = None, attach: dict[str, Any] | None = None,
        console_size: tuple[int, int] | None = None) -> tuple[control.Connection, dict[str, Any]]:
    """Create and start a container from ``RunOptions`` in JSON form.

    Returns the monitor connection (attached if ``attach`` is given) and its
    reply: ``{"id", "started" (pid), "notice"?}``.
    """
    return _spawn(root_dir(root), cgroup_parent(parent), {
        "engine": "run", "options": options, "attach": attach,
        "console_size": list(console_size) if console_size else None,
    })


def start(ref: str, *, root: str | None = None, parent: str | None = None, attach: dict[str, Any] | None = None,
          console_size: tuple[int, int] | None = None) -> tuple[control.Connection, dict[str, Any]]:
    """Start a created or exited container by name or id."""
    return _spawn(root_dir(root), cgroup_parent(parent), {
        "engine": "start", "ref": ref, "attach": attach,
        "console_size": list(console_size) if console_size else None,
    })


def run_flags(request: dict[str, Any], *, root: str | None = None, parent: str | None = None, attach: dict[str, Any] | None = None,
              console_size: tuple[int, int] | None = None) -> tuple[control.Connection, dict[str, Any]]:
    """Like :func:`run`, from parsed command-line flags (``{"flags": ..., "operands": [...]}``)."""
    return _spawn(root_dir(root), cgroup_parent(parent), {
        "engine": "run", **request, "attach": attach,
        "console_size": list(console_size) if console_size else None,
    })


def exec_(ref: str, args: list[str], *, tty: bool = False, interactive: bool = False, env: list[str] | None = None,
          workdir: str | None = None, user: str | None = None, detach: bool = False,
          console_size: tuple[int, int] | None = None, root: str | None = None,
          parent: str | None = None, while_waiting: Callable[[], object] | None = None,
          ) -> tuple[control.Connection, dict[str, Any]]:
    """Start a process in a running container (``docker exec``); the connection relays it.

    ``while_waiting`` runs once the request is sent, while the server joins
    the container (a command imports what its relay needs then, off the
    critical path).
    """
    r = root_dir(root)
    conn = launch.spawn_monitor(_ensure_root(r), {
        "op": "exec", "root": r, "cgroup_parent": cgroup_parent(parent), "ref": ref, "args": args, "tty": tty,
        "interactive": interactive, "env": env or [], "workdir": workdir, "user": user, "detach": detach,
        "console_size": list(console_size) if console_size else None,
    })
    try:
        if while_waiting is not None:
            while_waiting()
        reply = conn.reply()
    except BaseException:
        conn.close()
        raise
    return conn, reply
