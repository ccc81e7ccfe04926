"""How docker prints things: durations, sizes, statuses, commands, aligned tables."""

from __future__ import annotations

import json
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from runtime.engine.model import ContainerInfo


def human_duration(seconds: float) -> str:
    """docker's (go-units) HumanDuration: "Less than a second", "About a minute", "3 hours"."""
    s = int(seconds)
    if s < 1:
        return "Less than a second"
    if s == 1:
        return "1 second"
    if s < 60:
        return f"{s} seconds"
    minutes = int(seconds / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(seconds / 3600 + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds / 3600 / 24 / 365)} years"


def human_size(n: float, precision: int = 4) -> str:
    """go-units HumanSizeWithPrecision: decimal units, ``precision`` significant digits.

    docker's HumanSize is precision 4 ("2.14MB", "712B"); ``docker stats`` uses 3 for I/O.
    """
    units = ["B", "kB", "MB", "GB", "TB", "PB"]
    i = 0
    while n >= 1000 and i < len(units) - 1:
        n /= 1000
        i += 1
    return f"{n:.{precision}g}{units[i]}"


def bytes_size(n: float) -> str:
    """Binary units as ``docker stats`` prints memory: "1.5MiB", "512KiB"."""
    units = ["B", "KiB", "MiB", "GiB", "TiB"]
    i = 0
    while n >= 1024 and i < len(units) - 1:
        n /= 1024
        i += 1
    return f"{n:.4g}{units[i]}" if i else f"{int(n)}B"


def ago(ns: int, now: float | None = None) -> str:
    return human_duration((now or time.time()) - ns / 1e9) + " ago"


def status_text(info: ContainerInfo, now: float | None = None) -> str:
    """``Up 3 minutes``, ``Exited (137) 2 seconds ago``, ``Created``, ``Up 5 seconds (Paused)``."""
    now = now or time.time()
    st, status = info.state, info.status.value
    if status == "created" or st is None:
        return "Created"
    if status == "restarting":
        return f"Restarting ({st.exit_code or 0}) {ago(st.finished_ns, now)}"
    if status in ("running", "paused"):
        text = f"Up {human_duration(now - st.started_ns / 1e9)}"
        return text + " (Paused)" if status == "paused" else text
    return f"Exited ({st.exit_code if st.exit_code is not None else 0}) {ago(st.finished_ns, now)}"


def command_text(args: Sequence[str], trunc: bool = True) -> str:
    """The COMMAND column: ``"sh -c 'exit 7'"``, cut to 20 characters with an ellipsis."""
    import shlex

    cmd = " ".join(a if a and all(c.isalnum() or c in "-_./=:@%+," for c in a) else shlex.quote(a) for a in args)
    if trunc and len(cmd) > 20:
        cmd = cmd[:19] + "…"
    return f'"{cmd}"'


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], pad: int = 3) -> str:
    """Columns aligned as docker's tabwriter does them (padding 3, the last column free)."""
    widths = [len(h) for h in headers]
    for r in rows:
        for i, cell in enumerate(r[:-1]):
            widths[i] = max(widths[i], len(cell))
    lines = []
    for r in [list(headers), *rows]:
        parts = [cell.ljust(widths[i] + pad) for i, cell in enumerate(r[:-1])] + [r[-1]]
        lines.append("".join(parts).rstrip())
    return "\n".join(lines) + "\n"


def format_rows(fmt: str, objects: Sequence[dict[str, Any]], headers: dict[str, str]) -> str:
    """``--format``: ``json``, ``table TEMPLATE`` (with headers) or a bare template per object."""
    from .gotemplate import render

    if fmt == "json":
        return "".join(json.dumps(o, separators=(",", ":")) + "\n" for o in objects)
    if fmt.startswith("table"):
        tmpl = fmt[5:].strip() or "\t".join("{{." + k + "}}" for k in headers)
        tmpl = tmpl.replace("\\t", "\t")
        head = render(tmpl, {k: v for k, v in headers.items()})
        rows = [render(tmpl, o).split("\t") for o in objects]
        return table(head.split("\t"), rows)
    tmpl = fmt.replace("\\t", "\t").replace("\\n", "\n")
    return "".join(render(tmpl, o) + "\n" for o in objects)


def inspect_output(objects: Sequence[Any], template: str | None) -> str:
    """``inspect``'s output: a JSON array of the objects, or ``--format`` rendered once per object."""
    from .gotemplate import render

    if template:
        return "".join(render(template, o) + "\n" for o in objects)
    return json.dumps(list(objects), indent=4) + "\n"


def pruned_output(heading: str, removed: Sequence[tuple[str, int]]) -> str:
    """``prune``'s output: ``Deleted Containers:`` (or Volumes) and the ids, then the space reclaimed."""
    listed = f"{heading}:\n" + "".join(f"{name}\n" for name, _ in removed) + "\n" if removed else ""
    return listed + f"Total reclaimed space: {human_size(sum(size for _, size in removed))}\n"
