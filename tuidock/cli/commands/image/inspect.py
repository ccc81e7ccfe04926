"""``tuidock image inspect``: docker's JSON for images only (``RootFS.Layers`` are diff ids)."""

from __future__ import annotations

from ... import eprint
from ... import format as fmt
from ...common import engine
from ...options import Command, opt

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

COMMAND = Command("image inspect", "[OPTIONS] IMAGE [IMAGE...]", "Display detailed information on one or more images", [
    opt("-f, --format", dest="format", kind="str", help="Format output using a Go template"),
], min_args=1)


def execute(values: dict[str, Any], operands: list[str]) -> int:
    eng = engine()
    objs = []
    failed = 0
    for ref in operands:
        img = eng.images.find(ref) if not ref.startswith("-") else None
        if img is None:
            eprint(f"no such image: {ref}")
            failed = 125
            continue
        objs.append(eng.inspect_image(img))
    print(fmt.inspect_output(objs, values["format"]), end="")
    return failed
