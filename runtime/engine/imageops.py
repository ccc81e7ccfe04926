"""Images as a whole store: listing, ``rmi`` with docker's rules, ``image prune``, ``history``.

Reference counting: an image can be removed when no container (running or
stopped) was created from it; a layer directory is removed when no image and
no container uses it (``ContainerRecord.layers`` names a container's layers,
so ``rmi -f`` never pulls a layer from under a container).

``rmi`` follows docker's daemon (``daemon/images/image_delete.go``):

- by tag: the tag goes; if other tags remain, that is all. A last tag is not
  removed while a container uses the image, unless forced, and then the
  image stays, untagged;
- by id: an image with tags in more than one repository needs ``-f``; a
  stopped container's image needs ``-f``; a running container's cannot be
  removed at all;
- an image another image was built on (a *parent*) is not removed, only
  untagged; removing an image also removes its untagged parents that nothing
  else needs (``--no-prune`` keeps them), so a build's intermediate images
  go with the image built.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..errors import Conflict, NotFound
from ..images import reference
from ..images.store import Image, ImageStore, hex_of
from .engine import Engine, dir_size
from .inspect import image_size
from .model import ContainerInfo


@dataclass(frozen=True)
class Summary:
    """One image for ``images`` and the TUI's images screen: tags, children, users, size."""

    image: Image
    parent: str
    children: tuple[str, ...]
    containers: tuple[str, ...]  # ids of containers (running or stopped) created from it
    size: int = 0  # uncompressed bytes of its layers, as ``docker images`` shows

    @property
    def used_by(self) -> int:
        """How many containers use it ("used by N containers"): ``rmi`` refuses while this is not 0."""
        return len(self.containers)

    @property
    def dangling(self) -> bool:
        return not self.image.repo_tags and not self.children

    @property
    def intermediate(self) -> bool:
        return not self.image.repo_tags and bool(self.children)


@dataclass(frozen=True)
class Deleted:
    """A line of ``rmi`` and ``image prune``: ``Untagged: busybox:latest`` or ``Deleted: sha256:...``."""

    untagged: str = ""
    deleted: str = ""

    def __str__(self) -> str:
        return f"Untagged: {self.untagged}" if self.untagged else f"Deleted: {self.deleted}"


def timestamp(rfc3339: str) -> float:
    """Seconds since the epoch of an RFC 3339 time (``2026-11-23T10:04:05.123456789Z``); 0 if unparsable."""
    import calendar
    import re

    m = re.match(r"(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(\.\d+)?(Z|z|[+-]\d\d:?\d\d)?$", rfc3339 or "")
    if not m:
        return 0.0
    y, mo, d, h, mi, s = (int(x) for x in m.groups()[:6])
    t = calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0)) + float(m.group(7) or 0)
    tz = m.group(8)
    if tz and tz not in ("Z", "z"):
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        t -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return t


def parent_of(img: Image) -> str:
    p = img.raw_config.get("parent")
    return p if isinstance(p, str) else ""


def summaries(engine: Engine, containers: list[ContainerInfo] | None = None) -> list[Summary]:
    images = engine.images.images()
    ctrs = engine.containers() if containers is None else containers
    children: dict[str, list[str]] = {}
    for img in images:
        p = parent_of(img)
        if p:
            children.setdefault(p, []).append(img.id)
    users: dict[str, list[str]] = {}
    for c in ctrs:
        users.setdefault(c.record.image_id, []).append(c.id)
    out = [Summary(img, parent_of(img), tuple(children.get(img.id, ())), tuple(users.get(img.id, ())),
                   image_size(img, engine.images))
           for img in images]
    out.sort(key=lambda s: s.image.created, reverse=True)
    return out


def _single_repository(tags: tuple[str, ...]) -> bool:
    return len({reference.parse(t).name for t in tags}) <= 1


