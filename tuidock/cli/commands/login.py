"""``tuidock login``: check credentials with a registry and keep them in docker's config.json."""

from __future__ import annotations

import sys

from runtime.errors import InvalidArgument

from ..common import engine
from ..options import Command, opt
from .pull import tls_verify

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

COMMAND = Command("login", "[OPTIONS] [SERVER]", "Log in to a registry (default: Docker Hub)", [
    opt("-u, --username", kind="str", help="Username"),
    opt("-p, --password", kind="str", help="Password"),
    opt("--password-stdin", help="Take the password from stdin"),
    opt("--tls-verify", default="", help="Require HTTPS and verify certificates (false: allow an insecure registry)"),
], max_args=1)


def execute(values: dict[str, Any], operands: list[str]) -> int:
    from runtime.images import regconfig

    server = operands[0] if operands else regconfig.DOCKER_HUB
    user, password = values["username"], values["password"]
    if password is not None and values["password_stdin"]:
        raise InvalidArgument("--password and --password-stdin are mutually exclusive")
    if values["password_stdin"]:
        if not user:
            raise InvalidArgument("must provide --username with --password-stdin")
        password = sys.stdin.read().rstrip("\r\n")
    elif password is not None:
        sys.stderr.write("WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n")
    if not user:
        if not sys.stdin.isatty():
            raise InvalidArgument("cannot perform an interactive login from a non TTY device")
        sys.stdout.write("Username: ")
        sys.stdout.flush()
        user = sys.stdin.readline().strip()
    if password is None:
        if not sys.stdin.isatty():
            raise InvalidArgument("cannot perform an interactive login from a non TTY device")
        import getpass

        password = getpass.getpass("Password: ")
    if not user or not password:
        raise InvalidArgument("login: username and password are required")
    engine().login(server, user, password, tls_verify=tls_verify(values))
    sys.stderr.write(f"WARNING! Your password will be stored unencrypted in {regconfig.docker_config_path()}.\n")
    print("Login Succeeded")
    return 0
