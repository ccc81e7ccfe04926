"""The container's root filesystem: a mount plan as data, then the steps that apply it.

:func:`plan` turns a spec into a :class:`RootfsPlan` without touching the
system (unit-tested table-style). The container's PID 1 then runs, in its own
mount namespace:

1. :func:`prepare`: make ``/`` a slave (host mounts never see ours), mount the
   overlay (image layers + init layer as lowerdirs, the writable upper layer)
   on the bundle's root, then every mount of the spec *inside* it: /proc, a
   tmpfs /dev with device nodes, /dev/pts (a new devpts instance), /dev/shm,
   /dev/mqueue, a read-only /sys and cgroup filesystem, binds. Each target is
   resolved inside the root (:mod:`runtime.securepath`), so a symlink planted
   in the image cannot redirect a mount onto the host.
2. :func:`pivot`: pivot_root into it and detach the old root, so nothing of
   the host's tree stays reachable (runc's ``pivot_root(".", ".")`` trick).
3. :func:`finish`: masked paths (``/dev/null`` or an empty read-only tmpfs
   over them), read-only paths, and a read-only root if asked.

The overlay is mounted in the container's mount namespace only: the host's
mount table never shows it, and it disappears with the container, even if
every tuidock process is killed.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass, field

from . import _sys, copyup
from .cgroups import Layout
from .copyup import is_root
from .errors import RuntimeFailure
from .oci.spec import Device, Mount, Spec
from .securepath import fd_path, open_in_root

_FLAG_OPTIONS: dict[str, tuple[bool, int]] = {
    # option: (clear?, flag) as in mount(8) and runc's parseMountOptions
    "async": (True, _sys.MS_SYNCHRONOUS),
    "atime": (True, _sys.MS_NOATIME),
    "bind": (False, _sys.MS_BIND),
    "defaults": (False, 0),
    "dev": (True, _sys.MS_NODEV),
    "diratime": (True, _sys.MS_NODIRATIME),
    "dirsync": (False, _sys.MS_DIRSYNC),
    "exec": (True, _sys.MS_NOEXEC),
    "mand": (False, _sys.MS_MANDLOCK),
    "noatime": (False, _sys.MS_NOATIME),
    "nodev": (False, _sys.MS_NODEV),
    "nodiratime": (False, _sys.MS_NODIRATIME),
    "noexec": (False, _sys.MS_NOEXEC),
    "nosuid": (False, _sys.MS_NOSUID),
    "nosymfollow": (False, _sys.MS_NOSYMFOLLOW),
    "rbind": (False, _sys.MS_BIND | _sys.MS_REC),
    "relatime": (False, _sys.MS_RELATIME),
    "ro": (False, _sys.MS_RDONLY),
    "rw": (True, _sys.MS_RDONLY),
    "strictatime": (False, _sys.MS_STRICTATIME),
    "suid": (True, _sys.MS_NOSUID),
    "sync": (False, _sys.MS_SYNCHRONOUS),
}
_PROPAGATION = {
    "private": _sys.MS_PRIVATE, "rprivate": _sys.MS_PRIVATE | _sys.MS_REC,
    "shared": _sys.MS_SHARED, "rshared": _sys.MS_SHARED | _sys.MS_REC,
    "slave": _sys.MS_SLAVE, "rslave": _sys.MS_SLAVE | _sys.MS_REC,
    "unbindable": _sys.MS_UNBINDABLE, "runbindable": _sys.MS_UNBINDABLE | _sys.MS_REC,
}
# Flags that must be repeated on a read-only remount, or it fails (mount(2), EPERM).
_LOCKED = _sys.MS_NOSUID | _sys.MS_NODEV | _sys.MS_NOEXEC | _sys.MS_NOATIME | _sys.MS_RELATIME | _sys.MS_STRICTATIME


@dataclass(frozen=True)
class MountOptions:
    flags: int
    propagation: int
    data: str

    @property
    def bind(self) -> bool:
        return bool(self.flags & _sys.MS_BIND)

    @property
    def readonly(self) -> bool:
        return bool(self.flags & _sys.MS_RDONLY)


def parse_options(options: tuple[str, ...] | list[str]) -> MountOptions:
    flags = prop = 0
    data = []
    for opt in options:
        if opt in _FLAG_OPTIONS:
            clear, bit = _FLAG_OPTIONS[opt]
            flags = flags & ~bit if clear else flags | bit
        elif opt in _PROPAGATION:
            prop |= _PROPAGATION[opt]
        elif opt in ("tmpcopyup", "z", "Z", "copy", "nocopy", "copyup"):
            continue  # engine-level options, already handled (copyup: see MountOp.copy_up)
        else:
            data.append(opt)
    return MountOptions(flags, prop, ",".join(data))


@dataclass(frozen=True)
class MountOp:
    """Mount ``source`` (fstype, flags, data) on ``target``, a path inside the container root."""

    target: str
    source: str | None
    fstype: str | None
    flags: int
    data: str
    propagation: int = 0
    kind: str = "dir"  # what to create at the target: "dir" or "file"
    # tuidock's "copyup" mount option (volumes): if the source directory is
    # empty, first copy into it what the root holds at the target (runtime.copyup).
    copy_up: bool = False

    @property
    def readonly(self) -> bool:
        return bool(self.flags & _sys.MS_RDONLY)


@dataclass(frozen=True)
class Overlay:
    lowerdir: tuple[str, ...]  # top-most first, as overlayfs wants them
    upperdir: str
    workdir: str
    base: str = ""  # directory the paths are relative to (keeps mount data under a page)

    def data(self) -> str:
        return f"lowerdir={':'.join(self.lowerdir)},upperdir={self.upperdir},workdir={self.workdir}"


@dataclass(frozen=True)
class RootfsPlan:
    rootfs: str
    root_propagation: int
    overlay: Overlay | None
    mounts: tuple[MountOp, ...]
    devices: tuple[Device, ...]
    symlinks: tuple[tuple[str, str], ...]  # (link target, path inside the root)
    masked: tuple[str, ...]
    readonly: tuple[str, ...]
    root_readonly: bool
    notes: tuple[str, ...] = field(default=())

    def describe(self) -> list[str]:
        """How the root was assembled, one step a line (shown by ``inspect`` and the TUI)."""
        lines = []
        if self.overlay:
            lines.append(f"overlay on {self.rootfs}: {len(self.overlay.lowerdir)} lower layers, upper {self.overlay.upperdir}")
        else:
            lines.append(f"bind {self.rootfs} on itself")
        for m in self.mounts:
            ro = " (ro)" if m.readonly else ""
            if m.flags & _sys.MS_REMOUNT:
                lines.append(f"remount {m.target}{ro}")
            elif m.fstype:
                lines.append(f"{m.fstype} on {m.target}{ro}")
            else:
                copy = " (the root's files copied in first if it is empty)" if m.copy_up else ""
                lines.append(f"bind {m.source} on {m.target}{ro}{copy}")
        lines.append("pivot_root into it; old root made slave and detached")
        lines += [f"masked {p}" for p in self.masked]
        lines += [f"read-only {p}" for p in self.readonly]
        if self.root_readonly:
            lines.append("root remounted read-only")
        return lines


def _comount_links(spec: Spec, layout: Layout) -> tuple[tuple[str, str], ...]:
    """``cpu -> cpu,cpuacct`` links for co-mounted v1 controllers, as runc makes them."""
    cg = next((m for m in spec.mounts if m.type == "cgroup"), None)
    if cg is None or layout.version != 1:
        return ()
    links = []
    for mp in sorted(set(layout.v1.values())):
        name = os.path.basename(mp)
        if "," in name:
            links += [(name, f"{cg.destination}/{c}") for c in name.split(",")]
    return tuple(links)


DEFAULT_DEVICES = (
    Device("/dev/null", "c", 1, 3),
    Device("/dev/zero", "c", 1, 5),
    Device("/dev/full", "c", 1, 7),
    Device("/dev/random", "c", 1, 8),
    Device("/dev/urandom", "c", 1, 9),
    Device("/dev/tty", "c", 5, 0),
)
DEV_SYMLINKS = (
    ("/proc/self/fd", "/dev/fd"),
    ("/proc/self/fd/0", "/dev/stdin"),
    ("/proc/self/fd/1", "/dev/stdout"),
    ("/proc/self/fd/2", "/dev/stderr"),
    ("pts/ptmx", "/dev/ptmx"),
    ("/proc/kcore", "/dev/core"),
)


def _cgroup_mounts(m: Mount, opts: MountOptions, layout: Layout, cgroupns: bool, cgroup_path: str) -> list[MountOp]:
    """Translate the spec's one ``cgroup`` mount into what this machine's layout needs.

    In a cgroup namespace a fresh cgroup mount shows the container's own
    cgroup as its root. Without one it would show the host's whole tree, so
    the container's own directories are bind-mounted instead (as runc does).
    """
    flags = opts.flags | _sys.MS_NOSUID | _sys.MS_NODEV | _sys.MS_NOEXEC

    def one(dest: str, fstype: str, data: str, host_dir: str) -> MountOp:
        if cgroupns or not cgroup_path:
            return MountOp(dest, fstype, fstype, flags, data)
        return MountOp(dest, host_dir + cgroup_path, None, flags | _sys.MS_BIND, "")

    if layout.version == 2:
        assert layout.unified is not None
        return [one(m.destination, "cgroup2", "", layout.unified)]
    # v1: a tmpfs holding one mount per hierarchy.
    ops = [MountOp(m.destination, "tmpfs", "tmpfs", flags & ~_sys.MS_RDONLY, "mode=755")]
    by_mount: dict[str, list[str]] = {}
    for controller, mp in layout.v1.items():
        by_mount.setdefault(mp, []).append(controller)
    for mp, controllers in sorted(by_mount.items()):
        name = os.path.basename(mp)
        data = ",".join(("none," + c) if c.startswith("name=") else c for c in sorted(controllers))
        ops.append(one(f"{m.destination}/{name}", "cgroup", data, mp))
    if layout.unified:
        ops.append(one(f"{m.destination}/{os.path.basename(layout.unified)}", "cgroup2", "", layout.unified))
    if opts.readonly:
        ops.append(MountOp(m.destination, None, None, _sys.MS_REMOUNT | _sys.MS_BIND | _sys.MS_RDONLY | (flags & _LOCKED), ""))
    return ops


def plan(spec: Spec, bundle: str, layout: Layout, cgroup_path: str = "", host_kcore: bool = False) -> RootfsPlan:
    """Everything :func:`prepare`, :func:`pivot` and :func:`finish` will do, as data.

    ``cgroup_path`` is the container's cgroup (needed only without a cgroup
    namespace); ``host_kcore`` says whether the host has /proc/kcore, for
    the /dev/core link (runc makes it only then).
    """
    rootfs = os.path.normpath(spec.root_path if spec.root_path.startswith("/") else os.path.join(bundle, spec.root_path))
    ov = spec.overlay
    overlay = None
    if ov:
        overlay = Overlay(tuple(ov["lowerdir"]), ov["upperdir"], ov["workdir"], ov.get("base", ""))
    ops: list[MountOp] = []
    for m in spec.mounts:
        opts = parse_options(m.options)
        if m.type == "cgroup":
            ops += _cgroup_mounts(m, opts, layout, spec.has_namespace("cgroup"), cgroup_path)
            continue
        if m.type == "bind" or opts.bind:
            flags = opts.flags | _sys.MS_BIND
            kind = "dir"
            try:
                if not stat.S_ISDIR(os.stat(m.source).st_mode):
                    kind = "file"
            except FileNotFoundError:
                raise RuntimeFailure(f"bind mount {m.destination}: source path {m.source} does not exist") from None
            ops.append(MountOp(m.destination, m.source, None, flags, "", opts.propagation, kind,
                               copy_up="copyup" in m.options and kind == "dir"))
        else:
            ops.append(MountOp(m.destination, m.source or m.type, m.type, opts.flags, opts.data, opts.propagation))
    has_dev = any(op.target == "/dev" for op in ops)
    devices = tuple(DEFAULT_DEVICES) + tuple(d for d in spec.devices if d.path not in {x.path for x in DEFAULT_DEVICES})
    propagation = _PROPAGATION.get(spec.rootfs_propagation, _sys.MS_SLAVE | _sys.MS_REC)
    return RootfsPlan(
        rootfs=rootfs,
        root_propagation=propagation,
        overlay=overlay,
        mounts=tuple(ops),
        devices=devices if has_dev else tuple(spec.devices),
        symlinks=(tuple(sl for sl in DEV_SYMLINKS if sl[1] != "/dev/core" or host_kcore) if has_dev else ())
        + _comount_links(spec, layout),
        masked=spec.masked_paths,
        readonly=spec.readonly_paths,
        root_readonly=spec.root_readonly,
    )


# ---- applying the plan (runs in the container's PID 1, before execve) -------


def _remount_ro(path: str, flags: int) -> None:
    _sys.mount(None, path, None, _sys.MS_BIND | _sys.MS_REMOUNT | _sys.MS_RDONLY | (flags & _LOCKED))


def _mount_op(root_fd: int, op: MountOp) -> None:
    fd = open_in_root(root_fd, op.target, create=op.kind)
    try:
        if is_root(root_fd, fd):
            # A target the container turned into a symlink to / resolves, confined,
            # to the root itself: a mount there would cover the whole root.
            raise RuntimeFailure(f"mount {op.target}: resolves to the container's root directory "
                                 "(a symlink to /?): refusing to mount over it")
        target = fd_path(fd)
        flags = op.flags
        if flags & _sys.MS_REMOUNT:
            _sys.mount(None, target, None, flags)
            return
        try:
            if flags & _sys.MS_BIND:
                # A bind mount takes only MS_BIND|MS_REC at first; the rest needs a remount.
                _sys.mount(op.source, target, None, flags & (_sys.MS_BIND | _sys.MS_REC))
            else:
                _sys.mount(op.source, target, op.fstype, flags & ~_sys.MS_RDONLY, op.data or None)
        except _sys.SyscallError as e:
            # Name the target as the user wrote it, not the /proc/self/fd path mount(2) was given.
            e.what = e.what.replace(target, op.target, 1)
            if e.errno == errno.ENOTDIR and flags & _sys.MS_BIND:
                raise RuntimeFailure(f"{e}: are you trying to mount a directory onto a file "
                                     "(or vice-versa)?") from None
            raise
    finally:
        os.close(fd)
    later = flags & ~(_sys.MS_BIND | _sys.MS_REC) if flags & _sys.MS_BIND else flags & _sys.MS_RDONLY
    if not later and not op.propagation:
        return
    # The descriptor named the directory the new mount now covers; re-resolve
    # the path so that the remount and the propagation change hit the new mount.
    fd = open_in_root(root_fd, op.target)
    try:
        if flags & _sys.MS_BIND and later:
            # MS_REMOUNT sets the mount's flags anew: keep nosuid/nodev/noexec/atime
            # flags the source mount has (a host /tmp's nosuid), or ro would clear them.
            kept = os.statvfs(fd_path(fd)).f_flag & _LOCKED
            _sys.mount(None, fd_path(fd), None, _sys.MS_BIND | _sys.MS_REMOUNT | later | kept)
        elif later:
            _remount_ro(fd_path(fd), flags)
        if op.propagation:
            _sys.mount(None, fd_path(fd), None, op.propagation)
    finally:
        os.close(fd)


def _make_devices(root_fd: int, devices: tuple[Device, ...]) -> None:
    for dev in devices:
        parent = open_in_root(root_fd, os.path.dirname(dev.path), create="dir")
        try:
            kind = {"c": stat.S_IFCHR, "u": stat.S_IFCHR, "b": stat.S_IFBLK, "p": stat.S_IFIFO}[dev.type]
            name = os.path.basename(dev.path)
            pdir = fd_path(parent)
            try:
                os.mknod(os.path.join(pdir, name), kind | 0o666, os.makedev(dev.major, dev.minor))
            except FileExistsError:
                pass
            os.chmod(os.path.join(pdir, name), dev.file_mode & 0o7777)
            os.chown(os.path.join(pdir, name), dev.uid, dev.gid)
        finally:
            os.close(parent)


def prepare(p: RootfsPlan) -> None:
    """Steps before pivot_root: propagation, overlay, mounts, /dev contents."""
    if os.path.realpath(p.rootfs) != p.rootfs:
        # As runc: a symlink anywhere in the path could be swapped under us.
        raise RuntimeFailure(f"invalid rootfs {p.rootfs}: not an absolute path, or a symlink")
    _sys.mount(None, "/", None, p.root_propagation)
    if p.overlay:
        # Relative lowerdir paths keep the mount data under one page; they
        # are resolved against the current directory at mount(2) time.
        if p.overlay.base:
            os.chdir(p.overlay.base)
        _sys.mount("overlay", p.rootfs, "overlay", 0, p.overlay.data())
        os.chdir("/")
    else:
        _sys.mount(p.rootfs, p.rootfs, None, _sys.MS_BIND | _sys.MS_REC)
    root_fd = os.open(p.rootfs, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        # Copy-ups first, while nothing is mounted on the root: they copy the
        # container's own files, never another mount's (runtime.copyup).
        for op in p.mounts:
            if op.copy_up and op.source:
                copyup.populate(root_fd, op.target, op.source)
        for op in p.mounts:
            _mount_op(root_fd, op)
            if op.flags & _sys.MS_REMOUNT:
                continue
            if op.target == "/dev":
                _make_devices(root_fd, p.devices)
            # Links go into the file system just mounted where they live
            # (/dev's, the cgroup tmpfs's), before it may turn read-only.
            for target, link in p.symlinks:
                if os.path.dirname(link) != op.target:
                    continue
                parent = open_in_root(root_fd, op.target)
                try:
                    os.symlink(target, os.path.join(fd_path(parent), os.path.basename(link)))
                except FileExistsError:
                    pass
                finally:
                    os.close(parent)
        if not any(op.target == "/dev" for op in p.mounts) and p.devices:
            _make_devices(root_fd, p.devices)
    finally:
        os.close(root_fd)


def pivot(rootfs: str) -> None:
    """Make ``rootfs`` the root and detach the old one (pivot_root(2), runc's libcontainer/rootfs_linux.go)."""
    old = os.open("/", os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
    new = os.open(rootfs, os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fchdir(new)
        # pivot_root(".", ".") stacks the old root on top of the new one; no
        # put_old directory is needed inside the container.
        _sys.pivot_root(".", ".")
        os.fchdir(old)
        # Make the old root a slave first, so detaching it never propagates an
        # unmount back into the host's namespace.
        _sys.mount(None, ".", None, _sys.MS_SLAVE | _sys.MS_REC)
        _sys.umount2(".", _sys.MNT_DETACH)
        os.chdir("/")
    finally:
        os.close(old)
        os.close(new)


def finish(p: RootfsPlan) -> None:
    """Steps after pivot_root: masked and read-only paths, read-only root."""
    for path in p.masked:
        try:
            st = os.stat(path)
        except (FileNotFoundError, PermissionError):
            continue
        if stat.S_ISDIR(st.st_mode):
            _sys.mount("tmpfs", path, "tmpfs", _sys.MS_RDONLY, "size=0")
        else:
            _sys.mount("/dev/null", path, None, _sys.MS_BIND)
    for path in p.readonly:
        try:
            _sys.mount(path, path, None, _sys.MS_BIND | _sys.MS_REC)
        except OSError as e:
            if e.errno == errno.ENOENT:
                continue
            raise
        _remount_ro(path, _sys.MS_NOSUID | _sys.MS_NODEV | _sys.MS_NOEXEC)
    if p.root_readonly:
        _remount_ro("/", 0)
