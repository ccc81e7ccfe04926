"""``tuidock history``: an image's steps, newest first (empty layers as 0B, as docker shows them)."""

from __future__ import annotations

import time

from .. import format as fmt
from ..common import engine
from ..options import Command, opt

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

COMMAND = Command("history", "[OPTIONS] IMAGE", "Show the history of an image", [
    opt("-H, --human", help="Print sizes and dates in human readable format (default true)", default=True),
    opt("--no-trunc", help="Don't truncate output"),
    opt("-q, --quiet", help="Only show image IDs"),
    opt("--format", kind="str", help="Format output: table, json, table TEMPLATE, or a Go template"),
], min_args=1, max_args=1, aliases=("image history",))

HEADERS = {"ID": "IMAGE", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "CreatedBy": "CREATED BY",
           "Size": "SIZE", "Comment": "COMMENT"}


def ellipsis(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def execute(values: dict[str, Any], operands: list[str]) -> int:
    from runtime.engine import imageops

    eng = engine()
    img = eng.images.get(operands[0])
    rows = imageops.history(eng, img)
    no_trunc, human = values["no_trunc"], values["human"]
    if values["quiet"]:
        for r in rows:
            print(r.image if no_trunc or r.image == "<missing>" else r.image[7:19])
        return 0
    now = time.time()
    objs = []
    for r in rows:
        created = imageops.timestamp(r.created)
        by = r.created_by.replace("\t", " ")
        objs.append({
            "ID": r.image if no_trunc or r.image == "<missing>" else r.image[7:19],
            "CreatedSince": (fmt.human_duration(now - created) + " ago" if created else "N/A") if human else r.created,
            "CreatedAt": r.created,
            "CreatedBy": by if no_trunc else ellipsis(by, 45),
            "Size": fmt.human_size(r.size) if human else str(r.size),
            "Comment": r.comment,
        })
    form = values["format"]
    if form and form != "table":
        print(fmt.format_rows(form, objs, HEADERS), end="")
        return 0
    cols = ["ID", "CreatedSince", "CreatedBy", "Size", "Comment"]
    print(fmt.table([HEADERS[c] for c in cols], [[o[c] for c in cols] for o in objs]), end="")
    return 0
