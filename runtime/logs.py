"""Container logs in the CRI format that Kubernetes and Podman's k8s-file driver use.

One line per chunk of output::

    2026-11-23T10:04:05.123456789Z stdout F hello world
    2026-11-23T10:04:05.200000000Z stdout P / #

``F`` marks a chunk that ended a line, ``P`` a partial one (a shell prompt,
output cut by a read). Joining the chunks of a stream gives back exactly the
bytes the container wrote, so ``logs`` reproduces a session faithfully. The
monitor appends with one write(2) per chunk and never buffers, so killing any
tuidock process loses no line.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass


def rfc3339(ns: int) -> str:
    sec, frac = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)) + f".{frac:09d}Z"


def parse_rfc3339(s: str) -> int:
    """Nanoseconds since the epoch from ``2026-11-23T10:04:05.123456789Z`` (or with an offset)."""
    import calendar

    s = s.strip()
    offset = 0
    if s.endswith("Z"):
        s = s[:-1]
    elif len(s) > 6 and s[-6] in "+-" and s[-3] == ":":
        sign = 1 if s[-6] == "+" else -1
        offset = sign * (int(s[-5:-3]) * 3600 + int(s[-2:]) * 60)
        s = s[:-6]
    main, _, frac = s.partition(".")
    t = time.strptime(main, "%Y-%m-%dT%H:%M:%S")
    ns = (calendar.timegm(t) - offset) * 1_000_000_000
    if frac:
        ns += int((frac + "000000000")[:9])
    return ns


class LogWriter:
    """Appends output chunks to a CRI log file."""

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)

    def write(self, stream: str, data: bytes, now_ns: int | None = None) -> None:
        if not data:
            return
        ts = rfc3339(now_ns if now_ns is not None else time.time_ns()).encode()
        tag = stream.encode()
        out = []
        lines = data.split(b"\n")
        for line in lines[:-1]:
            out.append(b"%s %s F %s\n" % (ts, tag, line))
        if lines[-1]:
            out.append(b"%s %s P %s\n" % (ts, tag, lines[-1]))
        os.write(self.fd, b"".join(out))

    def close(self) -> None:
        os.close(self.fd)


@dataclass(frozen=True)
class LogLine:
    """One logical line (or the unfinished tail) of a stream."""

    time_ns: int  # when its first chunk arrived
    stream: str
    data: bytes  # including the trailing newline when complete
    complete: bool


def parse_line(raw: bytes) -> tuple[int, str, bool, bytes] | None:
    try:
        ts, stream, tag, rest = raw.rstrip(b"\n").split(b" ", 3)
    except ValueError:
        parts = raw.rstrip(b"\n").split(b" ")
        if len(parts) == 3:  # an empty chunk: "TS stream F"
            ts, stream, tag, rest = parts[0], parts[1], parts[2], b""
        else:
            return None
    try:
        return parse_rfc3339(ts.decode()), stream.decode(), tag == b"F", rest
    except ValueError:
        return None


class LogReader:
    """Reads a CRI log into logical lines; can resume where it stopped (for ``-f``)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.offset = 0
        self.partial: dict[str, tuple[int, bytearray]] = {}
        self.carry = b""

    def read_new(self) -> list[LogLine]:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                chunk = f.read()
        except FileNotFoundError:
            return []
        self.offset += len(chunk)
        data = self.carry + chunk
        raw_lines = data.split(b"\n")
        self.carry = raw_lines.pop()  # an unfinished record (the writer's write is in flight)
        out = []
        for raw in raw_lines:
            rec = parse_line(raw)
            if rec is None:
                continue
            ts, stream, full, payload = rec
            started, buf = self.partial.pop(stream, (ts, bytearray()))
            buf += payload
            if full:
                out.append(LogLine(started, stream, bytes(buf) + b"\n", True))
            else:
                self.partial[stream] = (started, buf)
        return out

    def pending(self) -> list[LogLine]:
        """Unfinished lines (a prompt without newline) as they stand now."""
        return [LogLine(ts, s, bytes(b), False) for s, (ts, b) in self.partial.items() if b]


def read_lines(path: str, tail: int | None = None, since_ns: int | None = None,
               until_ns: int | None = None) -> tuple[list[LogLine], LogReader]:
    """Every logical line (filtered), and the reader positioned at the end for following."""
    reader = LogReader(path)
    lines: Iterator[LogLine] = iter(reader.read_new() + reader.pending())
    if since_ns is not None:
        lines = (ln for ln in lines if ln.time_ns >= since_ns)
    if until_ns is not None:
        lines = (ln for ln in lines if ln.time_ns < until_ns)
    if tail is not None and tail >= 0:
        result = list(deque(lines, maxlen=tail)) if tail else []
    else:
        result = list(lines)
    reader.partial.clear()  # what was pending has been returned
    return result, reader
