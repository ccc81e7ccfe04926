"""``tuidock network ls``: networks with docker's columns, filters and formats."""

from __future__ import annotations

import re

from runtime.errors import InvalidArgument

from ... import format as fmt
from ...common import engine
from ...options import Command, opt

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from runtime.net.store import Network

COMMAND = Command("network ls", "[OPTIONS]", "List networks", [
    opt("-q, --quiet", help="Only display network IDs"),
    opt("-f, --filter", kind="list", help="Provide filter values (name=, id=, driver=, label=)"),
    opt("--format", kind="str", help="Format output: table, json, table TEMPLATE, or a Go template"),
    opt("--no-trunc", help="Do not truncate the output"),
], max_args=0, aliases=("network list",))

HEADERS = {"ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE", "Subnet": "SUBNET",
           "Gateway": "GATEWAY", "Bridge": "BRIDGE", "Labels": "LABELS", "CreatedAt": "CREATED AT"}
FILTERS = ("name", "id", "driver", "label")


def parse_filters(items: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or key not in FILTERS:
            raise InvalidArgument(f"invalid filter '{item}' (name=, id=, driver=, label=)")
        out.setdefault(key, []).append(value)
    return out


def matches(n: Network, key: str, value: str) -> bool:
    if key == "name":
        return re.search(value, n.name) is not None
    if key == "id":
        return n.id.startswith(value)
    if key == "driver":
        return n.driver == value
    k, sep, v = value.partition("=")
    return k in n.labels and (not sep or n.labels[k] == v)


def execute(values: dict[str, Any], operands: list[str]) -> int:
    import time

    flt = parse_filters(values["filter"])
    rows = []
    for n in engine().networks.all():
        if not all(any(matches(n, k, x) for x in xs) for k, xs in flt.items()):
            continue
        rows.append({"ID": n.id if values["no_trunc"] else n.short_id, "Name": n.name, "Driver": n.driver,
                     "Scope": "local", "Subnet": n.subnet, "Gateway": n.gateway, "Bridge": n.bridge,
                     "Labels": ",".join(f"{k}={v}" for k, v in sorted(n.labels.items())),
                     "CreatedAt": time.strftime("%Y-%m-%d %H:%M:%S +0000 UTC", time.gmtime(n.created_ns / 1e9))
                     if n.created_ns else ""})
    if values["quiet"]:
        print("".join(r["ID"] + "\n" for r in rows), end="")
        return 0
    form = values["format"]
    if form and form != "table":
        print(fmt.format_rows(form, rows, HEADERS), end="")
        return 0
    cols = ["ID", "Name", "Driver", "Scope"]
    print(fmt.table([HEADERS[c] for c in cols], [[r[c] for c in cols] for r in rows]), end="")
    return 0
