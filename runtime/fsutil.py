"""Durable state on disk: atomic writes, locked read-modify-write, careful removal.

Every state file is written through a temporary file in the same directory,
fsync'd and renamed over the old one, so a reader sees either the old or the
new content and a crash leaves no half-written JSON (runc and crun do the
same). Read-modify-write sequences hold an ``flock`` on a lock file.
"""

from __future__ import annotations

import errno
import fcntl
import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def atomic_write(path: str, data: bytes, mode: int = 0o644, sync: bool = True) -> None:
    """Replace ``path`` with ``data`` atomically (temp file + fsync + rename)."""
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        if sync:
            os.fsync(fd)
    except BaseException:
        os.close(fd)
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    os.close(fd)
    os.replace(tmp, path)


def write_json(path: str, obj: Any, sync: bool = True) -> None:
    import json

    atomic_write(path, json.dumps(obj, indent=1, sort_keys=False).encode() + b"\n", sync=sync)


def read_json(path: str) -> Any:
    import json

    with open(path, "rb") as f:
        return json.loads(f.read())


def read_json_or(path: str, default: Any) -> Any:
    try:
        return read_json(path)
    except FileNotFoundError:
        return default


class locked:
    """``with locked(path):`` holds an flock on ``path`` (created if missing) for the block.

    A class rather than a contextlib generator: contextlib would add several
    milliseconds of imports to every container start.
    """

    def __init__(self, path: str, shared: bool = False) -> None:
        self.path = path
        self.shared = shared
        self.fd = -1

    def __enter__(self) -> int:
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX)
        except BaseException:
            os.close(self.fd)
            raise
        return self.fd

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)


def read_text(path: str, default: str = "") -> str:
    try:
        with open(path) as f:
            return f.read()
    except (FileNotFoundError, ProcessLookupError):
        return default


def remove_tree(path: str) -> None:
    """Remove a directory tree, including overlayfs work directories (mode 000)."""

    import shutil

    def onerror(func: Any, p: str, exc: BaseException) -> None:
        if isinstance(exc, FileNotFoundError):
            return
        if isinstance(exc, PermissionError):
            os.chmod(os.path.dirname(p), 0o700)
            func(p)
            return
        raise exc

    if os.path.lexists(path):
        shutil.rmtree(path, onerror=lambda f, p, e: onerror(f, p, e[1]))




def unlink_quiet(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def rmdir_quiet(path: str) -> bool:
    """Remove an empty directory; True if it is gone."""
    try:
        os.rmdir(path)
    except FileNotFoundError:
        return True
    except OSError as e:
        if e.errno in (errno.EBUSY, errno.ENOTEMPTY):
            return False
        raise
    return True
