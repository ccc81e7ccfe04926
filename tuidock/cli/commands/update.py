"""``tuidock update``: change a container's limits (and restart policy), live and for later starts."""

from __future__ import annotations

from runtime.engine.flags.resources import FLAGS, UPDATE_EXCLUDE
from runtime.errors import InvalidArgument

from ..common import each, engine
from ..options import Command, opt

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

COMMAND = Command(
    "update", "[OPTIONS] CONTAINER [CONTAINER...]", "Update configuration of one or more containers",
    [opt(names, dest, kind, help) for names, dest, kind, help in FLAGS if dest not in UPDATE_EXCLUDE]
    + [opt("--restart", kind="str", help="Restart policy to apply when a container exits")],
    min_args=1, aliases=("container update",))


def execute(values: dict[str, Any], operands: list[str]) -> int:
    from runtime.cgroups.resources import Resources
    from runtime.engine.limits import from_flags
    from runtime.engine.model import RestartPolicy

    change = from_flags(values, update=True)
    restart = RestartPolicy.parse(values["restart"]) if values["restart"] else None
    if change == Resources() and restart is None:
        raise InvalidArgument("you must provide one or more flags when using this command")
    eng = engine()
    return each(operands, lambda ref: eng.update(ref, change, restart))
