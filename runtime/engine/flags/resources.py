"""``run`` flags for resources (filled in by the resources work)."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..model import HostConfig

FLAGS: list[tuple[str, str, str, str]] = []
DEFAULTS: dict[str, Any] = {}
CLIENT_PATHS: tuple[str, ...] = ()


def apply(values: dict[str, Any], host: HostConfig) -> HostConfig:
    return host
