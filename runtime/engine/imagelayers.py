"""An image's layers one by one, as dive shows them: what each adds, changes and deletes, and the waste.

Read straight from the extracted layer directories (``layers/<diff id>/diff``),
the same ones overlayfs stacks, with no mount: a 0/0 character device is a
whiteout (the name is deleted), a directory with ``trusted.overlay.opaque=y``
hides everything below it in lower layers, and a name in a higher layer hides
the same name below; a file or whiteout that replaces a directory hides the
whole directory (Documentation/filesystems/overlayfs.rst, "whiteouts and
opaque directories").

Layers are applied bottom-up to a tree of what is visible. For each layer
that gives its changes (A added, C changed, D deleted), and every regular
file of a lower layer that a higher one overwrites or deletes is *wasted*:
its bytes are in the image (and in every copy of it) but nobody can see them.
"""

from __future__ import annotations

import enum
import os
import stat
from dataclasses import dataclass, field, replace

from ..images.store import Image, ImageStore
from .changes import is_opaque, is_whiteout


class FileType(enum.Enum):
    """What a name in a layer is (one vocabulary for the layer analysis and :mod:`.layerview`)."""

    FILE = "file"
    DIR = "dir"
    SYMLINK = "symlink"
    CHAR = "char"
    BLOCK = "block"
    FIFO = "fifo"
    SOCKET = "socket"
    # A 0/0 character device: the name is deleted from the layers below. layerview shows it as such;
    # the analysis here reports it as a deletion (Change.DELETED) instead.
    WHITEOUT = "whiteout"

    @classmethod
    def of(cls, mode: int) -> FileType:
        for test, kind in ((stat.S_ISDIR, cls.DIR), (stat.S_ISLNK, cls.SYMLINK), (stat.S_ISCHR, cls.CHAR),
                           (stat.S_ISBLK, cls.BLOCK), (stat.S_ISFIFO, cls.FIFO), (stat.S_ISSOCK, cls.SOCKET)):
            if test(mode):
                return kind
        return cls.FILE


class Change(enum.Enum):
    """What a layer does to a path, with ``diff``'s letters."""

    ADDED = "A"
    CHANGED = "C"
    DELETED = "D"


@dataclass(frozen=True)
class FileEntry:
    """A path as one layer holds it (or, for DELETED, as it was before the layer deleted it)."""

    path: str  # absolute in the image: "/etc/passwd"
    type: FileType
    size: int  # bytes of a regular file, 0 otherwise
    mode: int  # permission bits (and setuid/setgid/sticky)
    uid: int
    gid: int
    link: str = ""  # a symlink's target
    layer: int = 0  # index of the layer the entry comes from (bottom = 0)
    change: Change | None = None  # set in a layer's own listing; None in a merged tree
    opaque: bool = False  # a directory that hides everything below it in lower layers


@dataclass(frozen=True)
class Wasted:
    """A regular file of ``layer`` that ``by_layer`` overwrote or deleted."""

    path: str
    size: int
    layer: int
    by_layer: int


@dataclass(frozen=True)
class LayerInfo:
    """One layer with its instruction and its changes (paths sorted)."""

    index: int
    diff_id: str  # sha256 of the uncompressed tar; the layer directory's name
    digest: str  # of the blob in the store (compressed or not)
    size: int  # bytes of file content
    created_by: str  # the history entry that made it ("/bin/sh -c apk add ..."), "" if unknown
    created: str
    comment: str
    changes: tuple[FileEntry, ...]

    def count(self, change: Change) -> int:
        return sum(1 for e in self.changes if e.change is change)


@dataclass(frozen=True)
class ImageLayers:
    """Every layer of an image, bottom first, and the space the stack wastes."""

    image_id: str
    layers: tuple[LayerInfo, ...]
    wasted: tuple[Wasted, ...] = field(default=())

    @property
    def size(self) -> int:
        return sum(x.size for x in self.layers)

    @property
    def wasted_bytes(self) -> int:
        return sum(w.size for w in self.wasted)

    @property
    def efficiency(self) -> float:
        """dive's score: the share of the image's file bytes that are visible in the final tree (1.0 = no waste)."""
        return 1.0 if not self.size else max(0.0, 1.0 - self.wasted_bytes / self.size)


class _Node:
    __slots__ = ("entry", "children")

    def __init__(self, entry: FileEntry | None) -> None:
        self.entry = entry
        self.children: dict[str, _Node] = {}


def _entry(path: str, st: os.stat_result, layer: int, link: str = "", change: Change | None = None,
           opaque: bool = False) -> FileEntry:
    kind = FileType.of(st.st_mode)
    return FileEntry(path, kind, st.st_size if kind is FileType.FILE else 0, stat.S_IMODE(st.st_mode),
                     st.st_uid, st.st_gid, link, layer, change, opaque)


