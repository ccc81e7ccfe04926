"""Volumes: directories the engine keeps under ``volumes/<name>/_data`` and mounts into containers.

A volume is its data directory (``_data``) and its metadata (``volume.json``:
labels, creation time, the driver, always ``local``). It is published whole:
built under a temporary name and renamed into place (rename(2) onto an
existing, non-empty directory fails), so nobody ever sees a half-made volume,
and two commands creating the same name at once both end up with the volume
that won the rename. Removal is the same in reverse: renamed away, then
deleted.

Whether a volume is in use is a question about the containers' records (a
stopped container still holds its volumes, as in docker). ``volume rm`` and
``volume prune`` therefore hold ``volumes/.lock`` exclusively while they look
and remove, and creating a container holds it shared from the moment its
volumes exist until its record is written: a volume can never be removed
between the two.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import fsutil
from ..errors import Conflict, InvalidArgument, NotFound
from .model import ContainerInfo, ContainerRecord

if TYPE_CHECKING:
    from .engine import Engine

DRIVER = "local"
# docker 23+ marks the volumes it makes for ``-v /path`` with this label;
# ``volume prune`` removes only those unless given ``--all``.
ANONYMOUS_LABEL = "com.docker.volume.anonymous"
NAME_RE = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+")
META = "volume.json"


def check_name(name: str) -> str:
    """docker's local-driver rule: two or more of ``[a-zA-Z0-9_.-]``, starting alphanumeric."""
    if len(name) == 1:
        raise InvalidArgument(f"create {name}: volume name is too short, names should be at least two "
                              "alphanumeric characters")
    if not NAME_RE.fullmatch(name) or len(name) > 255:
        raise InvalidArgument(f'create {name}: "{name}" includes invalid characters for a local volume name, '
                              'only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host '
                              "directory, use absolute path")
    return name


