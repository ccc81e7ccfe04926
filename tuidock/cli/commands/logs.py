"""``tuidock logs``: the container's output from its log, optionally following it live."""

from __future__ import annotations

import re
import sys
import time

from runtime import logs as logfmt
from runtime.errors import InvalidArgument

from ..common import engine
from ..options import Command, opt

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

COMMAND = Command("logs", "[OPTIONS] CONTAINER", "Fetch the logs of a container", [
    opt("-f, --follow", help="Follow log output"),
    opt("-n, --tail", dest="tail", kind="str", default="all", help='Number of lines to show from the end of the logs (default "all")'),
    opt("-t, --timestamps", help="Show timestamps"),
    opt("--since", kind="str", help="Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)"),
    opt("--until", kind="str", help="Show logs before a timestamp or relative (e.g. 42m)"),
], min_args=1, max_args=1)

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


def parse_time(value: str, now: float | None = None) -> int:
    """docker's --since/--until: RFC 3339, Unix seconds, or a Go duration before now (``1h30m``)."""
    now = now if now is not None else time.time()
    v = value.strip()
    if re.fullmatch(r"(\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+", v):
        secs = sum(float(n) * _UNITS[u] for n, u in _DURATION.findall(v))
        return int((now - secs) * 1e9)
    if re.fullmatch(r"\d+(\.\d+)?", v):
        return int(float(v) * 1e9)
    try:
        if "T" not in v:
            v += "T00:00:00Z"
        return logfmt.parse_rfc3339(v)
    except ValueError:
        raise InvalidArgument(f"invalid time {value!r}: use RFC 3339, Unix seconds, or a duration like 10m") from None


def emit(line: logfmt.LogLine, timestamps: bool) -> None:
    out = sys.stdout.buffer if line.stream == "stdout" else sys.stderr.buffer
    if timestamps:
        out.write(logfmt.rfc3339(line.time_ns).encode() + b" ")
    out.write(line.data)
    out.flush()


def execute(values: dict[str, Any], operands: list[str]) -> int:
    tail = values["tail"]
    if tail != "all" and not (tail.isdigit() or tail == "-1"):
        raise InvalidArgument(f'invalid --tail {tail!r}: a number or "all"')
    n = None if tail in ("all", "-1") else int(tail)
    since = parse_time(values["since"]) if values["since"] else None
    until = parse_time(values["until"]) if values["until"] else None
    eng = engine()
    cid = eng.resolve(operands[0])
    path = eng.paths(cid).log
    lines, reader = logfmt.read_lines(path, tail=n, since_ns=since, until_ns=until)
    for line in lines:
        emit(line, values["timestamps"])
    if not values["follow"]:
        return 0
    # Follow until the container has stopped and its log has no more to give.
    while True:
        up = eng.info(cid).status.is_up()
        new = reader.read_new()
        for line in new:
            if until is None or line.time_ns < until:
                emit(line, values["timestamps"])
        for line in reader.pending():
            emit(line, values["timestamps"])
            reader.partial.clear()
        if not up and not new:
            return 0
        time.sleep(0.1)