class _Remover:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.store = engine.images
        self.containers = engine.containers()
        self.records: list[Deleted] = []
        self.removed: list[Image] = []

    def users(self, img: Image, running: bool | None = None) -> list[ContainerInfo]:
        return [c for c in self.containers if c.record.image_id == img.id
                and (running is None or c.status.is_up() == running)]

    def children(self, img: Image) -> list[Image]:
        return [i for i in self.store.images() if parent_of(i) == img.id]

    def untag(self, ref: str) -> None:
        self.store.untag(ref)
        self.records.append(Deleted(untagged=reference.parse(ref).familiar))

    def remove(self, name: str, force: bool, prune: bool) -> None:
        img = self.store.get(name)
        short = img.short_id
        by_id = reference.is_image_id(name) and (img.id.startswith(name) or img.id.startswith("sha256:" + name)) \
            and str(_parse_or_none(name)) not in img.repo_tags
        quiet = False
        if not by_id:
            full = str(reference.parse(name))
            if full not in img.repo_tags:
                # Found by digest: docker removes the digest reference; we have tags only.
                raise NotFound(f"image {name}: no such tag (remove it by id)")
            if not force and len(img.repo_tags) == 1:
                user = next(iter(self.users(img)), None)
                if user is not None:
                    raise Conflict(f"image {reference.parse(name).familiar}: unable to remove repository reference "
                                   f"(must force): container {user.record.short_id} is using its referenced image {short}")
            self.untag(full)
            if len(img.repo_tags) > 1:
                return
            quiet = True  # the last tag went: remove the image too if nothing needs it
            img = self.store.get(img.id)
        elif img.repo_tags and _single_repository(img.repo_tags):
            # By id, with tags in one repository only: they all go (docker needs no -f for that).
            self._check(img, force, quiet=False, tags_conflict=False)
            for t in img.repo_tags:
                self.untag(t)
            img = self.store.get(img.id)
        self._delete(img, force, prune, quiet)

    def _check(self, img: Image, force: bool, quiet: bool, tags_conflict: bool = True) -> bool:
        """Raise (or, with ``quiet``, return False) when the image may not be deleted."""
        short = img.short_id
        conflict = None
        running = self.users(img, running=True)
        if running:
            conflict = f"image {short}: unable to delete (cannot be forced): image is being used by running container {running[0].record.short_id}"
        elif self.children(img):
            conflict = f"image {short}: unable to delete (cannot be forced): image has dependent child images"
        elif not force:
            stopped = self.users(img, running=False)
            if stopped:
                conflict = f"image {short}: unable to delete (must be forced): image is being used by stopped container {stopped[0].record.short_id}"
            elif img.repo_tags and tags_conflict and not quiet:
                conflict = f"image {short}: unable to delete (must be forced): image is referenced in multiple repositories"
        if conflict is None:
            return True
        if quiet:
            return False
        raise Conflict(conflict)

    def _delete(self, img: Image, force: bool, prune: bool, quiet: bool) -> None:
        if not self._check(img, force, quiet):
            return
        for t in img.repo_tags:
            self.untag(t)
        self.store.remove(img)
        self.records.append(Deleted(deleted=img.id))
        self.removed.append(img)
        parent = parent_of(img)
        if prune and parent:
            p = self.store.find(parent)
            if p is not None and not p.repo_tags and not self.users(p) and not self.children(p):
                self._delete(p, force=False, prune=True, quiet=True)

    def collect(self) -> int:
        """Remove the layers and blobs nothing uses any more; returns the bytes freed."""
        keep = {d for c in self.engine.containers() for d in c.record.layers}
        before = set(os.listdir(self.store.layers_dir))
        candidates = {hex_of(d) for img in self.removed for d in img.diff_ids}
        sizes = {h: dir_size(os.path.join(self.store.layers_dir, h)) for h in candidates & before}
        blobs_before = _blob_sizes(self.store)
        self.store.gc(keep_layers=keep)
        after = set(os.listdir(self.store.layers_dir))
        blobs_after = _blob_sizes(self.store)
        gone = sorted((before - after) & candidates)
        # docker lists the layers it deleted after the image.
        self.records += [Deleted(deleted="sha256:" + h) for h in gone]
        return sum(sizes.get(h, 0) for h in gone) + sum(n for b, n in blobs_before.items() if b not in blobs_after)


def _blob_sizes(store: ImageStore) -> dict[str, int]:
    out = {}
    for name in os.listdir(store.blobs):
        try:
            out[name] = os.path.getsize(os.path.join(store.blobs, name))
        except OSError:
            continue
    return out


def _parse_or_none(name: str) -> reference.Reference | None:
    try:
        return reference.parse(name)
    except Exception:
        return None


def remove(engine: Engine, names: list[str], force: bool = False, prune: bool = True) -> tuple[list[Deleted], list[str]]:
    """``rmi``: returns the lines to print and the errors (one per name that failed), as docker goes on."""
    r = _Remover(engine)
    errors = []
    for name in names:
        try:
            r.remove(name, force, prune)
        except (Conflict, NotFound) as e:
            errors.append(str(e))
    if r.removed:
        r.collect()
    return r.records, errors


def prune(engine: Engine, all_images: bool = False) -> tuple[list[Deleted], int]:
    """``image prune [-a]``: dangling images (or every image no container uses); returns lines and bytes freed."""
    r = _Remover(engine)
    used = {c.record.image_id for c in r.containers}
    for s in summaries(engine, r.containers):  # newest first: children before their parents
        if s.image.id in used:
            continue
        if not all_images and not s.dangling:
            continue
        img = engine.images.find(s.image.id)
        if img is None:
            continue  # already gone with a child
        r._delete(img, force=True, prune=True, quiet=True)
    freed = r.collect()
    return r.records, freed


@dataclass(frozen=True)
class HistoryRow:
    image: str  # the image id of the step, or "<missing>"
    created: str
    created_by: str
    size: int
    comment: str
    empty_layer: bool


def history(engine: Engine, img: Image) -> list[HistoryRow]:
    """One row per history entry, newest first; a step's image id where the store has that image."""
    by_id = {i.id: i for i in engine.images.images()}
    owners: dict[int, str] = {}
    cur: Image | None = img
    seen = set()
    while cur is not None and cur.id not in seen:
        seen.add(cur.id)
        owners.setdefault(len(cur.history) - 1, cur.id)
        cur = by_id.get(parent_of(cur))
    rows = []
    layer_i = 0
    sizes = [engine.images.layer_size(d) for d in img.diff_ids]
    for n, h in enumerate(img.history):
        size = 0
        if not h.empty_layer:
            size = sizes[layer_i] if layer_i < len(sizes) else 0
            layer_i += 1
        rows.append(HistoryRow(owners.get(n, "<missing>"), h.created, h.created_by, size, h.comment, h.empty_layer))
    if not img.history:
        # No history at all (some imported images): one row per layer.
        rows = [HistoryRow(img.id if i == len(sizes) - 1 else "<missing>", img.created, "", s, "", False)
                for i, s in enumerate(sizes)]
    return list(reversed(rows))

