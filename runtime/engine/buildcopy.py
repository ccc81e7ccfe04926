"""COPY and ADD in a build: choosing the files, hashing them (the cache key), staging them as a layer.

Sources come from the build context (with ``.dockerignore`` applied) or,
with ``COPY --from``, from another stage's or image's file system. A source
path never leaves its tree: symlinks in it are resolved inside the context
(or image), as docker does. The destination is resolved inside the image
being built (a symlinked directory in the image is followed *in the image*),
and the files are written into a staging directory that becomes the step's
layer; directories the image already has keep their owner, mode and time in
that layer, new ones are created 0755 (owned by ``--chown``'s user, as
docker does). Writes into the staging directory never follow a symlink.

docker's rules: a directory source copies its *contents*; several sources
(or a wildcard) need a destination ending in ``/``; a destination ending in
``/``, or one that is a directory in the image, receives files by their
names; files are owned by root unless ``--chown`` (a user alone means the
same number as group); ADD unpacks local tar archives (plain, gzip, bzip2,
xz) into the destination and refuses URLs, since builds have no network.
"""

from __future__ import annotations

import bz2
import errno
import fnmatch
import gzip
import hashlib
import lzma
import os
import posixpath
import re
import stat
import tarfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO

from .. import users
from ..errors import InvalidArgument, NotFound
from ..images import layers as layerlib
from ..images import shellword
from ..images.dockerfile import Instruction
from ..images.dockerignore import Matcher
from ..images.rootview import RootView

_WILDCARD = re.compile(r"[*?\[]")
_URL = re.compile(r"^(https?|git|ssh)://|^git@")


class CopyError(InvalidArgument):
    """A COPY or ADD that cannot be carried out."""


@dataclass(frozen=True)
class Entry:
    rel: str  # path below the source item ("" for the item itself)
    real: str  # where the bytes are on this machine
    st: os.stat_result


class Tree:
    """Where sources come from: the context directory, or an image seen through its layers."""

    def __init__(self, view: RootView, matcher: Matcher | None, label: str) -> None:
        self.view = view
        self.matcher = matcher
        self.label = label  # "build context" or "stage builder"
        self._all: list[str] | None = None

    def excluded(self, rel: str) -> bool:
        return self.matcher is not None and bool(rel) and self.matcher.excluded(rel)

    def clean(self, path: str) -> str:
        return posixpath.normpath("/" + path).lstrip("/")

    def item(self, path: str) -> Entry:
        """A source named in the instruction (symlinks resolved inside the tree)."""
        rel = self.clean(path)
        resolved = self.view.resolve(rel).lstrip("/")
        found = self.view.lookup(resolved)
        if found is None or self.excluded(rel) or self.excluded(resolved):
            raise CopyError(f"file not found in {self.label}" + (" or excluded by .dockerignore" if self.matcher else "")
                            + f": stat {rel or '.'}: file does not exist")
        return Entry(resolved, found[0], found[1])

    def entries(self, item: Entry) -> list[Entry]:
        """Everything below a directory item, parents first (excluded files left out)."""
        out: list[Entry] = []
        base = item.rel
        def full(sub: str) -> str:
            return posixpath.join(base, sub) if base else sub

        # Without exception patterns nothing below an excluded directory can come back.
        prune = None if self.matcher is None or self.matcher.has_exclusions else (lambda sub: self.excluded(full(sub)))
        for sub, real, st in self.view.walk("/" + base, prune):
            if not self.excluded(full(sub)):
                out.append(Entry(sub, real, st))
        # Directories whose children an exception re-included are created implicitly.
        return out

    def all_paths(self) -> list[str]:
        if self._all is None:
            prune = None if self.matcher is None or self.matcher.has_exclusions else self.excluded
            self._all = [sub for sub, _, _ in self.view.walk("/", prune) if not self.excluded(sub)]
        return self._all

    def expand(self, pattern: str) -> list[str]:
        """Wildcards match path by path, ``*`` never crossing a ``/`` (Go's filepath.Match)."""
        pat = self.clean(pattern)
        if not _WILDCARD.search(pat):
            return [pat]
        depth = pat.count("/")
        rx = re.compile(fnmatch.translate(pat).replace(".*", "[^/]*"))
        return sorted(p for p in self.all_paths() if p.count("/") == depth and rx.match(p))


