"""A merged directory listing from layer directories, each entry attributed to the layer it comes from.

overlayfs shows, for a directory, the union of that directory in every layer
top-most first: a name in a higher layer hides the same name below; a 0/0
character device (a whiteout) hides it altogether; a directory with the
``trusted.overlay.opaque=y`` xattr hides the whole directory below it; and a
file, symlink or whiteout hides any directory of the same name below
(Documentation/filesystems/overlayfs.rst, "whiteouts and opaque
directories"). This module reads the same layer directories overlayfs would
stack, with no mount and no entering the container, so it works on stopped
containers and on images, and says for every entry which layer it comes
from, which names are whiteouts, which directories are opaque, and, when the
top-most layer is a container's writable one, what it added, changed or
deleted (the same rules as ``diff``, :mod:`runtime.engine.changes`).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, replace

from ..errors import NotFound
from ..images.store import ImageStore, hex_of
from .changes import is_opaque, is_whiteout
# The image layers screen's A/C/D and file types: one vocabulary for both views.
from .imagelayers import Change as Change
from .imagelayers import FileType
from .specgen import ContainerPaths

Kind = FileType  # this module's name for it

PREVIEW = 64 << 10  # how much of a file the viewers read


_KINDS = ((stat.S_ISDIR, Kind.DIR), (stat.S_ISREG, Kind.FILE), (stat.S_ISLNK, Kind.SYMLINK),
          (stat.S_ISCHR, Kind.CHAR), (stat.S_ISBLK, Kind.BLOCK), (stat.S_ISFIFO, Kind.FIFO),
          (stat.S_ISSOCK, Kind.SOCKET))


def kind_of(st: os.stat_result) -> Kind:
    if is_whiteout(st):
        return Kind.WHITEOUT
    for test, kind in _KINDS:
        if test(st.st_mode):
            return kind
    return Kind.FILE


@dataclass(frozen=True)
class Entry:
    """One name of a merged directory."""

    name: str
    kind: Kind
    size: int  # st_size (0 for directories and whiteouts)
    layer_index: int  # into the layer list given, top-most first: where this name comes from
    source: str  # the host path of the entry inside that layer
    whiteout: bool = False  # the layer deletes this name from the ones below
    opaque: bool = False  # a directory that hides the same directory in the layers below
    hidden: bool = False  # in a lower layer, but an opaque directory above hides it
    change: Change | None = None  # only when the top-most layer is a container's writable layer
    target: str = ""  # a symlink's target

    @property
    def visible(self) -> bool:
        """Whether the name is in the merged view (the container sees it)."""
        return not (self.whiteout or self.hidden)


@dataclass(frozen=True)
class Layer:
    """One directory of an overlay stack."""

    role: str  # "upper", "init" or "image"
    label: str  # "upper", "init", "L2 3c4d76e9" (image layers counted from the bottom, 1 first)
    path: str  # the host directory
    diff_id: str = ""  # image layers: the digest of the layer's uncompressed tar
    size: int | None = None  # bytes; None when not measured


def _parts(rel: str) -> list[str]:
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise NotFound(f"{rel}: '..' is not a path inside the layers")
    return parts


def _dir_layers(layers: list[str], parts: list[str]) -> tuple[list[tuple[int, str]], list[tuple[int, str]], int]:
    """Where the directory ``parts`` is in each layer: (visible, hidden by an opaque one, opaque layer or -1).

    Walked from the root one component at a time, so that an ancestor that is
    a whiteout, a file or an opaque directory in some layer cuts off every
    layer below it, as overlayfs's lookup does.
    """
    cur = list(enumerate(layers))
    hidden: list[tuple[int, str]] = []
    opaque_at = -1
    for depth, name in enumerate(parts):
        last = depth == len(parts) - 1
        nxt: list[tuple[int, str]] = []
        hid: list[tuple[int, str]] = []
        stop = ""
        for i, base in cur:
            path = os.path.join(base, name)
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                continue
            isdir = stat.S_ISDIR(st.st_mode)
            if stop:
                if stop == "opaque" and last and isdir:
                    hid.append((i, path))
                continue
            if not isdir:
                stop = "shadow"  # a whiteout, file or symlink hides every directory of this name below
                continue
            nxt.append((i, path))
            if is_opaque(path):
                stop = "opaque"
                if last:
                    opaque_at = i
        cur, hidden = nxt, hid
        if not cur:
            return [], [], -1
    return cur, hidden, opaque_at


def _entry(name: str, index: int, path: str, hidden: bool = False) -> Entry:
    st = os.lstat(path)
    kind = kind_of(st)
    if kind is Kind.WHITEOUT:
        return Entry(name, kind, 0, index, path, whiteout=True, hidden=hidden)
    return Entry(name, kind, st.st_size if kind is not Kind.DIR else 0, index, path,
                 opaque=kind is Kind.DIR and is_opaque(path), hidden=hidden,
                 target=os.readlink(path) if kind is Kind.SYMLINK else "")


def _visible_names(layers: list[str], parts: list[str]) -> set[str]:
    visible, _, _ = _dir_layers(layers, parts)
    names: set[str] = set()
    gone: set[str] = set()
    for _, d in visible:
        for name in os.listdir(d):
            if name in names or name in gone:
                continue
            (gone if is_whiteout(os.lstat(os.path.join(d, name))) else names).add(name)
    return names


def is_dir(layers: list[str], rel: str) -> bool:
    """Whether ``rel`` is a directory of the merged view."""
    return bool(_dir_layers(layers, _parts(rel))[0])


def list_dir(layers: list[str], rel: str = "", upper: bool = False) -> list[Entry]:
    """The merged directory ``rel`` of ``layers`` (host directories, top-most first), sorted by name.

    Whiteouts are listed (``whiteout``) where they are the top-most entry of
    their name; names that an opaque directory hides are listed as ``hidden``.
    With ``upper`` the first layer is a container's writable layer: each of
    its entries gets ``change`` (added when no lower layer has the name,
    changed when one has, deleted for a whiteout), and names its opaque
    directories hide are deleted.
    """
    parts = _parts(rel)
    visible, hidden, opaque_at = _dir_layers(layers, parts)
    if not visible:
        raise NotFound(f"{'/' + '/'.join(parts)}: no such directory in the layers")
    entries: dict[str, Entry] = {}
    gone: set[str] = set()  # names that a whiteout deletes among the hidden layers
    for group, is_hidden in ((visible, False), (hidden, True)):
        for i, d in group:
            for name in sorted(os.listdir(d)):
                if name in entries or name in gone:
                    continue
                try:
                    e = _entry(name, i, os.path.join(d, name), hidden=is_hidden)
                except FileNotFoundError:
                    continue  # a running container removed it meanwhile
                if is_hidden and e.whiteout:
                    gone.add(name)
                else:
                    entries[name] = e
    if upper:
        below = _visible_names(layers[1:], parts)
        for name, e in entries.items():
            if e.hidden:
                change = Change.DELETED if opaque_at == 0 else None
            elif e.layer_index != 0:
                continue
            elif e.whiteout:
                change = Change.DELETED
            else:
                change = Change.CHANGED if name in below else Change.ADDED
            if change is not None:
                entries[name] = replace(e, change=change)
    return [entries[n] for n in sorted(entries)]


def read_head(path: str, limit: int = PREVIEW) -> tuple[bytes, int]:
    """The first ``limit`` bytes of a regular file in a layer, and its whole size.

    Opened with O_NOFOLLOW and O_NONBLOCK and checked to be a regular file
    after opening: a container can replace a file in its writable layer with
    a symlink or a fifo at any time, and neither may lead the reader to a
    host file or block it.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as e:
        raise NotFound(f"{path}: cannot open: {(e.strerror or str(e)).lower()}") from e
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotFound(f"{path}: not a regular file")
        chunks: list[bytes] = []
        got = 0
        while got < limit:
            b = os.read(fd, limit - got)
            if not b:
                break
            chunks.append(b)
            got += len(b)
        return b"".join(chunks), st.st_size
    finally:
        os.close(fd)


def image_stack(store: ImageStore, diff_ids: tuple[str, ...] | list[str]) -> list[Layer]:
    """An image's layers (``diff_ids`` bottom first, as in its config), top-most first."""
    n = len(diff_ids)
    return [Layer("image", f"L{n - k} {hex_of(d)[:8]}", store.layer_path(d), d, store.layer_size(d))
            for k, d in enumerate(reversed(diff_ids))]


def container_stack(paths: ContainerPaths, diff_ids: tuple[str, ...] | list[str], store: ImageStore,
                    measure: bool = True) -> list[Layer]:
    """A container's overlay, top-most first: its writable layer, its init layer, then its image's layers.

    ``measure`` walks the upper and init directories for their sizes (the
    image layers' sizes are recorded when they are extracted).
    """
    size: int | None = None
    init_size: int | None = None
    if measure:
        from .engine import dir_size

        size, init_size = dir_size(paths.upper), dir_size(paths.init)
    return [Layer("upper", "upper", paths.upper, size=size), Layer("init", "init", paths.init, size=init_size),
            *image_stack(store, diff_ids)]
