"""``tuidock volume create``: a named volume (or an anonymous one without a name); prints its name."""

from __future__ import annotations

from runtime.errors import InvalidArgument

from ...common import engine
from ...options import Command, opt

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

COMMAND = Command("volume create", "[OPTIONS] [VOLUME]", "Create a volume", [
    opt("-d, --driver", kind="str", default="local", help="Specify volume driver name (only local)"),
    opt("--label", kind="list", help="Set metadata for a volume"),
    opt("--name", kind="str", help="Specify volume name"),
], max_args=1)


def execute(values: dict[str, Any], operands: list[str]) -> int:
    from runtime.engine.runflags import parse_labels

    if values["driver"] != "local":
        raise InvalidArgument(f"volume driver {values['driver']!r}: not found (only \"local\" exists)")
    name = operands[0] if operands else values["name"]
    if operands and values["name"] and values["name"] != operands[0]:
        raise InvalidArgument("conflicting options: either specify --name or provide positional arg, not both")
    vol = engine().volume_create(name or None, parse_labels(values["label"]))
    print(vol.name)
    return 0