def file_digest(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _kind(st: os.stat_result) -> str:
    m = st.st_mode
    return "d" if stat.S_ISDIR(m) else "f" if stat.S_ISREG(m) else "l" if stat.S_ISLNK(m) else "o"


@dataclass(frozen=True)
class Plan:
    """A COPY or ADD after expansion: what goes where, and its cache identity."""

    keyword: str
    items: tuple[tuple[Entry, tuple[Entry, ...]], ...]  # each source item and what is below it
    dest: str  # absolute path in the image, as written (workdir applied)
    dest_is_dir: bool
    chown: str
    chmod: int | None
    source_hash: str  # "file:<hex>", "dir:<hex>" or "multi:<hex>"

    @property
    def created_by(self) -> str:
        flags = (f"--chown={self.chown} " if self.chown else "") + (f"--chmod={self.chmod:o} " if self.chmod is not None else "")
        return f"{self.keyword} {flags}{self.source_hash} in {self.dest} "


def plan(ins: Instruction, tree: Tree, env: Mapping[str, str], workdir: str, escape: str = "\\") -> Plan:
    words = [shellword.expand(w, env, escape) for w in ins.args]
    if len(words) < 2:
        raise CopyError(f"{ins.keyword} requires at least two arguments, but got {len(words)}")
    *srcs, dest_raw = words
    for s in srcs:
        if ins.keyword == "ADD" and _URL.match(s):
            raise CopyError(f"ADD {s}: remote URLs are not supported: tuidock builds have no network access; "
                            "download the file into the build context and COPY it")
        if ins.keyword == "COPY" and _URL.match(s):
            raise CopyError(f"COPY {s}: source can't be a URL for COPY")
    chown = shellword.expand(ins.flag("chown") or "", env, escape)
    chmod_s = ins.flag("chmod")
    chmod = None
    if chmod_s is not None:
        if not re.fullmatch(r"[0-7]{3,4}", chmod_s):
            raise CopyError(f"{ins.keyword} --chmod={chmod_s}: only octal modes are supported")
        chmod = int(chmod_s, 8)
    names: list[str] = []
    for s in srcs:
        matched = tree.expand(s)
        if not matched:
            raise CopyError(f"{ins.keyword} failed: no source files were specified" if len(srcs) == 1 else
                            f"{ins.keyword} failed: no files matched {s}")
        names += matched
    multi = len(names) > 1 or any(_WILDCARD.search(s) for s in srcs)
    if len(names) > 1 and not dest_raw.endswith("/"):
        raise CopyError(f"When using {ins.keyword} with more than one source file, the destination must be a "
                        "directory and end with a /")
    dest = dest_raw if dest_raw.startswith("/") else posixpath.join(workdir or "/", dest_raw)
    dest_is_dir = dest_raw.endswith("/") or dest_raw in (".", "./") or multi
    dest = posixpath.normpath(dest)
    items = []
    h = hashlib.sha256()
    for name in names:
        item = tree.item(name)
        below = tuple(tree.entries(item)) if stat.S_ISDIR(item.st.st_mode) else ()
        items.append((item, below))
        for e in (item,) + below:
            content = file_digest(e.real) if stat.S_ISREG(e.st.st_mode) else ""
            link = os.readlink(e.real) if stat.S_ISLNK(e.st.st_mode) else ""
            label = posixpath.basename(item.rel) if e is item else e.rel
            h.update(f"{label}\0{_kind(e.st)}\0{stat.S_IMODE(e.st.st_mode):o}\0{link}\0{content}\n".encode())
    kind = "multi" if len(items) > 1 else "dir" if stat.S_ISDIR(items[0][0].st.st_mode) else "file"
    return Plan(ins.keyword, tuple(items), dest, dest_is_dir, chown, chmod, f"{kind}:{h.hexdigest()}")


def resolve_chown(spec: str, image: RootView) -> tuple[int, int]:
    """``--chown=user[:group]`` against the image's /etc/passwd and /etc/group."""
    if not spec:
        return 0, 0
    user_part, _, group_part = spec.partition(":")
    passwd = (image.read("/etc/passwd") or b"").decode(errors="replace")
    group = (image.read("/etc/group") or b"").decode(errors="replace")
    try:
        if user_part.isdigit():
            uid = int(user_part)
        else:
            uid = users.resolve(user_part, passwd, "").uid
        if not group_part:
            return uid, uid  # docker: a user alone gives the same number as group
        gid = int(group_part) if group_part.isdigit() else users.resolve(f"0:{group_part}", "", group).gid
    except InvalidArgument as e:
        raise CopyError(f"--chown={spec}: {e}") from None
    return uid, gid


# ---- staging --------------------------------------------------------------------


class Stager:
    """Writes files under a staging root through descriptors, never following a symlink."""

    def __init__(self, root: str, image: RootView, owner: tuple[int, int], chmod: int | None) -> None:
        self.root = root
        self.image = image
        self.uid, self.gid = owner
        self.chmod = chmod
        self.root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        self.dir_meta: dict[str, tuple[int, int, int, float]] = {}  # staged dir -> (mode, uid, gid, mtime)

    def close(self) -> None:
        for rel, (mode, uid, gid, mtime) in sorted(self.dir_meta.items(), key=lambda x: -x[0].count("/")):
            fd = layerlib._walk(self.root_fd, rel.split("/"), create=False)
            try:
                os.fchown(fd, uid, gid)
                os.fchmod(fd, mode)
                os.utime(fd, (mtime, mtime))
            finally:
                os.close(fd)
        os.close(self.root_fd)

    def dirs(self, path: str, new_meta: tuple[int, int, int, float] | None = None) -> int:
        """Make sure the directory ``path`` (absolute in the image) is staged; returns an fd for it."""
        parts = [p for p in path.split("/") if p]
        fd = os.dup(self.root_fd)
        try:
            for i, p in enumerate(parts):
                rel = "/".join(parts[: i + 1])
                try:
                    nfd = os.open(p, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
                except FileNotFoundError:
                    os.mkdir(p, 0o755, dir_fd=fd)
                    nfd = os.open(p, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
                    st = self.image.lookup("/" + rel)
                    if st is not None and stat.S_ISDIR(st[1].st_mode):
                        s = st[1]  # the image has it: keep its metadata in this layer
                        self.dir_meta[rel] = (stat.S_IMODE(s.st_mode), s.st_uid, s.st_gid, s.st_mtime)
                    elif st is not None:
                        raise CopyError(f"cannot copy to {path}: /{rel} is not a directory in the image")
                    else:
                        self.dir_meta[rel] = new_meta if (new_meta and i == len(parts) - 1) else \
                            (0o755, self.uid, self.gid, time.time())
                except OSError as e:
                    if e.errno in (errno.ELOOP, errno.ENOTDIR):
                        raise CopyError(f"cannot copy to {path}: /{rel} is not a directory") from None
                    raise
                os.close(fd)
                fd = nfd
            return fd
        except BaseException:
            os.close(fd)
            raise

    def _meta(self, dfd: int, name: str, e: Entry) -> None:
        path = f"/proc/self/fd/{dfd}/{name}"
        os.chown(path, self.uid, self.gid, follow_symlinks=False)
        if not stat.S_ISLNK(e.st.st_mode):
            os.chmod(path, self.chmod if self.chmod is not None else stat.S_IMODE(e.st.st_mode))
        os.utime(path, (e.st.st_mtime, e.st.st_mtime), follow_symlinks=False)

    def put(self, dest: str, e: Entry) -> None:
        """Stage one entry at ``dest`` (absolute in the image)."""
        parent, name = posixpath.split(dest)
        m = e.st.st_mode
        if stat.S_ISDIR(m):
            mode = self.chmod if self.chmod is not None else stat.S_IMODE(m)
            self.dirs(dest, (mode, self.uid, self.gid, e.st.st_mtime))
            rel = dest.strip("/")
            if rel:
                self.dir_meta[rel] = (mode, self.uid, self.gid, e.st.st_mtime)
            os.close(self.dirs(dest))
            return
        dfd = self.dirs(parent)
        try:
            try:
                st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
                if stat.S_ISDIR(st.st_mode):
                    raise CopyError(f"cannot copy {e.rel or name} to {dest}: a directory is in the way")
                os.unlink(name, dir_fd=dfd)
            except FileNotFoundError:
                pass
            if stat.S_ISREG(m):
                out = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                              dir_fd=dfd)
                try:
                    with open(e.real, "rb") as src:
                        while chunk := src.read(1 << 20):
                            os.write(out, chunk)
                finally:
                    os.close(out)
            elif stat.S_ISLNK(m):
                os.symlink(os.readlink(e.real), name, dir_fd=dfd)
            elif stat.S_ISFIFO(m):
                os.mkfifo(name, 0o600, dir_fd=dfd)
            elif stat.S_ISCHR(m) or stat.S_ISBLK(m):
                os.mknod(name, (m & (stat.S_IFCHR | stat.S_IFBLK)) | 0o600, e.st.st_rdev, dir_fd=dfd)
            else:
                return  # sockets
            self._meta(dfd, name, e)
        finally:
            os.close(dfd)

    def unpack(self, dest: str, archive: str, limits: layerlib.Limits) -> None:
        """ADD of a local archive: its contents below ``dest``, placed as a layer's are (safely)."""
        dfd = self.dirs(dest)
        try:
            with open_archive(archive) as stream:
                layerlib.extract(stream, f"/proc/self/fd/{dfd}", limits, what=f"ADD {posixpath.basename(archive)}")
        finally:
            os.close(dfd)


def open_archive(path: str) -> IO[bytes]:
    f = open(path, "rb")
    head = f.read(6)
    f.seek(0)
    if head[:2] == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=f, mode="rb")  # type: ignore[return-value]
    if head[:3] == b"BZh":
        return bz2.BZ2File(f)
    if head == b"\xfd7zXZ\x00":
        return lzma.LZMAFile(f)
    return f


def is_archive(path: str) -> bool:
    """Whether ADD unpacks this file: a tar, perhaps compressed, whose first header reads."""
    try:
        with open_archive(path) as s:
            block = s.read(512)
    except (OSError, EOFError, lzma.LZMAError):
        return False
    if len(block) < 512:
        return False
    try:
        tarfile.TarInfo.frombuf(block, "utf-8", "surrogateescape")
        return True
    except tarfile.TarError:
        return False


def stage(p: Plan, staging: str, image: RootView, limits: layerlib.Limits) -> None:
    """Write the plan's files into ``staging`` (an empty directory: the step's layer)."""
    owner = resolve_chown(p.chown, image)
    st = Stager(staging, image, owner, p.chmod)
    try:
        dest = p.dest
        # A destination that is a directory in the image (perhaps through a symlink) receives by name.
        resolved = image.resolve(dest)
        dest_is_dir = p.dest_is_dir or image.is_dir(dest)
        for item, below in p.items:
            m = item.st.st_mode
            if stat.S_ISDIR(m):
                target = resolved
                os.close(st.dirs(target))
                for e in below:
                    st.put(posixpath.join(target, e.rel), e)
            elif p.keyword == "ADD" and stat.S_ISREG(m) and is_archive(item.real):
                st.unpack(resolved, item.real, limits)
            elif dest_is_dir:
                st.put(posixpath.join(resolved, posixpath.basename(item.rel)), item)
            else:
                parent = image.resolve(posixpath.dirname(dest))
                st.put(posixpath.join(parent, posixpath.basename(dest)), item)
    finally:
        st.close()


def context_tree(context: str, ignore_text: str | None) -> Tree:
    if not os.path.isdir(context):
        raise NotFound(f"build context {context}: not a directory")
    return Tree(RootView([os.path.realpath(context)]), Matcher.from_text(ignore_text) if ignore_text else None,
                "build context")
