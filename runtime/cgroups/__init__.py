"""Control groups: one interface, two backends (v2 unified, v1 and hybrid).

Which one the machine runs is read from the filesystem type mounted at the
cgroup root (``cgroup2`` means unified; ``tmpfs`` with ``cgroup`` mounts below
it means v1 or hybrid), never guessed from the kernel version. Every path is a
parameter: :func:`detect` takes the mountinfo text and the cgroup root, so the
backends are tested against fake trees without root.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from ..errors import InvalidArgument
from ..mountinfo import MountInfo, parse_mountinfo
from .base import Cgroup
from .resources import Resources

__all__ = ["Cgroup", "Layout", "Resources", "detect", "open_cgroup", "layout"]

CGROUP_ROOT = "/sys/fs/cgroup"


@dataclass(frozen=True)
class Layout:
    """Where the hierarchies are mounted: v2 has one, v1 has one per controller set."""

    version: int
    unified: str | None = None  # the cgroup2 mount (v2, or hybrid's /sys/fs/cgroup/unified)
    v1: dict[str, str] = field(default_factory=dict)  # controller (or name=...) -> mount point

    @property
    def description(self) -> str:
        """``unified`` (v2 only), ``hybrid`` (v1 with a v2 tree beside) or ``legacy`` (v1 only)."""
        if self.version == 2:
            return "unified"
        return "hybrid" if self.unified else "legacy"


def detect(mountinfo: list[MountInfo], root: str = CGROUP_ROOT) -> Layout:
    """Read the cgroup layout from mountinfo entries."""
    unified = None
    v1: dict[str, str] = {}
    for m in mountinfo:
        if m.fstype == "cgroup2" and (m.mount_point == root or m.mount_point.startswith(root + "/")):
            if m.mount_point == root:
                return Layout(2, unified=root)
            unified = m.mount_point
        elif m.fstype == "cgroup" and m.mount_point.startswith(root + "/"):
            for opt in m.super_options:
                if opt in ("rw", "ro") or opt.startswith(("release_agent", "clone_children", "xattr", "noprefix")):
                    continue
                v1.setdefault(opt, m.mount_point)
    if not v1:
        if unified:
            return Layout(2, unified=unified)
        raise InvalidArgument(f"cgroups: nothing mounted at {root}")
    return Layout(1, unified=unified, v1=v1)


_layout: Layout | None = None


def layout() -> Layout:
    """The running machine's layout, read once per process."""
    global _layout
    if _layout is None:
        with open("/proc/self/mountinfo") as f:
            _layout = detect(parse_mountinfo(f.read()))
    return _layout


def open_cgroup(path: str, lay: Layout | None = None) -> Cgroup:
    """The cgroup at ``path`` (like ``/tuidock/3f2a...``) under the machine's hierarchies."""
    lay = lay or layout()
    if not path.startswith("/"):
        raise InvalidArgument(f"cgroup {path}: the path must be absolute")
    if os.path.normpath(path) != path or "/../" in path + "/":
        raise InvalidArgument(f"cgroup {path}: not a clean path")
    if lay.version == 2:
        from .v2 import CgroupV2

        assert lay.unified is not None
        return CgroupV2(lay.unified + path, path)
    from .v1 import CgroupV1

    dirs = {c: mp + path for c, mp in lay.v1.items()}
    if lay.unified:
        # Hybrid: the container joins the (controller-less) v2 tree too, as
        # systemd and runc arrange it, so its cgroup namespace is whole.
        dirs["unified"] = lay.unified + path
    return CgroupV1(dirs, path)
