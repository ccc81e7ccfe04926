"""Resolve paths inside a container root without ever leaving it.

A container can plant symlinks in its root (``/data -> /``, ``/x -> ../../..``).
Paths that tuidock then mounts onto or writes into must resolve *inside* the
root, the way openat2(RESOLVE_IN_ROOT) does: an absolute symlink target or a
``..`` restarts from the container root, never from the host's. The walk is
done with ``O_PATH|O_NOFOLLOW`` descriptors one component at a time, so there
is no window in which a component can be swapped for a symlink; the result is
a descriptor whose ``/proc/self/fd/N`` path is what mount(2) is given.
"""

from __future__ import annotations

import errno
import os
import stat

MAX_SYMLINKS = 40


def _split(path: str) -> list[str]:
    return [p for p in path.split("/") if p and p != "."]


def open_in_root(root_fd: int, path: str, create: str | None = None, mode: int = 0o755) -> int:
    """Open ``path`` (absolute or relative, interpreted inside the root) as an O_PATH fd.

    ``create`` is ``None`` (the path must exist), ``"dir"`` (create missing
    directories) or ``"file"`` (directories, then an empty file at the end).
    Symlinks are followed, but confined to the root: ``..`` at the root stays
    at the root. Raises ``OSError`` with the path named.
    """
    parts = _split(path)
    stack = [os.dup(root_fd)]  # descriptors of the directories walked so far
    links = 0
    try:
        while parts:
            name = parts.pop(0)
            if name == "..":
                if len(stack) > 1:
                    os.close(stack.pop())
                continue
            cur = stack[-1]
            last = not parts
            try:
                st = os.stat(name, dir_fd=cur, follow_symlinks=False)
            except FileNotFoundError:
                if create is None:
                    raise FileNotFoundError(errno.ENOENT, f"{path}: no such file or directory inside the container root") from None
                if last and create == "file":
                    fd = os.open(name, os.O_CREAT | os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644, dir_fd=cur)
                    os.close(fd)
                else:
                    try:
                        os.mkdir(name, mode, dir_fd=cur)
                    except FileExistsError:
                        pass
                st = os.stat(name, dir_fd=cur, follow_symlinks=False)
            if stat.S_ISLNK(st.st_mode):
                links += 1
                if links > MAX_SYMLINKS:
                    raise OSError(errno.ELOOP, f"{path}: too many levels of symbolic links")
                target = os.readlink(name, dir_fd=cur)
                if target.startswith("/"):
                    for fd in stack[1:]:
                        os.close(fd)
                    del stack[1:]
                parts = _split(target) + parts
                continue
            fd = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=cur)
            if not last and not stat.S_ISDIR(st.st_mode):
                os.close(fd)
                raise NotADirectoryError(errno.ENOTDIR, f"{path}: {name} is not a directory")
            stack.append(fd)
        result = stack.pop()
        return result
    finally:
        for fd in stack:
            os.close(fd)


def fd_path(fd: int) -> str:
    return f"/proc/self/fd/{fd}"


def resolve_in_root(root: str, path: str) -> str:
    """The host path that ``path`` names inside ``root`` (for display and tests)."""
    root_fd = os.open(root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fd = open_in_root(root_fd, path)
        try:
            return os.readlink(fd_path(fd))
        finally:
            os.close(fd)
    finally:
        os.close(root_fd)
