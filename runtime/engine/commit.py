"""``commit``: a container's upper layer becomes a new image layer on top of its image's.

What goes into the layer is the container's writable layer, as overlayfs
left it (deletions are 0/0 character devices, which become ``.wh.``
entries; opaque directories ``.wh..wh..opq``), and nothing else:

- not the *init layer*: /etc/hosts, /etc/hostname and /etc/resolv.conf are
  bind-mounted from the container's directory and their mount points live
  in the init layer below the upper one, so they never reach it;
- not volume, bind or tmpfs contents: those are other file systems mounted
  over the root;
- not the placeholders created in the upper layer to mount them on (an
  empty directory or file at each mount target, and directories copied up
  only to hold one): the same mount targets ``diff`` leaves out.

A running container is paused (cgroup freezer) while its upper layer is
read, as docker does, and resumed afterwards. The new image's config carries
the container's (Cmd, Entrypoint, Env, WorkingDir, User, Labels, ...), then
any ``--change``, and a history entry.
"""

from __future__ import annotations

import copy
import os
import time
from typing import Any

from ..errors import Conflict, NotFound
from ..images import configedit, layertar, reference
from ..images import layers as layerlib
from ..images.ingest import Ingest
from ..images.store import Image, Layer
from .engine import Engine
from .model import ContainerInfo, ContainerStatus


def now_rfc3339() -> str:
    ns = time.time_ns()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 1_000_000_000)) + f".{ns % 1_000_000_000:09d}Z"


def mount_targets(engine: Engine, info: ContainerInfo) -> set[str]:
    """Paths (relative to the root, no leading slash) that are mount points, not content."""
    targets = {m.destination for m in engine._mounts(info)}
    targets |= {m.target for m in info.record.host.mounts}
    targets |= set(info.record.config.volumes)
    return {os.path.normpath(t).lstrip("/") for t in targets if t and t != "/"}


def placeholder_skips(upper: str, targets: set[str]) -> set[str]:
    """What to leave out of the layer: mount targets present in the upper layer, and the
    directories above them that hold nothing else (copied up or created just for the mount)."""
    drop = {t for t in targets if os.path.lexists(os.path.join(upper, t))}
    ancestors = sorted({os.path.dirname(t) for t in drop if os.path.dirname(t)}, key=lambda p: -p.count("/"))
    for a in ancestors:
        path = os.path.join(upper, a)
        if not os.path.isdir(path) or os.path.islink(path) or layertar._xattr(path, layerlib.OPAQUE_XATTR) == b"y":
            continue
        if all(os.path.join(a, n) in drop for n in os.listdir(path)):
            drop.add(a)
            parent = os.path.dirname(a)
            if parent and parent not in ancestors:
                ancestors.append(parent)
    return drop


def init_whiteouts(upper: str, image_layers: list[str]) -> set[str]:
    """Whiteouts of init-layer files (``/etc/mtab``, ``/dev/console``, ...) the image itself does not have:
    the container deleted something of the runtime's, not of the image."""
    from ..images.rootview import RootView
    from .specgen import INIT_LAYER_DIRS, INIT_LAYER_FILES

    view = RootView(image_layers)
    out = set()
    for rel in INIT_LAYER_FILES + INIT_LAYER_DIRS + ("etc/mtab",):
        try:
            st = os.lstat(os.path.join(upper, rel))
        except (FileNotFoundError, NotADirectoryError):
            continue
        if layertar.is_whiteout(st) and view.lookup("/" + rel) is None:
            out.add(rel)
    return out


def layer_from_upper(tx: Ingest, upper: str, skips: set[str]) -> Layer:
    """Write ``upper`` as an uncompressed layer tar into the ingest, extracted and verified."""
    path = tx.scratch(f"upper-{len(tx.blobs)}.tar")
    with open(path, "wb") as f:
        written = layertar.write_layer(upper, f, skip=lambda rel: rel in skips)
    digest = tx.blob_file(path, expect=written.diff_id, move=True)
    return tx.layer(digest, layerlib.MEDIA_TAR[0], written.diff_id)


def image_config(base: dict[str, Any], info: ContainerInfo) -> dict[str, Any]:
    """The image's ``config`` object with the container's settings, as ``docker commit`` writes it."""
    cfg = copy.deepcopy(base)
    c = info.record.config
    cfg.update({
        "Env": list(c.env),
        "Cmd": list(c.cmd) or None,
        "Entrypoint": list(c.entrypoint) or None,
        "WorkingDir": c.working_dir,
        "User": c.user,
        "Labels": dict(c.labels) or None,
        "ExposedPorts": {p: {} for p in c.exposed_ports} or None,
        "Volumes": {v: {} for v in c.volumes} or None,
    })
    if c.stop_signal and c.stop_signal != "SIGTERM":
        cfg["StopSignal"] = c.stop_signal
    return {k: v for k, v in cfg.items() if v is not None}


def commit(engine: Engine, ref: str, repo_tag: str | None = None, message: str = "", author: str = "",
           changes: list[str] | None = None, pause: bool = True) -> Image:
    """Create an image from a container's changes; returns the new image."""
    info = engine.get(ref)
    rec = info.record
    tags = [str(reference.parse(repo_tag))] if repo_tag else []
    base = engine.images.find(rec.image_id)
    if base is None:
        raise NotFound(f"container {rec.short_id}: its image {rec.image_id[7:19]} is no longer in the store "
                       "(removed with rmi -f), so its layers cannot be committed")
    if info.status is ContainerStatus.RESTARTING:
        raise Conflict(f"container {rec.short_id}: cannot commit a restarting container")
    paths = engine.paths(info.id)
    paused_here = False
    if pause and info.status is ContainerStatus.RUNNING:
        engine.pause(info.id)
        paused_here = True
    try:
        with Ingest(engine.images, what=f"commit {rec.short_id}") as tx:
            skips = placeholder_skips(paths.upper, mount_targets(engine, info))
            skips |= init_whiteouts(paths.upper, [engine.images.layer_path(d) for d in reversed(rec.layers)])
            layer = layer_from_upper(tx, paths.upper, skips)
            if paused_here:
                engine.unpause(info.id)
                paused_here = False
            now = now_rfc3339()
            raw = copy.deepcopy(base.raw_config)
            cfg = image_config(raw.get("config") or {}, info)
            cfg = configedit.apply_changes(cfg, list(changes or []))
            raw["config"] = cfg
            raw["created"] = now
            raw["parent"] = base.id
            raw["container"] = rec.id
            if author:
                raw["author"] = author
            raw["rootfs"] = {"type": "layers", "diff_ids": list(base.diff_ids) + [layer.diff_id]}
            entry: dict[str, Any] = {"created": now, "created_by": " ".join(rec.config.entrypoint + rec.config.cmd)}
            if author:
                entry["author"] = author
            if message:
                entry["comment"] = message
            raw["history"] = list(raw.get("history") or []) + [entry]
            return tx.commit(raw, list(base.layers) + [layer], tags)
    finally:
        if paused_here:
            engine.unpause(info.id)
