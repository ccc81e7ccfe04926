"""runtime/engine/filecache.py: a state file is parsed again exactly when it changed."""

from __future__ import annotations

import json
import os
import time

import pytest

from runtime import fsutil
from runtime.engine.filecache import SETTLE_NS, ParsedFiles


def settled(path: str) -> None:
    """Backdate the file's mtime past the racy window, as for any file not written in the last moment."""
    old = time.time() - 10
    os.utime(path, (old, old))


def counting(calls: list[object]):  # type: ignore[no-untyped-def]
    def parse(data: object) -> object:
        calls.append(data)
        return data

    return parse


def written(tmp_path, data: object) -> str:  # type: ignore[no-untyped-def]
    """A state file written a while ago."""
    path = str(tmp_path / "state.json")
    fsutil.write_json(path, data)
    settled(path)
    return path


def test_an_unchanged_file_is_parsed_once(tmp_path):  # type: ignore[no-untyped-def]
    path = written(tmp_path, {"status": "running"})
    calls: list[object] = []
    files = ParsedFiles()
    first = files.load(path, counting(calls))
    assert files.load(path, counting(calls)) is first
    assert calls == [{"status": "running"}]


def test_a_replaced_file_is_read_again(tmp_path):  # type: ignore[no-untyped-def]
    path = written(tmp_path, {"status": "running"})
    calls: list[object] = []
    files = ParsedFiles()
    files.load(path, counting(calls))
    fsutil.write_json(path, {"status": "paused"})  # temporary file + rename, as every state write
    settled(path)  # even with an old mtime: the inode and ctime changed
    assert files.load(path, counting(calls)) == {"status": "paused"}
    # Rewritten in place (same inode, same size): the mtime tells.
    with open(path, "w") as f:
        json.dump({"status": "exited"}, f)
    assert files.load(path, counting(calls)) == {"status": "exited"}
    assert len(calls) == 3


def test_a_file_written_just_now_is_not_trusted_from_memory(tmp_path):  # type: ignore[no-untyped-def]
    path = str(tmp_path / "state.json")
    fsutil.write_json(path, {"n": 1})
    calls: list[object] = []
    files = ParsedFiles()
    files.load(path, counting(calls))
    files.load(path, counting(calls))
    assert len(calls) == 2  # modified within SETTLE_NS of the read: read again each time
    assert SETTLE_NS < 1_000_000_000


def test_a_missing_file_raises_and_is_forgotten(tmp_path):  # type: ignore[no-untyped-def]
    path = str(tmp_path / "container.json")
    files = ParsedFiles()
    with pytest.raises(FileNotFoundError):
        files.load(path, counting([]))
    fsutil.write_json(path, {"id": "a"})
    settled(path)
    files.load(path, counting([]))
    os.unlink(path)
    with pytest.raises(FileNotFoundError):
        files.load(path, counting([]))
    fsutil.write_json(path, {"id": "b"})
    settled(path)
    assert files.load(path, counting([])) == {"id": "b"}
