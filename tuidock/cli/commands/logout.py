"""``tuidock logout``: forget a registry's credentials in docker's config.json."""

from __future__ import annotations

from ..common import engine
from ..options import Command

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

COMMAND = Command("logout", "[SERVER]", "Log out from a registry (default: Docker Hub)", max_args=1)


def execute(values: dict[str, Any], operands: list[str]) -> int:
    from runtime.images import regconfig

    server = operands[0] if operands else regconfig.DOCKER_HUB
    shown = regconfig.auth_key(regconfig.normalise_key(server))
    if engine().logout(server):
        print(f"Removing login credentials for {shown}")
    else:
        print(f"Not logged in to {shown}")
    return 0
