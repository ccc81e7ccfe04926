"""docker's volume copy-up: a new, empty volume first receives what the container root holds at its mount point.

Where it happens, and why. It runs in the container's PID 1, inside the
container's own mount namespace, after the overlay root is mounted and
before anything is mounted on it (:func:`runtime.rootfs.prepare`, for each
bind mount with the ``copyup`` option). There:

- the source is exactly what docker copies from: the container's root
  (the image's layers *and* the container's own upper layer), with
  whiteouts and opaque directories already applied by overlayfs itself,
  where reading the layers from the host would mean re-implementing
  overlayfs's merge rules, and an ``rm`` in an earlier run could be missed;
- no other mount can shadow part of the source (nested volumes copy from
  the image, as in docker, not from the volume mounted above them);
- the mount target is resolved inside the root with :mod:`runtime.securepath`,
  the same way the mount itself is, so a symlink the container planted
  cannot make the copy read from the host;
- the overlay is never mounted in the host's namespace, and the copy costs
  nothing when the volume is not empty (every later start).

The volume's directory is walked by descriptor only (``mkdirat``, ``openat``
with ``O_NOFOLLOW|O_EXCL``), because another running container may be writing
into the same volume: a symlink it plants cannot redirect the copy onto the
host. An ``flock`` on the volume's directory serialises two containers
starting with the same new volume; the second finds it no longer empty.
Ownership, modes (set after the owner: chown clears set-id bits), extended
attributes (file capabilities among them: set after chown, which clears
them), timestamps and hard links are kept, as docker's copy keeps them.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat

from .errors import RuntimeFailure, reason
from .securepath import fd_path, open_in_root

MAX_LINK_FDS = 512  # hard-linked inodes remembered by descriptor; beyond that, copies
_SKIP_XATTRS = ("trusted.overlay.", "security.selinux")


class _Links:
    def __init__(self) -> None:
        self.fds: dict[tuple[int, int], int] = {}

    def close(self) -> None:
        for fd in self.fds.values():
            os.close(fd)


def is_root(root_fd: int, fd: int) -> bool:
    a, b = os.fstat(root_fd), os.fstat(fd)
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def populate(root_fd: int, target: str, volume_dir: str) -> bool:
    """Copy the directory ``target`` (a path inside the root) into ``volume_dir`` if that is empty.

    Returns whether anything was copied. Nothing happens when the volume has
    content, or when the target does not exist or is not a directory.
    """
    try:
        dst = os.open(volume_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as e:
        raise RuntimeFailure(f"volume {volume_dir}: {reason(e)}") from None
    try:
        fcntl.flock(dst, fcntl.LOCK_EX)
        if os.listdir(dst):
            return False
        try:
            found = open_in_root(root_fd, target)
        except (FileNotFoundError, NotADirectoryError):
            return False
        try:
            if is_root(root_fd, found):
                raise RuntimeFailure(f"mount {target}: resolves to the container's root directory "
                                     "(a symlink to /?): refusing to mount over it")
            if not stat.S_ISDIR(os.fstat(found).st_mode):
                return False
            src = os.open(fd_path(found), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        finally:
            os.close(found)
        links = _Links()
        try:
            _copy_tree(src, dst, links, target)
            _copy_meta(src, dst, os.fstat(src), target)
        except OSError as e:
            raise RuntimeFailure(f"volume copy-up of {target} into {volume_dir}: {e.filename or ''}"
                                 f"{': ' if e.filename else ''}{reason(e)}") from None
        finally:
            links.close()
            os.close(src)
        return True
    finally:
        os.close(dst)


def _copy_tree(src: int, dst: int, links: _Links, where: str) -> None:
    for name in os.listdir(src):
        path = f"{where.rstrip('/')}/{name}"
        st = os.stat(name, dir_fd=src, follow_symlinks=False)
        mode = st.st_mode
        try:
            if stat.S_ISDIR(mode):
                os.mkdir(name, 0o700, dir_fd=dst)
                s = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=src)
                try:
                    d = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dst)
                    try:
                        _copy_tree(s, d, links, path)
                        _copy_meta(s, d, st, path)
                    finally:
                        os.close(d)
                finally:
                    os.close(s)
            elif stat.S_ISREG(mode):
                _copy_file(src, dst, name, st, links, path)
            elif stat.S_ISLNK(mode):
                os.symlink(os.readlink(name, dir_fd=src), name, dir_fd=dst)
                os.chown(name, st.st_uid, st.st_gid, dir_fd=dst, follow_symlinks=False)
                os.utime(name, ns=(st.st_atime_ns, st.st_mtime_ns), dir_fd=dst, follow_symlinks=False)
            else:  # devices, fifos, sockets
                os.mknod(name, mode, st.st_rdev, dir_fd=dst)
                node = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dst)
                try:
                    # An O_PATH descriptor takes no fchown; its /proc/self/fd link does, without following.
                    os.chown(fd_path(node), st.st_uid, st.st_gid)
                    os.chmod(fd_path(node), stat.S_IMODE(mode))
                    os.utime(fd_path(node), ns=(st.st_atime_ns, st.st_mtime_ns))
                finally:
                    os.close(node)
        except FileExistsError:
            continue  # someone else (a running container sharing the volume) wrote it first
        except OSError as e:
            if not e.filename:
                e.filename = path
            raise


def _copy_file(src: int, dst: int, name: str, st: os.stat_result, links: _Links, path: str) -> None:
    key = (st.st_dev, st.st_ino)
    if st.st_nlink > 1 and key in links.fds:
        # linkat(AT_FDCWD, "/proc/self/fd/N", ..., AT_SYMLINK_FOLLOW) links the inode behind the descriptor.
        os.link(fd_path(links.fds[key]), name, dst_dir_fd=dst, follow_symlinks=True)
        return
    s = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=src)
    try:
        d = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=dst)
        try:
            while os.sendfile(d, s, None, 1 << 30) > 0:
                pass
            _copy_meta(s, d, st, path)
            if st.st_nlink > 1 and len(links.fds) < MAX_LINK_FDS:
                links.fds[key] = os.open(fd_path(d), os.O_PATH | os.O_CLOEXEC)
        finally:
            os.close(d)
    finally:
        os.close(s)


def _copy_meta(s: int, d: int, st: os.stat_result, path: str) -> None:
    """Owner, mode, extended attributes, times: in that order (see the module docstring)."""
    os.fchown(d, st.st_uid, st.st_gid)
    os.fchmod(d, stat.S_IMODE(st.st_mode))
    try:
        names = os.listxattr(s)
    except OSError:
        names = []
    for key in names:
        if key.startswith(_SKIP_XATTRS):
            continue
        try:
            os.setxattr(d, key, os.getxattr(s, key))
        except OSError as e:
            if e.errno not in (errno.ENOTSUP, errno.EPERM, errno.ENODATA, errno.EINVAL):
                raise
    os.utime(d, ns=(st.st_atime_ns, st.st_mtime_ns))
