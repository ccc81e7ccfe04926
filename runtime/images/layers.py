"""Extracting image layers safely, turning OCI whiteouts into overlayfs ones.

Python's tarfile filters are not a safety boundary (FACTS.md), so every entry
is placed by hand, relative to descriptors of directories already checked:

- names that are absolute or contain ``..`` are refused;
- an entry whose parent path passes through a symlink (planted earlier in the
  same layer) is refused: layers are extracted each into a directory of its
  own, so a symlink from a lower layer is not even there to follow;
- a hard link must name a regular file already extracted from this layer;
- ``.wh.NAME`` becomes a 0/0 character device (overlayfs's whiteout) and
  ``.wh..wh..opq`` the ``trusted.overlay.opaque=y`` xattr, per the OCI image
  spec's "Representing Changes"; both must be empty regular files, and any
  other ``.wh.`` name is malformed;
- overlayfs's own xattrs (``trusted.overlay.*``) are never taken from a
  layer: redirects, metacopy and origin records would make overlayfs look up
  files the layer does not contain;
- directory metadata is applied last, through a descriptor opened without
  following symlinks, so a directory later replaced by a symlink cannot turn
  a ``chmod`` onto a host file;
- the bytes written, the number of entries and the size of any one tar
  header are capped, so a decompression bomb fails cleanly and leaves
  nothing behind.
"""

from __future__ import annotations

import errno
import gzip
import hashlib
import os
import stat
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any, Protocol

from ..errors import InvalidArgument

WHITEOUT_PREFIX = ".wh."
OPAQUE = ".wh..wh..opq"
OPAQUE_XATTR = "trusted.overlay.opaque"
# Extended attributes a layer may not set: overlayfs's control records
# (trusted.* as root, user.* with the userxattr mount option).
RESERVED_XATTRS = ("trusted.overlay.", "user.overlay.")

MEDIA_TAR = ("application/vnd.oci.image.layer.v1.tar", "application/vnd.docker.image.rootfs.diff.tar")
MEDIA_GZIP = ("application/vnd.oci.image.layer.v1.tar+gzip", "application/vnd.docker.image.rootfs.diff.tar.gzip")


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 64 << 30  # uncompressed content of one layer
    max_entries: int = 2_000_000
    max_header: int = 1 << 20  # one pax or GNU long-name header
    max_archive_bytes: int = 256 << 30  # everything an archive (load, import) unpacks to
    max_json: int = 16 << 20  # a manifest, config or index


class Readable(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...


class LayerError(InvalidArgument):
    """A layer that cannot be extracted safely."""


@dataclass(frozen=True)
class Extracted:
    diff_id: str  # sha256 of the uncompressed tar stream, as read
    size: int  # bytes of file content written
    tar_size: int  # bytes of the uncompressed tar stream


def open_layer(path: str, media_type: str = "") -> IO[bytes]:
    """The uncompressed tar stream of a layer blob (gzip detected by magic as well as media type)."""
    f = open(path, "rb")
    head = f.read(4)
    f.seek(0)
    if head[:2] == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=f, mode="rb")  # type: ignore[return-value]
    if head == b"\x28\xb5\x2f\xfd":
        f.close()
        raise LayerError(f"layer {os.path.basename(path)}: zstd-compressed layers are not supported")
    return f


class HashingReader:
    """Wraps an uncompressed stream; hashes and counts everything read through it.

    ``check`` is called before every read (tarfile reads a few KiB at a time): a
    cancel's check raises there, which stops an extraction within milliseconds.
    """

    def __init__(self, f: Any, check: Callable[[], None] | None = None) -> None:
        self.f = f
        self.check = check
        self.h = hashlib.sha256()
        self.n = 0

    def read(self, n: int = -1) -> bytes:
        if self.check is not None:
            self.check()
        data: bytes = self.f.read(n)
        self.h.update(data)
        self.n += len(data)
        return data

    def drain(self) -> None:
        """tarfile stops at the end-of-archive marker; hash the padding after it too."""
        while self.read(1 << 20):
            pass

    def digest(self) -> str:
        return "sha256:" + self.h.hexdigest()


def extract_blob(path: str, dest: str, limits: Limits = Limits(), media_type: str = "",
                 what: str = "layer", check: Callable[[], None] | None = None) -> Extracted:
    """Extract a layer blob (tar or gzip) into ``dest``; returns its diff id as computed while reading.

    ``check`` (a cancel's) is called between reads; what it raises ends the extraction, ``dest`` half full."""
    stream = open_layer(path, media_type)
    try:
        hashing = HashingReader(stream, check)
        size = extract(hashing, dest, limits, what=what)
        try:
            hashing.drain()
        except (OSError, EOFError, zlib_error()) as e:
            raise LayerError(f"{what}: not a valid compressed stream: {e}") from None
        return Extracted(hashing.digest(), size, hashing.n)
    finally:
        stream.close()


