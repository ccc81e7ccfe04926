"""Parsed JSON state files, read and parsed again only when the file changed (the TUI lists every container each second).

Every state write is a temporary file and ``rename(2)``, so a changed file
has a new inode, and any write changes its mtime or size: a file whose
``stat`` signature is the one recorded when it was read holds what was
parsed. The signature comes from ``fstat`` on the descriptor that was read,
so it always belongs to the bytes parsed. One hole remains: a rename can
reuse a freed inode number and land within the same coarse clock tick as
the read, with the same size; so a file modified less than
:data:`SETTLE_NS` before it was read is not cached (read again next time),
as git does with its racily clean index entries.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

SETTLE_NS = 100_000_000  # far above the kernel's timestamp granularity (one jiffy, 1-10 ms)
MAX_FILES = 8192  # a bound on the cache: it starts again empty past this many files


def signature(st: os.stat_result) -> tuple[int, int, int, int, int]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


class ParsedFiles:
    """``load(path, parse)`` = ``parse(json of path)``, from memory while the file is unchanged.

    Values are shared between callers: ``parse`` must build immutable values
    (the engine's frozen dataclasses). Thread-safe.
    """

    def __init__(self, max_files: int = MAX_FILES) -> None:
        self._max = max_files
        self._lock = threading.Lock()
        self._files: dict[str, tuple[tuple[int, int, int, int, int], Any]] = {}

    def load(self, path: str, parse: Callable[[Any], T]) -> T:
        """Raises ``FileNotFoundError`` for a missing file, as reading it would."""
        hit = self._files.get(path)
        if hit is not None:
            try:
                same = signature(os.stat(path)) == hit[0]
            except FileNotFoundError:
                self.forget(path)
                raise
            if same:
                value: T = hit[1]
                return value
        with open(path, "rb") as f:
            sig = signature(os.fstat(f.fileno()))
            data = f.read()
        value = parse(json.loads(data))
        if time.time_ns() - sig[3] > SETTLE_NS:
            with self._lock:
                if len(self._files) >= self._max:
                    self._files.clear()
                self._files[path] = (sig, value)
        else:
            self.forget(path)
        return value

    def forget(self, path: str) -> None:
        with self._lock:
            self._files.pop(path, None)
