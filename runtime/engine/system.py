"""``system info``, ``system df`` and ``system prune``: the store as a whole."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from typing import Any

from .. import __version__, cgroups
from ..images.store import Image
from .engine import Engine, dir_size
from .inspect import image_size
from .model import ContainerStatus


def info(engine: Engine) -> dict[str, Any]:
    """What ``docker info`` reports, in its JSON field names."""
    containers = engine.containers()
    counts = {s: sum(1 for c in containers if c.status is s) for s in ContainerStatus}
    lay = cgroups.layout()
    mem = 0
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem = int(line.split()[1]) * 1024
    except OSError:
        pass
    osname = "Linux"
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    osname = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return {
        "Containers": len(containers),
        "ContainersRunning": counts[ContainerStatus.RUNNING],
        "ContainersPaused": counts[ContainerStatus.PAUSED],
        "ContainersStopped": len(containers) - counts[ContainerStatus.RUNNING] - counts[ContainerStatus.PAUSED],
        "Images": len(engine.images.images()),
        "Driver": "overlay2",
        "LoggingDriver": "k8s-file",
        "CgroupDriver": "cgroupfs",
        "CgroupVersion": str(lay.version),
        "CgroupLayout": lay.description,
        "CgroupParent": engine.cgroup_parent,
        "KernelVersion": platform.release(),
        "OperatingSystem": osname,
        "OSType": "linux",
        "Architecture": platform.machine(),
        "NCPU": os.cpu_count() or 1,
        "MemTotal": mem,
        "DockerRootDir": engine.root,
        "ServerVersion": f"tuidock {__version__}",
        "Runtimes": {"tuidock-runtime": {"path": "built in"}},
        "DefaultRuntime": "tuidock-runtime",
    }


@dataclass(frozen=True)
class DiskUsage:
    kind: str
    total: int
    active: int
    size: int
    reclaimable: int


def df(engine: Engine) -> list[DiskUsage]:
    containers = engine.containers()
    images = engine.images.images()
    used_ids = {c.record.image_id for c in containers}
    used_layers = {d for c in containers for d in c.record.layers}
    img_size = sum(image_size(i, engine.images) for i in images)
    reclaim_imgs = sum(image_size(i, engine.images) for i in images if i.id not in used_ids
                       and not set(i.diff_ids) <= used_layers)
    sizes = {c.id: dir_size(engine.paths(c.id).upper) for c in containers}
    up = [c for c in containers if c.status.is_up()]
    return [
        DiskUsage("Images", len(images), sum(1 for i in images if i.id in used_ids), img_size, reclaim_imgs),
        DiskUsage("Containers", len(containers), len(up), sum(sizes.values()),
                  sum(s for cid, s in sizes.items() if cid not in {c.id for c in up})),
        _volume_usage(engine),
    ]


def _volume_usage(engine: Engine) -> DiskUsage:
    """docker's "Local Volumes" row: a volume is active while any container uses it."""
    vols = engine.volume_usage()
    return DiskUsage("Local Volumes", len(vols), sum(1 for u in vols if u.in_use), sum(u.size or 0 for u in vols),
                     sum(u.size or 0 for u in vols if not u.in_use))


def unused_images(engine: Engine, all_unused: bool) -> list[Image]:
    """Dangling images (no tag), or with ``all_unused`` every image no container uses."""
    used = {c.record.image_id for c in engine.containers()}
    return [i for i in engine.images.images() if i.id not in used and (all_unused or not i.repo_tags)]


def prune(engine: Engine, all_images: bool = False) -> dict[str, Any]:
    """Remove stopped containers, unused networks (and a crash's network leftovers), unused images, layers and blobs."""
    containers = engine.prune()
    networks = [n.name for n in engine.networks.prune()]
    removed_images = []
    for img in unused_images(engine, all_images):
        engine.images.remove(img)
        removed_images.append(img.id)
    keep = {d for c in engine.containers() for d in c.record.layers}
    before = dir_size(engine.images.layers_dir) + dir_size(engine.images.blobs)
    engine.images.gc(keep_layers=keep)
    after = dir_size(engine.images.layers_dir) + dir_size(engine.images.blobs)
    return {
        "containers": [cid for cid, _ in containers],
        "networks": networks,
        "images": removed_images,
        "reclaimed": sum(size for _, size in containers) + max(before - after, 0),
    }
