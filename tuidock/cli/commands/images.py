"""``tuidock images`` (``image ls``): images with docker's columns, filters and formats."""

from __future__ import annotations

import fnmatch
import time

from runtime.errors import InvalidArgument

from .. import format as fmt
from ..common import engine
from ..options import Command, opt

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from runtime.engine.imageops import Summary

COMMAND = Command("images", "[OPTIONS] [REPOSITORY[:TAG]]", "List images", [
    opt("-a, --all", help="Show all images (default hides intermediate images)"),
    opt("-q, --quiet", help="Only show image IDs"),
    opt("-f, --filter", kind="list", help="Filter output (dangling=true|false, reference=, label=, before=, since=)"),
    opt("--format", kind="str", help="Format output: table, json, table TEMPLATE, or a Go template"),
    opt("--no-trunc", help="Don't truncate output"),
    opt("--digests", help="Show digests"),
], max_args=1, aliases=("image ls", "image list"))

HEADERS = {"Repository": "REPOSITORY", "Tag": "TAG", "Digest": "DIGEST", "ID": "IMAGE ID",
           "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "Size": "SIZE", "Containers": "CONTAINERS",
           "VirtualSize": "VIRTUAL SIZE", "SharedSize": "SHARED SIZE", "UniqueSize": "UNIQUE SIZE"}
FILTERS = ("dangling", "reference", "label", "before", "since")


def parse_filters(items: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or key not in FILTERS:
            raise InvalidArgument(f"invalid filter '{item}'")
        if key == "dangling" and value.lower() not in ("true", "false", "1", "0"):
            raise InvalidArgument(f"invalid filter 'dangling={value}': must be true or false")
        out.setdefault(key, []).append(value)
    return out


def reference_match(pattern: str, repository: str, tag: str) -> bool:
    """docker's reference filter: a path.Match pattern against ``repo`` or ``repo:tag``."""
    def match(name: str) -> bool:
        return fnmatch.fnmatchcase(name, pattern) and fnmatch.fnmatchcase(name.count("/") * "/", pattern.count("/") * "/")

    return match(repository) or (bool(tag) and match(f"{repository}:{tag}"))


def rows(summaries: list[Summary], flt: dict[str, list[str]], show_all: bool, eng: Any) -> list[tuple[Summary, str, str]]:
    """(image, repository, tag) rows: one per tag, or one ``<none>`` row for an untagged image."""
    from runtime.engine.imageops import timestamp
    from runtime.images import reference

    bounds: dict[str, float] = {}
    for key in ("before", "since"):
        for v in flt.get(key, []):
            img = eng.images.get(v)
            bounds[key] = timestamp(img.created)
    out = []
    for s in summaries:
        img = s.image
        if "dangling" in flt:
            want = flt["dangling"][-1].lower() in ("true", "1")
            if want != s.dangling:
                continue
        elif s.intermediate and not show_all:
            continue
        labels = (img.raw_config.get("config") or {}).get("Labels") or {}
        if any(not (lbl.partition("=")[0] in labels and ("=" not in lbl or labels[lbl.partition("=")[0]] ==
                                                         lbl.partition("=")[2])) for lbl in flt.get("label", [])):
            continue
        created = timestamp(img.created)
        if "before" in bounds and not created < bounds["before"]:
            continue
        if "since" in bounds and not created > bounds["since"]:
            continue
        tags = [(reference.parse(t).repository, reference.parse(t).tag or "<none>") for t in img.repo_tags]
        if "reference" in flt:
            tags = [(r, t) for r, t in tags if any(reference_match(p, r, t) for p in flt["reference"])]
            if not tags:
                continue
        for repo, tag in tags or [("<none>", "<none>")]:
            out.append((s, repo, tag))
    return out


def execute(values: dict[str, Any], operands: list[str]) -> int:
    from runtime.engine import imageops

    flt = parse_filters(values["filter"])
    if operands:
        flt.setdefault("reference", []).append(operands[0])
    eng = engine()
    table = rows(eng.image_summaries(), flt, values["all"], eng)
    no_trunc = values["no_trunc"]

    def image_id(s: Summary) -> str:
        return s.image.id if no_trunc else s.image.short_id

    if values["quiet"]:
        seen: list[str] = []
        for s, _, _ in table:
            if image_id(s) not in seen:
                seen.append(image_id(s))
        print("".join(i + "\n" for i in seen), end="")
        return 0
    now = time.time()
    objs = []
    for s, repo, tag in table:
        size = fmt.human_size(s.size)
        created = imageops.timestamp(s.image.created)
        objs.append({
            "Repository": repo, "Tag": tag, "ID": image_id(s),
            "Digest": s.image.manifest_digest if repo != "<none>" else "<none>",
            "CreatedSince": fmt.human_duration(now - created) + " ago" if created else "N/A",
            "CreatedAt": time.strftime("%Y-%m-%d %H:%M:%S +0000 UTC", time.gmtime(created)),
            "Size": size, "VirtualSize": size, "SharedSize": "N/A", "UniqueSize": "N/A",
            "Containers": str(s.used_by),
        })
    form = values["format"]
    if form and form != "table":
        print(fmt.format_rows(form, objs, HEADERS), end="")
        return 0
    cols = ["Repository", "Tag"] + (["Digest"] if values["digests"] else []) + ["ID", "CreatedSince", "Size"]
    print(fmt.table([HEADERS[c] for c in cols], [[o[c] for c in cols] for o in objs]), end="")
    return 0
