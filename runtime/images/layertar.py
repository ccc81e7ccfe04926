"""Writing image layers: a directory in overlayfs's format (an upper layer) as an OCI layer tar.

The reverse of :mod:`runtime.images.layers`: a 0/0 character device (an
overlayfs whiteout) becomes an empty ``.wh.NAME`` file, a directory with
``trusted.overlay.opaque=y`` is followed by ``NAME/.wh..wh..opq``, hard
links inside the tree become tar hard links, and overlayfs's own xattrs are
left out (OCI image spec, "Representing Changes"). The tar is deterministic
for a given tree: entries in byte order of their names, PAX format, numeric
owners without names, whole-second times, no access or change times.
Sockets cannot be archived and are skipped, as docker does.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

from .layers import OPAQUE, OPAQUE_XATTR, RESERVED_XATTRS, WHITEOUT_PREFIX

REDIRECT_XATTR = "trusted.overlay.redirect"


class HashingWriter:
    """A write-only file object that hashes and counts what passes through it."""

    def __init__(self, f: IO[bytes]) -> None:
        self.f = f
        self.h = hashlib.sha256()
        self.n = 0

    def write(self, data: bytes) -> int:
        self.h.update(data)
        self.n += len(data)
        self.f.write(data)
        return len(data)

    def digest(self) -> str:
        return "sha256:" + self.h.hexdigest()


@dataclass(frozen=True)
class Written:
    diff_id: str
    tar_size: int
    entries: int


def is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _xattr(path: str, name: str) -> bytes | None:
    try:
        return os.getxattr(path, name, follow_symlinks=False)
    except OSError:
        return None


def _xattrs(path: str) -> dict[str, str]:
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return {}
    out = {}
    for name in sorted(names):
        if name.startswith(RESERVED_XATTRS):
            continue
        value = _xattr(path, name)
        if value is not None:
            out["SCHILY.xattr." + name] = value.decode("utf-8", "surrogateescape")
    return out


def _info(name: str, st: os.stat_result, kind: bytes) -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.mode = stat.S_IMODE(st.st_mode)
    ti.uid, ti.gid = st.st_uid, st.st_gid
    ti.uname = ti.gname = ""
    ti.mtime = int(st.st_mtime)
    return ti


def write_layer(src: str, out: IO[bytes], skip: Callable[[str], bool] | None = None) -> Written:
    """Write the tree under ``src`` as a layer tar to ``out``; ``skip(rel)`` leaves a path (and all below) out."""
    hw = HashingWriter(out)
    links: dict[tuple[int, int], str] = {}
    count = 0
    with tarfile.open(fileobj=hw, mode="w|", format=tarfile.PAX_FORMAT) as tf:  # type: ignore[call-overload]

        def walk(rel_dir: str) -> None:
            nonlocal count
            full_dir = os.path.join(src, rel_dir) if rel_dir else src
            for name in sorted(os.listdir(full_dir), key=os.fsencode):
                rel = f"{rel_dir}/{name}" if rel_dir else name
                if skip is not None and skip(rel):
                    continue
                full = os.path.join(full_dir, name)
                st = os.lstat(full)
                mode = st.st_mode
                if is_whiteout(st):
                    wh = _info(f"{rel_dir}/{WHITEOUT_PREFIX}{name}" if rel_dir else WHITEOUT_PREFIX + name, st,
                               tarfile.REGTYPE)
                    wh.mode = 0o644
                    tf.addfile(wh)
                elif stat.S_ISDIR(mode):
                    if _xattr(full, REDIRECT_XATTR) is not None:
                        # A renamed directory (overlayfs redirect_dir): its contents live in a lower
                        # layer under another name, which a tar of this tree cannot express.
                        raise OSError(f"{rel}: a renamed directory (overlayfs redirect) cannot be archived")
                    ti = _info(rel, st, tarfile.DIRTYPE)
                    ti.pax_headers = _xattrs(full)
                    tf.addfile(ti)
                    if _xattr(full, OPAQUE_XATTR) == b"y":
                        op = _info(f"{rel}/{OPAQUE}", st, tarfile.REGTYPE)
                        op.mode = 0o644
                        tf.addfile(op)
                    walk(rel)
                elif stat.S_ISREG(mode):
                    key = (st.st_dev, st.st_ino)
                    if st.st_nlink > 1 and key in links:
                        ti = _info(rel, st, tarfile.LNKTYPE)
                        ti.linkname = links[key]
                        tf.addfile(ti)
                    else:
                        if st.st_nlink > 1:
                            links[key] = rel
                        ti = _info(rel, st, tarfile.REGTYPE)
                        ti.size = st.st_size
                        ti.pax_headers = _xattrs(full)
                        with open(full, "rb") as f:
                            tf.addfile(ti, f)
                elif stat.S_ISLNK(mode):
                    ti = _info(rel, st, tarfile.SYMTYPE)
                    ti.linkname = os.readlink(full)
                    ti.pax_headers = _xattrs(full)
                    tf.addfile(ti)
                elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
                    ti = _info(rel, st, tarfile.CHRTYPE if stat.S_ISCHR(mode) else tarfile.BLKTYPE)
                    ti.devmajor, ti.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
                    tf.addfile(ti)
                elif stat.S_ISFIFO(mode):
                    tf.addfile(_info(rel, st, tarfile.FIFOTYPE))
                else:
                    continue  # sockets
                count += 1

        walk("")
    return Written(hw.digest(), hw.n, count)
