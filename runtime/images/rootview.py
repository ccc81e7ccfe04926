"""Reading an image's file system from its layer directories, as overlayfs would show it.

No mount is needed: a path is looked up in the layers top-most first; a 0/0
character device (a whiteout) hides it, and an opaque directory hides
everything below it in the layers under. Symlinks are resolved *inside* the
image (an absolute target starts at the image's root, ``..`` stops there),
as ``COPY`` resolves its destination and ``--chown`` reads
``/etc/passwd``: a symlink in an image can never lead to a host path.
"""

from __future__ import annotations

import os
import posixpath
import stat
from collections.abc import Callable

from ..errors import InvalidArgument, NotFound
from .layers import OPAQUE_XATTR

MAX_LINKS = 40  # as the kernel's path walk (ELOOP)


def _is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _opaque(path: str) -> bool:
    try:
        return os.getxattr(path, OPAQUE_XATTR, follow_symlinks=False) == b"y"
    except OSError:
        return False


class RootView:
    def __init__(self, layers: list[str]) -> None:
        self.layers = layers  # directories, top-most first

    def _find(self, parts: list[str]) -> tuple[str, os.stat_result] | None:
        """The top-most real path for these components (no symlink in them is followed)."""
        for layer in self.layers:
            cur = layer
            hidden = False
            found = True
            for i, p in enumerate(parts):
                cur = os.path.join(cur, p)
                try:
                    st = os.lstat(cur)
                except (FileNotFoundError, NotADirectoryError):
                    found = False
                    break
                if _is_whiteout(st):
                    hidden = True
                    break
                if i < len(parts) - 1:
                    if not stat.S_ISDIR(st.st_mode):
                        # A file or symlink shadows whatever lower layers have below this name.
                        hidden = True
                        break
                    if _opaque(cur):
                        # Lower layers are hidden below here: look no further down.
                        rest = os.path.join(cur, *parts[i + 1:])
                        try:
                            st2 = os.lstat(rest)
                        except (FileNotFoundError, NotADirectoryError):
                            return None
                        return None if _is_whiteout(st2) else (rest, st2)
            if hidden:
                return None
            if found:
                return cur, st
        return None

    def resolve(self, path: str, follow_last: bool = True) -> str:
        """The path with every symlink resolved inside the image; missing components are kept as given."""
        todo = [p for p in path.split("/") if p not in ("", ".")]
        done: list[str] = []
        links = 0
        while todo:
            p = todo.pop(0)
            if p == "..":
                if done:
                    done.pop()
                continue
            cand = done + [p]
            found = self._find(cand)
            if found is not None and stat.S_ISLNK(found[1].st_mode) and (todo or follow_last):
                links += 1
                if links > MAX_LINKS:
                    raise InvalidArgument(f"{path}: too many levels of symbolic links")
                target = os.readlink(found[0])
                if target.startswith("/"):
                    done = []
                todo = [q for q in target.split("/") if q not in ("", ".")] + todo
                continue
            done = cand
        return "/" + "/".join(done)

    def lookup(self, path: str) -> tuple[str, os.stat_result] | None:
        """The real path and lstat of ``path`` (its parents resolved, the last component not followed)."""
        resolved = self.resolve(path, follow_last=False)
        parts = [p for p in resolved.split("/") if p]
        if not parts:
            for layer in self.layers:
                return layer, os.lstat(layer)
            return None
        return self._find(parts)

    def stat(self, path: str) -> os.stat_result | None:
        """Like stat(2): follows a final symlink."""
        found = self.lookup(self.resolve(path))
        return found[1] if found else None

    def is_dir(self, path: str) -> bool:
        st = self.stat(path)
        return st is not None and stat.S_ISDIR(st.st_mode)

    def read(self, path: str, limit: int = 1 << 20) -> bytes | None:
        """A regular file's content (``None`` if missing or not a regular file)."""
        found = self.lookup(self.resolve(path))
        if found is None or not stat.S_ISREG(found[1].st_mode):
            return None
        with open(found[0], "rb") as f:
            return f.read(limit)

    def listdir(self, path: str) -> list[str]:
        """The merged listing of a directory (``path`` already resolved)."""
        parts = [p for p in path.split("/") if p]
        names: set[str] = set()
        hidden: set[str] = set()
        for layer in self.layers:
            d = os.path.join(layer, *parts)
            try:
                st = os.lstat(d)
            except (FileNotFoundError, NotADirectoryError):
                continue
            if not stat.S_ISDIR(st.st_mode):
                break  # a file here hides the directories below
            for name in os.listdir(d):
                if name in names or name in hidden:
                    continue
                if _is_whiteout(os.lstat(os.path.join(d, name))):
                    hidden.add(name)
                else:
                    names.add(name)
            if _opaque(d):
                break
        return sorted(names)

    def walk(self, path: str, prune: Callable[[str], bool] | None = None) -> list[tuple[str, str, os.stat_result]]:
        """Every entry under a directory, parents first: (relative path, real path, lstat).

        ``prune(rel)`` true for a directory: leave it and everything below out.
        """
        out: list[tuple[str, str, os.stat_result]] = []
        base = self.resolve(path)
        if self.lookup(base) is None:
            raise NotFound(f"{path}: no such file or directory in the image")

        def rec(rel: str) -> None:
            for name in self.listdir(posixpath.join(base, rel)):
                r = posixpath.join(rel, name) if rel else name
                found = self._find([p for p in posixpath.join(base, r).split("/") if p])
                if found is None or (prune is not None and prune(r)):
                    continue
                out.append((r, found[0], found[1]))
                if stat.S_ISDIR(found[1].st_mode):
                    rec(r)

        rec("")
        return out