def rfc3339_seconds(ns: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ns // 1_000_000_000))


@dataclass(frozen=True)
class Volume:
    name: str
    mountpoint: str  # the data directory on the host
    created_ns: int
    labels: dict[str, str] = field(default_factory=dict)
    driver: str = DRIVER

    @property
    def anonymous(self) -> bool:
        return ANONYMOUS_LABEL in self.labels

    def to_docker(self) -> dict[str, Any]:
        """``docker volume inspect``'s object."""
        return {
            "CreatedAt": rfc3339_seconds(self.created_ns),
            "Driver": self.driver,
            "Labels": dict(self.labels) or None,
            "Mountpoint": self.mountpoint,
            "Name": self.name,
            "Options": None,
            "Scope": "local",
        }


class VolumeStore:
    """The ``volumes/`` directory of a state root."""

    def __init__(self, root: str) -> None:
        self.dir = os.path.join(root, "volumes")
        self.lock_path = os.path.join(self.dir, ".lock")

    def path(self, name: str) -> str:
        return os.path.join(self.dir, name)

    def data_path(self, name: str) -> str:
        return os.path.join(self.dir, name, "_data")

    def lock(self, shared: bool = False) -> fsutil.locked:
        """Held shared by container creation, exclusively by removal (see the module docstring)."""
        os.makedirs(self.dir, 0o700, exist_ok=True)
        return fsutil.locked(self.lock_path, shared=shared)

    def _load(self, name: str) -> Volume:
        meta = fsutil.read_json(os.path.join(self.path(name), META))
        return Volume(name, self.data_path(name), int(meta.get("CreatedNs", 0)), dict(meta.get("Labels") or {}),
                      meta.get("Driver", DRIVER))

    def find(self, name: str) -> Volume | None:
        if not NAME_RE.fullmatch(name):
            return None
        try:
            return self._load(name)
        except (FileNotFoundError, NotADirectoryError):
            return None

    def get(self, name: str) -> Volume:
        vol = self.find(name)
        if vol is None:
            raise NotFound(f"get {name}: no such volume")
        return vol

    def list(self) -> list[Volume]:
        try:
            names = sorted(n for n in os.listdir(self.dir) if not n.startswith("."))
        except FileNotFoundError:
            return []
        return [v for v in (self.find(n) for n in names) if v is not None]

    def create(self, name: str | None = None, labels: dict[str, str] | None = None) -> tuple[Volume, bool]:
        """The volume ``name`` (a random 64-hex name without one); True if this call made it.

        As ``docker volume create``, asking for an existing name returns that volume.
        A container's anonymous volumes carry :data:`ANONYMOUS_LABEL` in ``labels``.
        """
        labels = dict(labels or {})
        if name is None:
            name = secrets.token_hex(32)
        check_name(name)
        existing = self.find(name)
        if existing is not None:
            return existing, False
        os.makedirs(self.dir, 0o700, exist_ok=True)
        tmp = os.path.join(self.dir, f".new-{secrets.token_hex(8)}")
        os.mkdir(tmp, 0o700)
        try:
            os.mkdir(os.path.join(tmp, "_data"), 0o755)
            now = time.time_ns()
            fsutil.write_json(os.path.join(tmp, META), {"Name": name, "Driver": DRIVER, "Labels": labels,
                                                         "CreatedNs": now})
            try:
                os.rename(tmp, self.path(name))
            except OSError as e:
                # ENOTEMPTY/EEXIST: another command published it first; use theirs.
                fsutil.remove_tree(tmp)
                vol = self.find(name)
                if vol is None:
                    raise InvalidArgument(f"create {name}: {e.strerror.lower() if e.strerror else e}") from None
                return vol, False
        except BaseException:
            fsutil.remove_tree(tmp)
            raise
        return Volume(name, self.data_path(name), now, labels), True

    def remove(self, name: str) -> None:
        """Delete the volume and its data (the caller has checked it is unused)."""
        gone = os.path.join(self.dir, f".rm-{secrets.token_hex(8)}")
        try:
            os.rename(self.path(name), gone)
        except FileNotFoundError:
            raise NotFound(f"get {name}: no such volume") from None
        fsutil.remove_tree(gone)

    def size(self, name: str) -> int:
        from .engine import dir_size

        return dir_size(self.data_path(name))


# ---- volumes and containers ----------------------------------------------------


def _records(engine: Engine) -> list[ContainerRecord]:
    out = []
    for cid in engine._ids():
        try:
            out.append(engine.record(cid))
        except (NotFound, ValueError, KeyError, json.JSONDecodeError):
            continue  # being created or removed right now
    return out


def volume_names(rec: ContainerRecord) -> list[str]:
    return [m.source for m in rec.host.mounts if m.type == "volume" and m.source]


def users(engine: Engine, name: str) -> list[ContainerInfo]:
    """The containers (running or not) whose mounts name this volume."""
    out = []
    for info in engine.containers():
        if name in volume_names(info.record):
            out.append(info)
    return out


def in_use(engine: Engine) -> dict[str, list[ContainerRecord]]:
    """Volume name -> the containers that use it."""
    out: dict[str, list[ContainerRecord]] = {}
    for rec in _records(engine):
        for name in volume_names(rec):
            out.setdefault(name, []).append(rec)
    return out


def _in_use_error(name: str, recs: list[ContainerRecord]) -> Conflict:
    who = ", ".join(f"{r.name} ({r.short_id})" for r in recs)
    return Conflict(f"remove {name}: volume is in use by container{'s' if len(recs) > 1 else ''} {who}")


def remove(engine: Engine, name: str, force: bool = False) -> bool:
    """``volume rm``: refused while any container uses it; ``force`` ignores only a missing volume."""
    store = engine.volume_store
    with store.lock():
        if store.find(name) is None:
            if force:
                return False
            raise NotFound(f"get {name}: no such volume")
        recs = in_use(engine).get(name)
        if recs:
            raise _in_use_error(name, recs)
        store.remove(name)
    return True


def prune(engine: Engine, all_volumes: bool = False, labels: tuple[str, ...] = ()) -> list[tuple[str, int]]:
    """``volume prune``: unused anonymous volumes (every unused one with ``all_volumes``); (name, bytes)."""
    store = engine.volume_store
    out = []
    with store.lock():
        used = in_use(engine)
        for vol in store.list():
            if vol.name in used or not (all_volumes or vol.anonymous) or not labels_match(vol.labels, labels):
                continue
            size = store.size(vol.name)
            store.remove(vol.name)
            out.append((vol.name, size))
    return out


def remove_anonymous(engine: Engine, rec: ContainerRecord) -> list[str]:
    """``rm -v`` and ``--rm``: the container's anonymous volumes that no other container uses."""
    names = [m.source for m in rec.host.mounts if m.type == "volume" and m.anonymous and m.source]
    if not names:
        return []
    store = engine.volume_store
    removed = []
    with store.lock():
        used = in_use(engine)
        for name in names:
            if any(r.id != rec.id for r in used.get(name, [])) or store.find(name) is None:
                continue
            store.remove(name)
            removed.append(name)
    return removed


def labels_match(labels: dict[str, str], wanted: tuple[str, ...]) -> bool:
    """docker's ``label=KEY`` / ``label=KEY=VALUE`` filters (all must hold)."""
    for w in wanted:
        k, sep, v = w.partition("=")
        if k not in labels or (sep and labels[k] != v):
            return False
    return True


def dangling(engine: Engine) -> set[str]:
    """Names of the volumes no container uses."""
    used = in_use(engine)
    return {v.name for v in engine.volume_store.list() if v.name not in used}