class _BoundedTarInfo(tarfile.TarInfo):
    """tarfile reads a pax or GNU long-name header whole into memory: cap its size first."""

    max_header = Limits.max_header

    def _proc_member(self, tf: tarfile.TarFile) -> tarfile.TarInfo:
        if self.type in (tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK, tarfile.XHDTYPE,
                         tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE) and self.size > self.max_header:
            raise LayerError(f"a tar header of {self.size} bytes is larger than the limit of {self.max_header}")
        return super()._proc_member(tf)  # type: ignore[misc,no-any-return]


def _bounded(limits: Limits) -> type[tarfile.TarInfo]:
    if limits.max_header == _BoundedTarInfo.max_header:
        return _BoundedTarInfo
    return type("_BoundedTarInfoN", (_BoundedTarInfo,), {"max_header": limits.max_header})


def _clean(name: str, what: str) -> list[str]:
    if name.startswith("/"):
        raise LayerError(f"{what}: absolute path {name!r} in layer")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise LayerError(f"{what}: path {name!r} leaves the layer")
    return parts


def _walk(root_fd: int, parts: list[str], create: bool) -> int:
    """Descend to a directory without following any symlink; returns a new fd."""
    fd = os.dup(root_fd)
    try:
        for p in parts:
            try:
                nfd = os.open(p, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise
                os.mkdir(p, 0o755, dir_fd=fd)
                nfd = os.open(p, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
            except OSError as e:
                if e.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise LayerError(f"path component {p!r} is a symlink or not a directory: refusing to write through it") from None
                raise
            os.close(fd)
            fd = nfd
        return fd
    except BaseException:
        os.close(fd)
        raise


def _remove(dir_fd: int, name: str, keep_dir: bool) -> None:
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        if keep_dir:
            return
        import shutil

        # rmtree works with descriptors and never follows symlinks inside the tree.
        shutil.rmtree(os.path.join(f"/proc/self/fd/{dir_fd}", name))
    else:
        os.unlink(name, dir_fd=dir_fd)


def _xattrs(m: tarfile.TarInfo) -> list[tuple[str, bytes]]:
    out = []
    for key, value in (m.pax_headers or {}).items():
        if key.startswith("SCHILY.xattr."):
            name = key[len("SCHILY.xattr."):]
            if name.startswith(RESERVED_XATTRS):
                continue
            out.append((name, value.encode("utf-8", "surrogateescape")))
    return out


def _apply_meta(dir_fd: int, name: str, m: tarfile.TarInfo) -> None:
    """Owner, mode, xattrs and times of an entry just created by name in ``dir_fd`` (never a directory)."""
    path = os.path.join(f"/proc/self/fd/{dir_fd}", name)
    os.chown(path, m.uid, m.gid, follow_symlinks=False)
    if not m.issym():
        # The entry is one this process has just created (a file, device or
        # fifo), so the name cannot have been swapped for a symlink.
        os.chmod(path, m.mode & 0o7777)
    for key, value in _xattrs(m):
        try:
            os.setxattr(path, key, value, follow_symlinks=False)
        except OSError:
            pass  # xattrs this filesystem does not take are not fatal, as in docker
    os.utime(path, (m.mtime, m.mtime), follow_symlinks=False)


def _apply_dir_meta(parent_fd: int, name: str, m: tarfile.TarInfo) -> None:
    """A directory's metadata, through a descriptor: skipped if the name is no longer a directory."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent_fd)
    except OSError as e:
        if e.errno in (errno.ELOOP, errno.ENOTDIR, errno.ENOENT):
            return  # replaced later in the layer by a symlink, a file or a whiteout
        raise
    try:
        os.fchown(fd, m.uid, m.gid)
        os.fchmod(fd, m.mode & 0o7777)
        for key, value in _xattrs(m):
            try:
                os.setxattr(fd, key, value)
            except OSError:
                pass
        os.utime(fd, (m.mtime, m.mtime))
    finally:
        os.close(fd)


def _whiteout(pfd: int, base: str, m: tarfile.TarInfo, what: str) -> None:
    if not m.isreg() or m.size != 0:
        raise LayerError(f"{what}: malformed whiteout {m.name!r}: not an empty regular file")
    if base == OPAQUE:
        os.setxattr(f"/proc/self/fd/{pfd}", OPAQUE_XATTR, b"y")
        return
    target = base[len(WHITEOUT_PREFIX):]
    if not target or target in (".", "..") or target.startswith(WHITEOUT_PREFIX):
        raise LayerError(f"{what}: malformed whiteout {m.name!r}")
    _remove(pfd, target, keep_dir=False)
    os.mknod(target, stat.S_IFCHR | 0o000, os.makedev(0, 0), dir_fd=pfd)


def extract(stream: Readable, dest: str, limits: Limits = Limits(), what: str = "layer") -> int:
    """Extract one layer's tar stream into ``dest`` (an empty directory); returns bytes written."""
    root_fd = os.open(dest, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    total = entries = 0
    dirs: list[tuple[list[str], tarfile.TarInfo]] = []
    try:
        with tarfile.open(fileobj=stream, mode="r|", tarinfo=_bounded(limits)) as tf:  # type: ignore[call-overload]
            for m in tf:
                entries += 1
                if entries > limits.max_entries:
                    raise LayerError(f"{what}: more than {limits.max_entries} entries")
                parts = _clean(m.name, what)
                if not parts:
                    if m.isdir():
                        continue  # "./" itself
                    raise LayerError(f"{what}: entry with an empty name")
                *parent, base = parts
                pfd = _walk(root_fd, parent, create=True)
                try:
                    if base.startswith(WHITEOUT_PREFIX):
                        _whiteout(pfd, base, m, what)
                        continue
                    if m.isdir():
                        _remove(pfd, base, keep_dir=True)
                        try:
                            os.mkdir(base, 0o755, dir_fd=pfd)
                        except FileExistsError:
                            pass
                        dirs.append((parts, m))
                        continue
                    _remove(pfd, base, keep_dir=False)
                    if m.isfile():
                        total += m.size
                        if total > limits.max_bytes:
                            raise LayerError(f"{what}: larger than the limit of {limits.max_bytes} bytes")
                        src = tf.extractfile(m)
                        fd = os.open(base, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                                     0o600, dir_fd=pfd)
                        try:
                            assert src is not None
                            while chunk := src.read(1 << 20):
                                os.write(fd, chunk)
                        finally:
                            os.close(fd)
                    elif m.issym():
                        os.symlink(m.linkname, base, dir_fd=pfd)
                    elif m.islnk():
                        _hardlink(root_fd, pfd, base, m, what)
                        continue  # a hard link shares the target's metadata
                    elif m.ischr() or m.isblk():
                        kind = stat.S_IFCHR if m.ischr() else stat.S_IFBLK
                        os.mknod(base, kind | 0o600, os.makedev(m.devmajor, m.devminor), dir_fd=pfd)
                    elif m.isfifo():
                        os.mkfifo(base, 0o600, dir_fd=pfd)
                    else:
                        raise LayerError(f"{what}: unsupported entry type for {m.name!r}")
                    _apply_meta(pfd, base, m)
                finally:
                    os.close(pfd)
        # Directory metadata last, deepest first, so writing into them does not undo it.
        for parts, m in sorted(dirs, key=lambda x: -len(x[0])):
            try:
                pfd = _walk(root_fd, parts[:-1], create=False)
            except (FileNotFoundError, LayerError):
                continue  # an ancestor was replaced later in the layer
            try:
                _apply_dir_meta(pfd, parts[-1], m)
            finally:
                os.close(pfd)
    except (tarfile.TarError, EOFError, gzip.BadGzipFile, zlib_error()) as e:
        raise LayerError(f"{what}: not a valid tar archive: {e}") from None
    finally:
        os.close(root_fd)
    return total


def _hardlink(root_fd: int, pfd: int, base: str, m: tarfile.TarInfo, what: str) -> None:
    lparts = _clean(m.linkname, what)
    if not lparts:
        raise LayerError(f"{what}: hard link {m.name!r} to nothing")
    *lparent, lbase = lparts
    try:
        lfd = _walk(root_fd, lparent, create=False)
    except FileNotFoundError:
        raise LayerError(f"{what}: hard link {m.name!r} to {m.linkname!r}, which is not in this layer") from None
    try:
        st = os.stat(lbase, dir_fd=lfd, follow_symlinks=False)
        if not stat.S_ISREG(st.st_mode):
            raise LayerError(f"{what}: hard link {m.name!r} to {m.linkname!r}, which is not a regular file of this layer")
        os.link(lbase, base, src_dir_fd=lfd, dst_dir_fd=pfd, follow_symlinks=False)
    except FileNotFoundError:
        raise LayerError(f"{what}: hard link {m.name!r} to {m.linkname!r}, which is not in this layer") from None
    finally:
        os.close(lfd)


def zlib_error() -> type[Exception]:
    import zlib

    return zlib.error
