"""What a container changed: its upper layer read against the layers below (``diff``).

In the upper directory of an overlay, a 0/0 character device is a whiteout
(the lower file was deleted) and the ``trusted.overlay.opaque=y`` xattr marks
a directory whose lower contents were all hidden (overlayfs.rst). Anything
else in the upper layer was added, or copied up and changed.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass

OPAQUE_XATTR = "trusted.overlay.opaque"


@dataclass(frozen=True)
class Change:
    kind: str  # "A" added, "C" changed, "D" deleted
    path: str  # absolute, inside the container


def is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def is_opaque(path: str) -> bool:
    try:
        return os.getxattr(path, OPAQUE_XATTR, follow_symlinks=False) == b"y"
    except OSError:
        return False


def _in_lower(lowers: list[str], rel: str) -> bool:
    """Whether ``rel`` exists in the lower layers, honouring their own whiteouts (top-most first)."""
    for layer in lowers:
        p = os.path.join(layer, rel)
        try:
            st = os.lstat(p)
        except FileNotFoundError:
            # An opaque or whited-out ancestor in this layer hides everything below.
            if _hidden_above(layer, rel):
                return False
            continue
        except NotADirectoryError:
            continue
        return not is_whiteout(st)
    return False


def _hidden_above(layer: str, rel: str) -> bool:
    parts = rel.split("/")
    for i in range(1, len(parts)):
        anc = os.path.join(layer, *parts[:i])
        try:
            st = os.lstat(anc)
        except (FileNotFoundError, NotADirectoryError):
            return False
        if is_whiteout(st) or (stat.S_ISDIR(st.st_mode) and is_opaque(anc)):
            return True
    return False


def changes(upper: str, lowers: list[str], ignore: frozenset[str] = frozenset()) -> list[Change]:
    """The A/C/D list ``docker diff`` prints, sorted by path; ``ignore`` holds mount targets."""
    out: list[Change] = []
    for dirpath, dirnames, filenames in os.walk(upper):
        rel_dir = os.path.relpath(dirpath, upper)
        rel_dir = "" if rel_dir == "." else rel_dir
        if rel_dir and is_opaque(dirpath):
            for layer in lowers:
                lower_dir = os.path.join(layer, rel_dir)
                if os.path.isdir(lower_dir):
                    for name in os.listdir(lower_dir):
                        if not os.path.lexists(os.path.join(dirpath, name)):
                            out.append(Change("D", "/" + os.path.join(rel_dir, name)))
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            rel = os.path.join(rel_dir, name)
            path = "/" + rel
            if path in ignore:
                continue
            st = os.lstat(full)
            if is_whiteout(st):
                out.append(Change("D", path))
            elif _in_lower(lowers, rel):
                out.append(Change("C", path))
            else:
                out.append(Change("A", path))
    # A directory copied up or created only to hold mount targets (-v vol:/a/b
    # makes /a and /a/b) is not a change: deepest first, a holder is dropped
    # when everything changed below it is a mount target or a dropped holder.
    holders = {p for i in ignore for p in _ancestors(i)}
    dropped: set[str] = set()
    for c in sorted(out, key=lambda c: c.path.count("/"), reverse=True):
        if c.kind != "D" and c.path in holders and not _has_other_children(c.path, out, ignore | dropped):
            dropped.add(c.path)
    return sorted((c for c in out if c.path not in dropped), key=lambda c: c.path)


def _ancestors(path: str) -> list[str]:
    parts = path.strip("/").split("/")
    return ["/" + "/".join(parts[:i]) for i in range(1, len(parts))]


def _has_other_children(path: str, changes_: list[Change], ignore: frozenset[str] | set[str]) -> bool:
    return any(c.path.startswith(path + "/") and c.path not in ignore for c in changes_)