def _subtree(node: _Node) -> list[FileEntry]:
    out = []
    stack = list(node.children.values())
    while stack:
        n = stack.pop()
        if n.entry is not None:
            out.append(n.entry)
        stack.extend(n.children.values())
    return out


class _Stack:
    """The visible tree while layers are applied bottom-up."""

    def __init__(self) -> None:
        self.root = _Node(None)
        self.wasted: list[Wasted] = []

    def _waste(self, entries: list[FileEntry], by: int) -> None:
        seen: set[tuple[int, str]] = set()
        for e in entries:
            if e.type is FileType.FILE and e.size and (e.layer, e.path) not in seen:
                seen.add((e.layer, e.path))
                self.wasted.append(Wasted(e.path, e.size, e.layer, by))

    def apply(self, layer_dir: str, index: int) -> list[FileEntry]:
        """Apply one layer directory; returns its changes."""
        changes: list[FileEntry] = []
        self._walk(layer_dir, "", self.root, index, changes)
        changes.sort(key=lambda e: e.path)
        return changes

    def _walk(self, dirpath: str, rel: str, node: _Node, index: int, changes: list[FileEntry]) -> None:
        try:
            names = sorted(os.listdir(dirpath))
        except OSError:
            return
        for name in names:
            full = os.path.join(dirpath, name)
            path = f"{rel}/{name}"
            try:
                st = os.lstat(full)
            except OSError:
                continue
            below = node.children.get(name)
            if is_whiteout(st):
                if below is not None:
                    self._replace(node, name, below, index, changes, keep=False)
                continue
            link = os.readlink(full) if stat.S_ISLNK(st.st_mode) else ""
            is_dir = stat.S_ISDIR(st.st_mode)
            opaque = is_dir and is_opaque(full)
            entry = _entry(path, st, index, link, Change.ADDED if below is None else Change.CHANGED, opaque)
            changes.append(entry)
            if below is not None and below.entry is not None and below.entry.type is FileType.DIR \
                    and is_dir and not opaque:
                below.entry = entry  # a directory on a directory: the two merge
                child = below
            else:
                if below is not None:
                    # Replaced outright: a non-directory hides everything below it, an
                    # opaque directory hides the lower directory's contents, a directory hides a file.
                    self._replace(node, name, below, index, changes, keep=True)
                child = node.children[name] = _Node(entry)
            if is_dir:
                self._walk(full, path, child, index, changes)

    def _replace(self, node: _Node, name: str, below: _Node, index: int, changes: list[FileEntry],
                 keep: bool) -> None:
        """``below`` goes from the visible tree: its files are wasted and, but for the name itself
        when the layer puts something there (``keep``), deleted."""
        inner = _subtree(below)
        gone = inner + ([below.entry] if below.entry is not None else [])
        self._waste(gone, index)
        changes.extend(_deleted(e, index) for e in (inner if keep else gone))
        del node.children[name]

    def snapshot(self) -> list[FileEntry]:
        out = [replace(e, change=None) for e in _subtree(self.root)]
        out.sort(key=lambda e: e.path)
        return out


def _deleted(e: FileEntry, index: int) -> FileEntry:
    return replace(e, layer=index, change=Change.DELETED, opaque=False)


def _history(img: Image) -> list[tuple[str, str, str]]:
    """(created_by, created, comment) of each real layer: the history entries that are not empty layers."""
    rows = [(h.created_by, h.created, h.comment) for h in img.history if not h.empty_layer]
    if len(rows) != len(img.layers):
        return [("", "", "")] * len(img.layers)
    return rows


def analyze(store: ImageStore, img: Image) -> ImageLayers:
    """Every layer of ``img`` with its changes, and the wasted files of the whole stack."""
    stack = _Stack()
    infos = []
    for i, (layer, (created_by, created, comment)) in enumerate(zip(img.layers, _history(img))):
        changes = stack.apply(store.layer_path(layer.diff_id), i)
        size = store.layer_size(layer.diff_id) or sum(e.size for e in changes if e.change is not Change.DELETED)
        infos.append(LayerInfo(i, layer.diff_id, layer.digest, size, created_by, created, comment, tuple(changes)))
    return ImageLayers(img.id, tuple(infos), tuple(sorted(stack.wasted, key=lambda w: (-w.size, w.path))))


def tree(store: ImageStore, img: Image, upto: int | None = None) -> tuple[FileEntry, ...]:
    """The file system as it is with layers ``0..upto`` stacked (all of them by default), sorted by path;
    each entry names the layer it comes from."""
    last = len(img.layers) - 1 if upto is None else upto
    if not -1 <= last < len(img.layers):
        raise IndexError(f"image {img.short_id}: no layer {upto} (it has {len(img.layers)})")
    stack = _Stack()
    for i, layer in enumerate(img.layers[: last + 1]):
        stack.apply(store.layer_path(layer.diff_id), i)
    return tuple(stack.snapshot())
