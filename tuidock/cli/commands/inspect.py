"""``tuidock inspect``: docker's JSON for containers and images, or a ``--format`` template of it."""

from __future__ import annotations

from runtime.errors import NotFound

from .. import eprint
from .. import format as fmt
from ..common import engine
from ..options import Command, opt

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

COMMAND = Command("inspect", "[OPTIONS] NAME|ID [NAME|ID...]", "Return low-level information on containers or images", [
    opt("-f, --format", dest="format", kind="str", help="Format output using a Go template"),
    opt("--type", kind="str", help="Only inspect objects of the given type (container or image)"),
    opt("-s, --size", help="Display total file sizes if the type is container"),
], min_args=1)


def execute(values: dict[str, Any], operands: list[str]) -> int:
    eng = engine()
    kind = values["type"]
    objs = []
    failed = 0
    for ref in operands:
        obj = None
        if kind in (None, "container"):
            try:
                obj = eng.inspect_container(ref)
            except NotFound:
                obj = None
        if obj is None and kind in (None, "image"):
            img = eng.images.find(ref) if not ref.startswith("-") else None
            if img is not None:
                obj = eng.inspect_image(img)
        if obj is None:
            what = kind or "object"
            eprint(f"no such {what}: {ref}")
            failed = 125
            continue
        objs.append(obj)
    print(fmt.inspect_output(objs, values["format"]), end="")
    return failed
