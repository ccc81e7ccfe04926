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
import stat
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import fsutil
from ..errors import Conflict, InvalidArgument, NotFound, reason
from ..securepath import fd_path, open_in_root
from .model import ContainerRecord, ContainerStatus

if TYPE_CHECKING:
    from .engine import Engine
    from .layerview import Kind

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
    """A volume: its name, its data directory on the host (what is mounted), labels and creation time."""

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


@dataclass(frozen=True)
class VolumeFile:
    """One name in a directory of a volume (symlinks are listed, never followed)."""

    name: str
    kind: Kind
    size: int  # st_size; 0 for directories
    mode: int  # permission bits
    uid: int
    gid: int
    mtime_ns: int
    target: str = ""  # a symlink's target as stored


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

    def sweep(self, min_age_s: float = 600) -> tuple[str, ...]:
        """Remove what a killed ``create`` or ``remove`` left: ``.rm-*`` (already renamed away)
        and ``.new-*`` older than ``min_age_s`` (younger ones may be a create in progress)."""
        try:
            leftovers = [n for n in os.listdir(self.dir) if n.startswith((".new-", ".rm-"))]
        except FileNotFoundError:
            return ()
        out = []
        for n in leftovers:
            path = os.path.join(self.dir, n)
            try:
                if n.startswith(".new-") and time.time() - os.lstat(path).st_mtime < min_age_s:
                    continue
            except FileNotFoundError:
                continue
            fsutil.remove_tree(path)
            out.append(n)
        return tuple(out)

    def size(self, name: str) -> int:
        """Bytes used by the volume's files (hard links counted once)."""
        from .engine import dir_size

        return dir_size(self.get(name).mountpoint)

    def _open(self, name: str, rel: str) -> int:
        """``rel`` inside the volume, opened for reading (O_NONBLOCK: a fifo must not block).

        Containers write into volumes while they run and can plant symlinks
        there (``/data/x -> /etc``): ``rel`` is resolved with the volume as
        its root (:mod:`runtime.securepath`), so no symlink leads the host
        reader out of it.
        """
        root = os.open(self.get(name).mountpoint, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            found = open_in_root(root, rel)
            try:
                return os.open(fd_path(found), os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            finally:
                os.close(found)
        except OSError as e:
            why = reason(e)
            if not (rel and why.startswith(rel)):  # securepath's messages name the path already
                why = f"{rel or '/'}: {why}"
            raise NotFound(f"volume {name}: {why}") from None
        finally:
            os.close(root)

    def files(self, name: str, rel: str = "") -> tuple[VolumeFile, ...]:
        """The directory ``rel`` of the volume (``""`` is its top), sorted by name."""
        from .layerview import Kind, kind_of

        fd = self._open(name, rel)
        try:
            if not stat.S_ISDIR(os.fstat(fd).st_mode):
                raise InvalidArgument(f"volume {name}: {rel}: not a directory")
            out = []
            for entry in sorted(os.listdir(fd)):
                try:
                    st = os.stat(entry, dir_fd=fd, follow_symlinks=False)
                except FileNotFoundError:
                    continue  # removed by a container meanwhile
                kind = kind_of(st)
                kind = Kind.CHAR if kind is Kind.WHITEOUT else kind  # no layers here: a 0/0 device is a device
                target = os.readlink(entry, dir_fd=fd) if kind is Kind.SYMLINK else ""
                out.append(VolumeFile(entry, kind, 0 if kind is Kind.DIR else st.st_size, stat.S_IMODE(st.st_mode),
                                      st.st_uid, st.st_gid, st.st_mtime_ns, target))
            return tuple(out)
        finally:
            os.close(fd)

    def read(self, name: str, rel: str, limit: int = 64 << 10) -> tuple[bytes, int]:
        """The first ``limit`` bytes of the regular file ``rel`` in the volume, and its whole size."""
        fd = self._open(name, rel)
        with os.fdopen(fd, "rb") as f:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise InvalidArgument(f"volume {name}: {rel}: not a regular file")
            return f.read(limit), st.st_size


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


@dataclass(frozen=True)
class VolumeUser:
    """A container (running or not) that mounts a volume, and where."""

    id: str
    name: str
    status: ContainerStatus
    destination: str
    read_only: bool

    @property
    def short_id(self) -> str:
        return self.id[:12]


@dataclass(frozen=True)
class VolumeUsage:
    """A volume with what the volumes screen and ``volume ls`` show beside it."""

    volume: Volume
    users: tuple[VolumeUser, ...]
    size: int | None = None  # bytes under the mount point; None when not measured

    @property
    def in_use(self) -> bool:
        """``volume rm`` refuses, ``prune`` skips: some container, running or stopped, mounts it."""
        return bool(self.users)


class VolumeInUse(Conflict):
    """``volume rm`` of a volume that containers still mount; ``users`` names them."""

    def __init__(self, name: str, users: tuple[VolumeUser, ...]) -> None:
        who = list(dict.fromkeys(f"{u.name} ({u.short_id})" for u in users))
        super().__init__(f"remove {name}: volume is in use by container{'s' if len(who) > 1 else ''} "
                         f"{', '.join(who)}")
        self.volume = name
        self.users = users


def _status(engine: Engine, rec: ContainerRecord) -> ContainerStatus:
    try:
        return engine.info(rec.id).status
    except (NotFound, ValueError, KeyError, json.JSONDecodeError):
        return ContainerStatus.DEAD  # docker's word for a container being removed


def _users(engine: Engine, name: str, recs: list[ContainerRecord]) -> tuple[VolumeUser, ...]:
    out = []
    for rec in sorted(recs, key=lambda r: r.created_ns, reverse=True):
        status = _status(engine, rec)
        out += [VolumeUser(rec.id, rec.name, status, m.target, m.read_only) for m in rec.host.mounts
                if m.type == "volume" and m.source == name]
    return tuple(out)


def users(engine: Engine, name: str) -> tuple[VolumeUser, ...]:
    """The containers (running or not) whose mounts name this volume, newest first."""
    engine.volume_store.get(name)
    return _users(engine, name, in_use(engine).get(name, []))


def usage(engine: Engine, sizes: bool = True) -> list[VolumeUsage]:
    """Every volume, sorted by name, with its users and (``sizes``: a walk of each) its size."""
    store = engine.volume_store
    used = in_use(engine)
    out = []
    for v in store.list():
        try:
            size = store.size(v.name) if sizes else None
        except NotFound:
            continue  # removed meanwhile
        out.append(VolumeUsage(v, _users(engine, v.name, used.get(v.name, [])), size))
    return out


def in_use(engine: Engine) -> dict[str, list[ContainerRecord]]:
    """Volume name -> the containers that use it."""
    out: dict[str, list[ContainerRecord]] = {}
    for rec in _records(engine):
        for name in volume_names(rec):
            out.setdefault(name, []).append(rec)
    return out


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
            raise VolumeInUse(name, _users(engine, name, recs))
        store.remove(name)
    return True


def prune(engine: Engine, all_volumes: bool = False, labels: tuple[str, ...] = ()) -> list[tuple[str, int]]:
    """``volume prune``: unused anonymous volumes (every unused one with ``all_volumes``); (name, bytes)."""
    store = engine.volume_store
    out = []
    with store.lock():
        store.sweep()
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
    """docker's ``label=KEY`` / ``label=KEY=VALUE`` filters, and ``label!=`` as ``!KEY[=VALUE]`` (all must hold)."""
    for w in wanted:
        negate = w.startswith("!")
        k, sep, v = w.lstrip("!").partition("=")
        if (k in labels and (not sep or labels[k] == v)) == negate:
            return False
    return True


def dangling(engine: Engine) -> set[str]:
    """Names of the volumes no container uses."""
    used = in_use(engine)
    return {v.name for v in engine.volume_store.list() if v.name not in used}
