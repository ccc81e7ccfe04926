"""``tuidock ps``: list containers with docker's columns, filters and formats."""

from __future__ import annotations

import re
import time

from runtime.errors import InvalidArgument

from .. import format as fmt
from ..common import engine
from ..options import Command, opt

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from runtime.engine.model import ContainerInfo

COMMAND = Command("ps", "[OPTIONS]", "List containers", [
    opt("-a, --all", help="Show all containers (default shows just running)"),
    opt("-q, --quiet", help="Only display container IDs"),
    opt("-f, --filter", kind="list", help="Filter output based on conditions provided (status=, name=, label=, id=, ancestor=, exited=)"),
    opt("--format", kind="str", help="Format output: table, json, table TEMPLATE, or a Go template"),
    opt("--no-trunc", help="Don't truncate output"),
    opt("-n, --last", dest="last", kind="int", default=-1, help="Show n last created containers (includes all states)"),
    opt("-l, --latest", help="Show the latest created container (includes all states)"),
    opt("-s, --size", help="Display total file sizes"),
], max_args=0, aliases=("container ls", "container list"))

HEADERS = {"ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "RunningFor": "CREATED",
           "Status": "STATUS", "Ports": "PORTS", "Names": "NAMES", "Size": "SIZE", "State": "STATE",
           "CreatedAt": "CREATED AT", "Labels": "LABELS", "Mounts": "MOUNTS", "Networks": "NETWORKS"}
STATUSES = {"created", "restarting", "running", "removing", "paused", "exited", "dead"}


def parse_filters(items: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or key not in ("status", "name", "label", "id", "ancestor", "exited"):
            raise InvalidArgument(f"invalid filter '{item}'")
        if key == "status" and value not in STATUSES:
            raise InvalidArgument(f"invalid filter 'status={value}': one of {', '.join(sorted(STATUSES))}")
        out.setdefault(key, []).append(value)
    return out


def matches(info: ContainerInfo, flt: dict[str, list[str]], image_ids: dict[str, str]) -> bool:
    rec = info.record
    tests: dict[str, Any] = {
        "status": lambda v: info.status.value == v,
        "name": lambda v: re.search(v, rec.name) is not None,
        "id": lambda v: rec.id.startswith(v),
        "label": lambda v: (v.partition("=")[0] in rec.config.labels and
                            ("=" not in v or rec.config.labels[v.partition("=")[0]] == v.partition("=")[2])),
        "ancestor": lambda v: rec.config.image == v or rec.image_id == image_ids.get(v, "-") or rec.image_id.startswith("sha256:" + v),
        "exited": lambda v: info.status.value == "exited" and info.state is not None and str(info.state.exit_code) == v,
    }
    return all(any(tests[k](v) for v in vals) for k, vals in flt.items())


def ports_text(info: ContainerInfo, eng: Any) -> str:
    """docker's PORTS: the published ports as really bound, then exposed ones not published (running only)."""
    if not info.status.is_up():
        return ""
    published = eng.published_ports(info)
    seen = {f"{p.container_port}/{p.protocol}" for p in published}
    return ", ".join([f"{p.host_ip or '0.0.0.0'}:{p.host_port}->{p.container_port}/{p.protocol}" for p in published]
                     + [e for e in info.record.config.exposed_ports if e not in seen])


def row(info: ContainerInfo, eng: Any, no_trunc: bool, size: bool, now: float) -> dict[str, Any]:
    rec = info.record
    cfg = rec.config
    ports = ports_text(info, eng)
    out = {
        "ID": rec.id if no_trunc else rec.short_id,
        "Image": cfg.image,
        "Command": fmt.command_text(cfg.entrypoint + cfg.cmd, trunc=not no_trunc),
        "CreatedAt": time.strftime("%Y-%m-%d %H:%M:%S +0000 UTC", time.gmtime(rec.created_ns / 1e9)),
        "RunningFor": fmt.ago(rec.created_ns, now),
        "Ports": ports,
        "State": info.status.value,
        "Status": fmt.status_text(info, now),
        "Names": rec.name,
        "Labels": ",".join(f"{k}={v}" for k, v in sorted(cfg.labels.items())),
        "Mounts": ",".join(m.source or m.target for m in rec.host.mounts),
        "Networks": rec.host.network,
        "LocalVolumes": str(sum(1 for m in rec.host.mounts if m.type == "volume")),
        "Size": "",
    }
    if size:
        from runtime.engine.engine import dir_size

        out["Size"] = fmt.human_size(dir_size(eng.paths(rec.id).upper))
    return out


def execute(values: dict[str, Any], operands: list[str]) -> int:
    flt = parse_filters(values["filter"])
    eng = engine()
    last = values["last"]
    show_all = values["all"] or last >= 0 or values["latest"] or bool(flt)
    infos = eng.containers(all=show_all)
    if last >= 0 or values["latest"]:
        infos = infos[: (1 if values["latest"] else last)]
    image_ids = {}
    for v in flt.get("ancestor", []):
        img = eng.images.find(v)
        if img is not None:
            image_ids[v] = img.id
    infos = [i for i in infos if matches(i, flt, image_ids)]
    if values["quiet"]:
        print("".join((i.id if values["no_trunc"] else i.record.short_id) + "\n" for i in infos), end="")
        return 0
    now = time.time()
    rows = [row(i, eng, values["no_trunc"], values["size"], now) for i in infos]
    form = values["format"]
    if form and form != "table":
        print(fmt.format_rows(form, rows, HEADERS), end="")
        return 0
    cols = ["ID", "Image", "Command", "RunningFor", "Status", "Ports", "Names"] + (["Size"] if values["size"] else [])
    print(fmt.table([HEADERS[c] for c in cols], [[r[c] for c in cols] for r in rows]), end="")
    return 0
