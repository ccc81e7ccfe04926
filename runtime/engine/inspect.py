"""``inspect`` output in docker's JSON shape, so scripts and ``--format`` templates carry over."""

from __future__ import annotations

import time
from typing import Any

from .. import procfs
from ..images import reference
from ..images.store import Image, ImageStore
from . import mounts, networking
from .model import ContainerInfo, ContainerStatus
from .specgen import ContainerPaths
from .volumes import VolumeStore

ZERO_TIME = "0001-01-01T00:00:00Z"


def rfc3339(ns: int) -> str:
    if not ns:
        return ZERO_TIME
    sec, frac = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)) + f".{frac:09d}Z"


def container(info: ContainerInfo, paths: ContainerPaths, store: ImageStore) -> dict[str, Any]:
    rec, st, status = info.record, info.state, info.status
    cfg = rec.config
    args = list(cfg.entrypoint + cfg.cmd)
    lowers = [paths.init] + [store.layer_path(d) for d in reversed(rec.layers)]
    running = status in (ContainerStatus.RUNNING, ContainerStatus.PAUSED)
    out: dict[str, Any] = {
        "Id": rec.id,
        "Created": rfc3339(rec.created_ns),
        "Path": args[0] if args else "",
        "Args": args[1:],
        "State": {
            "Status": status.value,
            "Running": running,
            "Paused": status is ContainerStatus.PAUSED,
            "Restarting": status is ContainerStatus.RESTARTING,
            "OOMKilled": bool(st and st.oom_killed),
            "Dead": status is ContainerStatus.DEAD,
            "Pid": info.pid,
            "ExitCode": (st.exit_code or 0) if st and not running else 0,
            "Error": st.error if st else "",
            "StartedAt": rfc3339(st.started_ns if st else 0),
            "FinishedAt": rfc3339(st.finished_ns if st and not running else 0),
        },
        "Image": rec.image_id,
        "ResolvConfPath": paths.resolv,
        "HostnamePath": paths.hostname,
        "HostsPath": paths.hosts,
        "LogPath": paths.log,
        "Name": "/" + rec.name,
        "RestartCount": st.restart_count if st else 0,
        "Driver": "overlay2",
        "Platform": "linux",
        "HostConfig": rec.host.to_docker(),
        "GraphDriver": {
            "Name": "overlay2",
            "Data": {
                "LowerDir": ":".join(lowers),
                "UpperDir": paths.upper,
                "WorkDir": paths.work,
                "MergedDir": paths.merged,
            },
        },
        "Mounts": mounts.inspect_entries(VolumeStore(paths.root), rec.host),
        "Config": cfg.to_docker(),
        "NetworkSettings": networking.settings(info, paths.dir),
        # tuidock's own view of the kernel objects behind the container.
        "Tuidock": {
            "MonitorPid": st.monitor_pid if st and running else 0,
            "Cgroup": st.cgroup if st else "",
            "Namespaces": procfs.ns_links(info.pid) if info.pid else {},
            "Rootfs": list(st.rootfs_steps) if st else [],
        },
    }
    return out


def image(img: Image, store: ImageStore) -> dict[str, Any]:
    repo_tags = [reference.parse(t).familiar for t in img.repo_tags]
    repo_digests = sorted({f"{reference.parse(t).repository}@{img.manifest_digest}" for t in img.repo_tags})
    cfg = img.raw_config.get("config") or {}
    return {
        "Id": img.id,
        "RepoTags": repo_tags,
        "RepoDigests": repo_digests,
        "Parent": img.raw_config.get("parent") or "",  # set by build and commit, as docker does
        "Comment": (img.history[-1].comment if img.history else ""),
        "Created": img.created,
        "Container": img.raw_config.get("container") or "",
        "Author": img.raw_config.get("author") or "",
        "Config": cfg,
        "Architecture": img.architecture,
        "Os": img.os,
        "Size": image_size(img, store),
        "GraphDriver": {
            "Name": "overlay2",
            "Data": {"LowerDir": ":".join(store.layer_path(d) for d in reversed(img.diff_ids))},
        },
        "RootFS": {"Type": "layers", "Layers": list(img.diff_ids)},
        "Metadata": {"LastTagTime": ZERO_TIME},
    }


def image_size(img: Image, store: ImageStore) -> int:
    """The uncompressed size of its layers, as ``docker images`` reports it."""
    total = 0
    for d in img.diff_ids:
        try:
            total += store.layer_size(d)
        except (OSError, ValueError):
            continue
    return total


def layer_dirs(info: ContainerInfo, paths: ContainerPaths, store: ImageStore) -> list[str]:
    """The container's lower layers, top-most first (the init layer, then the image's)."""
    return [paths.init] + [store.layer_path(d) for d in reversed(info.record.layers)]

