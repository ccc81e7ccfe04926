"""``tuidock exec``: run a command in a running container, joined to it with setns(2)."""

from __future__ import annotations

from runtime import client

from ..options import Command, opt
from ..runflags import read_env_file, resolve_env
from ..session import relay_to_exit, warm

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

COMMAND = Command("exec", "[OPTIONS] CONTAINER COMMAND [ARG...]", "Execute a command in a running container", [
    opt("-d, --detach", help="Detached mode: run command in the background"),
    opt("-i, --interactive", help="Keep STDIN open even if not attached"),
    opt("-t, --tty", help="Allocate a pseudo-TTY"),
    opt("-e, --env", kind="list", help="Set environment variables"),
    opt("--env-file", kind="list", help="Read in a file of environment variables"),
    opt("-w, --workdir", kind="str", help="Working directory inside the container"),
    opt("-u, --user", kind="str", help="Username or UID (format: <name|uid>[:<group|gid>])"),
    opt("--detach-keys", kind="str", help="Override the key sequence for detaching a container"),
], min_args=2, interspersed=False)


def execute(values: dict[str, Any], operands: list[str]) -> int:
    env: list[str] = []
    for f in values["env_file"]:
        env += read_env_file(f)
    env = resolve_env(env + values["env"])
    tty = bool(values["tty"])
    conn, reply = client.exec_(operands[0], operands[1:], tty=tty, interactive=bool(values["interactive"]),
                               env=env, workdir=values["workdir"], user=values["user"], detach=values["detach"],
                               console_size=client.terminal_size(0) if tty else None,
                               while_waiting=None if values["detach"] else warm)
    if values["detach"]:
        conn.close()
        return 0
    return relay_to_exit(conn, operands[0], interactive=bool(values["interactive"]), tty=tty,
                         detach_keys=values["detach_keys"], sig_proxy=True)
