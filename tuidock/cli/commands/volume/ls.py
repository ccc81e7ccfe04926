"""``tuidock volume ls``: volumes with docker's columns, filters and formats."""

from __future__ import annotations

import re

from runtime.errors import InvalidArgument

from ... import format as fmt
from ...common import engine
from ...options import Command, opt

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from runtime.engine.volumes import Volume

COMMAND = Command("volume ls", "[OPTIONS]", "List volumes", [
    opt("-q, --quiet", help="Only display volume names"),
    opt("-f, --filter", kind="list", help="Provide filter values (dangling=true|false, name=, label=, driver=)"),
    opt("--format", kind="str", help="Format output: table, json, table TEMPLATE, or a Go template"),
], max_args=0, aliases=("volume list",))

HEADERS = {"Driver": "DRIVER", "Name": "VOLUME NAME", "Scope": "SCOPE", "Mountpoint": "MOUNTPOINT",
           "Labels": "LABELS", "Links": "LINKS", "Size": "SIZE"}


def parse_filters(items: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or key not in ("dangling", "name", "label", "driver"):
            raise InvalidArgument(f"invalid filter '{item}'")
        if key == "dangling" and value.lower() not in ("true", "false", "1", "0"):
            raise InvalidArgument(f"invalid filter 'dangling={value}': must be true or false")
        out.setdefault(key, []).append(value)
    return out


def matches(v: Volume, links: int, key: str, value: str) -> bool:
    from runtime.engine.volumes import labels_match

    if key == "dangling":
        return (links == 0) == (value.lower() in ("true", "1"))
    if key == "name":
        return re.search(value, v.name) is not None
    if key == "label":
        return labels_match(v.labels, (value,))
    return v.driver == value


def execute(values: dict[str, Any], operands: list[str]) -> int:
    flt = parse_filters(values["filter"])
    form = values["format"] or ""
    rows = []
    for u in engine().volume_usage(sizes="Size" in form):
        v = u.volume
        links = len({user.id for user in u.users})
        if not all(any(matches(v, links, k, x) for x in xs) for k, xs in flt.items()):
            continue
        rows.append({"Name": v.name, "Driver": v.driver, "Scope": "local", "Mountpoint": v.mountpoint,
                     "Labels": ",".join(f"{k}={val}" for k, val in sorted(v.labels.items())), "Links": str(links),
                     "Size": "N/A" if u.size is None else fmt.human_size(u.size)})
    if values["quiet"]:
        print("".join(r["Name"] + "\n" for r in rows), end="")
        return 0
    form = values["format"]
    if form and form != "table":
        print(fmt.format_rows(form, rows, HEADERS), end="")
        return 0
    print(fmt.table([HEADERS["Driver"], HEADERS["Name"]], [[r["Driver"], r["Name"]] for r in rows]), end="")
    return 0
