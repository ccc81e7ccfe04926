"""Images in files: ``save`` and ``load`` (docker-archive, OCI layout) and ``import`` (a root file system).

docker-archive is what ``docker save`` writes and ``docker load`` and
``podman load`` read::

    manifest.json      [{"Config": "<id>.json", "RepoTags": ["busybox:latest"], "Layers": ["<diff id>/layer.tar"]}]
    repositories       {"busybox": {"latest": "<diff id of the top layer>"}}
    <id>.json          the image config, byte for byte (so the image ID survives the trip)
    <diff id>/layer.tar  each layer, uncompressed, once

``load`` reads that (also with symlinked legacy layer directories, as podman
and older docker write them, and compressed), or an OCI image layout archive
(``oci-layout``, ``index.json``, ``blobs/sha256/...``). The archive is first
unpacked into the store's staging area by member *index*, never by member
name, so a hostile name cannot place a file anywhere; then every digest and
size is checked, every layer extracted (and its diff id checked) into
staging, and only then does anything move into the store.
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import os
import posixpath
import re
import tarfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from ..errors import InvalidArgument, NotFound
from . import layers as layerlib
from . import reference
from .ingest import DigestMismatch, Ingest, host_arch
from .layers import Limits
from .store import Image, ImageStore, Layer, hex_of

MEDIA_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MEDIA_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
CONTAINERD_NAME = "io.containerd.image.name"
REF_NAME = "org.opencontainers.image.ref.name"
_HEX64 = re.compile(r"(?:^|/|sha256:)([a-f0-9]{64})(?:\.json)?$")


class ArchiveError(InvalidArgument):
    """An archive that is not a well-formed image archive."""


# ---- save ---------------------------------------------------------------------


def _select(store: ImageStore, names: list[str]) -> list[tuple[Image, list[str]]]:
    """The images to save and the tags to record for each, as ``docker save`` picks them."""
    chosen: dict[str, tuple[Image, list[str]]] = {}
    for name in names:
        img = store.find(name)
        tags: list[str] = []
        if img is not None and not (reference.is_image_id(name) and img.id.replace("sha256:", "").startswith(
                name.replace("sha256:", ""))):
            ref = reference.parse(name)
            if ref.tag and not ref.digest:
                tags = [str(ref)]
        elif img is None:
            # A repository without a tag: every tagged image of it.
            try:
                ref = reference.parse(name, default_tag=False)
            except InvalidArgument:
                ref = None
            matches = [] if ref is None or ref.tag or ref.digest else [
                (i, [t for t in i.repo_tags if reference.parse(t).name == ref.name]) for i in store.images()]
            matches = [(i, t) for i, t in matches if t]
            if not matches:
                raise NotFound(f"image {name}: not found")
            for i, t in matches:
                entry = chosen.setdefault(i.id, (i, []))
                entry[1].extend(x for x in t if x not in entry[1])
            continue
        entry = chosen.setdefault(img.id, (img, []))
        entry[1].extend(t for t in tags if t not in entry[1])
    return list(chosen.values())


def _layer_stream(store: ImageStore, layer: Layer) -> IO[bytes]:
    return layerlib.open_layer(store.blob_path(layer.digest), layer.media_type)


def _tar_size(store: ImageStore, layer: Layer) -> int:
    meta = {}
    try:
        meta = json.loads(open(os.path.join(store.layers_dir, hex_of(layer.diff_id), "meta.json")).read())
    except (OSError, ValueError):
        pass
    if meta.get("tar_size") and meta.get("digest") == layer.digest:
        return int(meta["tar_size"])
    with _layer_stream(store, layer) as f:
        n = 0
        while chunk := f.read(1 << 20):
            n += len(chunk)
        return n


def save(store: ImageStore, names: list[str], out: IO[bytes]) -> list[Image]:
    """Write the named images as one docker-archive tar to ``out`` (a file or a pipe)."""
    selected = _select(store, names)
    manifest = []
    repositories: dict[str, dict[str, str]] = {}
    written: set[str] = set()
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tf:

        def add(name: str, size: int, data: IO[bytes] | None, kind: bytes = tarfile.REGTYPE) -> None:
            ti = tarfile.TarInfo(name)
            ti.type, ti.size, ti.mode, ti.mtime = kind, size, 0o644 if kind == tarfile.REGTYPE else 0o755, 0
            tf.addfile(ti, data)

        for img, tags in selected:
            layer_paths = []
            for layer in img.layers:
                h = hex_of(layer.diff_id)
                path = f"{h}/layer.tar"
                if h not in written:
                    size = _tar_size(store, layer)
                    add(h, 0, None, tarfile.DIRTYPE)
                    with _layer_stream(store, layer) as f:
                        add(path, size, f)
                    add(f"{h}/VERSION", 3, io.BytesIO(b"1.0"))
                    written.add(h)
                layer_paths.append(path)
            cfg_name = f"{hex_of(img.id)}.json"
            if cfg_name not in written:
                with open(store.blob_path(img.id), "rb") as f:
                    add(cfg_name, os.fstat(f.fileno()).st_size, f)
                written.add(cfg_name)
            familiar = [reference.parse(t).familiar for t in tags]
            manifest.append({"Config": cfg_name, "RepoTags": familiar or None, "Layers": layer_paths})
            for t in tags:
                ref = reference.parse(t)
                if img.layers and ref.tag:
                    repositories.setdefault(ref.repository, {})[ref.tag] = hex_of(img.layers[-1].diff_id)
        for name, obj in (("manifest.json", manifest), ("repositories", repositories)):
            data = json.dumps(obj, separators=(",", ":")).encode() + b"\n"
            add(name, len(data), io.BytesIO(data))
    return [img for img, _ in selected]


# ---- load -----------------------------------------------------------------------


@dataclass(frozen=True)
class Loaded:
    image: Image
    tags: tuple[str, ...]  # familiar names
    replaced: tuple[tuple[str, str], ...] = ()  # (tag, id of the image that had it)

    def lines(self) -> list[str]:
        """What ``docker load`` prints for this image."""
        out = [f"The image {t} already exists, renaming the old one with ID {old} to empty string"
               for t, old in self.replaced]
        out += [f"Loaded image: {t}" for t in self.tags] or [f"Loaded image ID: {self.image.id}"]
        return out


class _Spool:
    """An archive's members unpacked into the staging area by index, with their names in a map."""

    def __init__(self, tx: Ingest, what: str) -> None:
        self.tx = tx
        self.what = what
        self.files: dict[str, str] = {}  # member name -> spooled file
        self.links: dict[str, str] = {}  # member name -> member name it points to

    @staticmethod
    def clean(name: str) -> str:
        n = posixpath.normpath("/" + name.lstrip("/"))[1:]
        return n

    def read_archive(self, src: IO[bytes], limits: Limits) -> None:
        total = 0
        try:
            with tarfile.open(fileobj=src, mode="r|*", tarinfo=layerlib._bounded(limits)) as tf:
                for n, m in enumerate(tf):
                    if n > limits.max_entries:
                        raise ArchiveError(f"{self.what}: more than {limits.max_entries} entries")
                    raw = m.name
                    if raw.startswith("/") or ".." in raw.split("/"):
                        raise ArchiveError(f"{self.what}: member {raw!r} is outside the archive")
                    name = self.clean(raw)
                    if m.isfile():
                        total += m.size
                        if total > limits.max_archive_bytes:
                            raise layerlib.LayerError(f"{self.what}: larger than the limit of {limits.max_archive_bytes} bytes")
                        path = self.tx.scratch(f"member-{n}")
                        src_f = tf.extractfile(m)
                        assert src_f is not None
                        with open(path, "wb") as out:
                            while chunk := src_f.read(1 << 20):
                                out.write(chunk)
                        self.files[name] = path
                    elif m.issym():
                        target = m.linkname
                        joined = target.lstrip("/") if target.startswith("/") else posixpath.join(posixpath.dirname(name), target)
                        self.links[name] = self.clean(joined)
                    elif m.islnk():
                        self.links[name] = self.clean(m.linkname)
        except (tarfile.TarError, EOFError, gzip.BadGzipFile, lzma.LZMAError, OSError, layerlib.zlib_error()) as e:
            if isinstance(e, InvalidArgument):
                raise
            if isinstance(e, OSError) and not isinstance(e, gzip.BadGzipFile) and e.errno is not None:
                raise
            raise ArchiveError(f"{self.what}: not a valid tar archive: {e}") from None

    def path(self, name: str) -> str:
        n = self.clean(name)
        for _ in range(40):
            if n in self.files:
                return self.files[n]
            if n in self.links:
                n = self.links[n]
                continue
            break
        raise ArchiveError(f"{self.what}: {name!r} is named in the archive's index but is not in the archive")

    def has(self, name: str) -> bool:
        try:
            self.path(name)
            return True
        except ArchiveError:
            return False

    def json(self, name: str, limits: Limits) -> Any:
        path = self.path(name)
        if os.path.getsize(path) > limits.max_json:
            raise ArchiveError(f"{self.what}: {name}: larger than {limits.max_json} bytes")
        try:
            with open(path, "rb") as f:
                return json.loads(f.read())
        except ValueError as e:
            raise ArchiveError(f"{self.what}: {name}: malformed JSON: {e}") from None


def _config(data: bytes, what: str, nlayers: int) -> dict[str, Any]:
    try:
        cfg = json.loads(data)
    except ValueError as e:
        raise ArchiveError(f"{what}: image config: malformed JSON: {e}") from None
    if not isinstance(cfg, dict):
        raise ArchiveError(f"{what}: image config: not a JSON object")
    rootfs = cfg.get("rootfs")
    if not isinstance(rootfs, dict) or rootfs.get("type") != "layers" or not isinstance(rootfs.get("diff_ids"), list):
        raise ArchiveError(f"{what}: image config: no rootfs of type layers with diff_ids")
    for d in rootfs["diff_ids"]:
        if not isinstance(d, str):
            raise ArchiveError(f"{what}: image config: a diff id that is not a string")
        try:
            hex_of(d)
        except InvalidArgument as e:
            raise ArchiveError(f"{what}: image config: {e}") from None
    if len(rootfs["diff_ids"]) != nlayers:
        raise ArchiveError(f"{what}: image config lists {len(rootfs['diff_ids'])} layers, the manifest {nlayers}")
    if cfg.get("os", "linux") != "linux":
        raise ArchiveError(f"{what}: image is for {cfg.get('os')}, not linux")
    return cfg


def _tags(names: Any, what: str) -> list[str]:
    if names is None:
        return []
    if not isinstance(names, list) or not all(isinstance(t, str) for t in names):
        raise ArchiveError(f"{what}: RepoTags is not a list of names")
    return [str(reference.parse(t)) for t in names]


ImageParts = tuple[dict[str, Any] | bytes, list[Layer], list[str]]  # config, layers, tags


def _load_docker(sp: _Spool, tx: Ingest, limits: Limits, what: str) -> list[ImageParts]:
    manifest = sp.json("manifest.json", limits)
    if not isinstance(manifest, list) or not manifest:
        raise ArchiveError(f"{what}: manifest.json is not a list of images")
    staged: dict[str, str] = {}  # spooled path -> blob digest
    out: list[ImageParts] = []
    for entry in manifest:
        if not isinstance(entry, dict) or not isinstance(entry.get("Config"), str) \
                or not isinstance(entry.get("Layers"), list) or not all(isinstance(x, str) for x in entry["Layers"]):
            raise ArchiveError(f"{what}: manifest.json: an entry without Config and Layers")
        cpath = sp.path(entry["Config"])
        with open(cpath, "rb") as f:
            cbytes = f.read(limits.max_json + 1)
        if len(cbytes) > limits.max_json:
            raise ArchiveError(f"{what}: {entry['Config']}: larger than {limits.max_json} bytes")
        cdigest = tx.blob_bytes(cbytes)
        m = _HEX64.search(entry["Config"])
        if m and "sha256:" + m.group(1) != cdigest:
            raise DigestMismatch(f"{what}: config {entry['Config']}: content has digest {cdigest}")
        cfg = _config(cbytes, what, len(entry["Layers"]))
        layers = []
        for lname, diff_id in zip(entry["Layers"], cfg["rootfs"]["diff_ids"]):
            lpath = sp.path(lname)
            if lpath not in staged:
                staged[lpath] = tx.blob_file(lpath, move=True)
            layers.append(tx.layer(staged[lpath], "", diff_id))
        out.append((cbytes, layers, _tags(entry.get("RepoTags"), what)))
    return out


def _blob(sp: _Spool, tx: Ingest, desc: Any, what: str, staged: dict[str, str]) -> str:
    if not isinstance(desc, dict) or not isinstance(desc.get("digest"), str):
        raise ArchiveError(f"{what}: a descriptor without a digest")
    digest: str = desc["digest"]
    try:
        h = hex_of(digest)
    except InvalidArgument as e:
        raise ArchiveError(f"{what}: {e}") from None
    size = desc.get("size")
    if not isinstance(size, int) or size < 0:
        raise ArchiveError(f"{what}: blob {digest[:19]}: descriptor without a valid size")
    if digest in staged:
        return digest
    path = sp.path(f"blobs/sha256/{h}")
    staged[digest] = tx.blob_file(path, expect=digest, expect_size=size, move=True)
    return digest


def _platform_ok(desc: dict[str, Any]) -> bool:
    p = desc.get("platform") or {}
    return bool(p.get("os", "linux") == "linux" and p.get("architecture", host_arch()) == host_arch())


def _load_oci(sp: _Spool, tx: Ingest, limits: Limits, what: str) -> list[ImageParts]:
    layout = sp.json("oci-layout", limits)
    if not isinstance(layout, dict) or not str(layout.get("imageLayoutVersion", "")).startswith("1."):
        raise ArchiveError(f"{what}: oci-layout: not an OCI image layout version 1")
    index = sp.json("index.json", limits)
    if not isinstance(index, dict) or not isinstance(index.get("manifests"), list):
        raise ArchiveError(f"{what}: index.json has no manifests list")
    staged: dict[str, str] = {}
    out: list[ImageParts] = []

    def manifest_of(desc: dict[str, Any], depth: int = 0) -> dict[str, Any] | None:
        digest = _blob(sp, tx, desc, what, staged)
        obj = tx.read_json_blob(digest)
        if not isinstance(obj, dict):
            raise ArchiveError(f"{what}: manifest {digest[:19]}: not a JSON object")
        mt = obj.get("mediaType") or desc.get("mediaType")
        if mt in (MEDIA_OCI_INDEX, MEDIA_DOCKER_LIST) or "manifests" in obj:
            if depth > 2:
                raise ArchiveError(f"{what}: nested indexes too deep")
            for d in obj.get("manifests") or []:
                if isinstance(d, dict) and _platform_ok(d):
                    return manifest_of(d, depth + 1)
            return None
        return obj

    for desc in index["manifests"]:
        if not isinstance(desc, dict):
            raise ArchiveError(f"{what}: index.json: a descriptor that is not an object")
        manifest = manifest_of(desc)
        if manifest is None:
            continue
        if not isinstance(manifest.get("config"), dict) or not isinstance(manifest.get("layers"), list):
            raise ArchiveError(f"{what}: a manifest without config and layers")
        cdigest = _blob(sp, tx, manifest["config"], what, staged)
        with open(tx.blob_path(cdigest), "rb") as f:
            cbytes = f.read(limits.max_json + 1)
        if len(cbytes) > limits.max_json:
            raise ArchiveError(f"{what}: config {cdigest[:19]}: larger than {limits.max_json} bytes")
        cfg = _config(cbytes, what, len(manifest["layers"]))
        layers = []
        for ldesc, diff_id in zip(manifest["layers"], cfg["rootfs"]["diff_ids"]):
            digest = _blob(sp, tx, ldesc, what, staged)
            layers.append(tx.layer(digest, str(ldesc.get("mediaType") or ""), diff_id))
        ann = desc.get("annotations") or {}
        name = ann.get(CONTAINERD_NAME) or ann.get(REF_NAME) or ""
        tags = []
        if name and (":" in name or "/" in name):
            try:
                tags = [str(reference.parse(name))]
            except InvalidArgument:
                tags = []  # a bare tag such as "latest" names no repository
        out.append((cbytes, layers, tags))
    if not out:
        raise ArchiveError(f"{what}: index.json names no image for linux/{host_arch()}")
    return out


def load(store: ImageStore, src: IO[bytes], limits: Limits = Limits(), what: str = "load") -> list[Loaded]:
    """Load every image of a docker-archive or OCI layout archive; all or nothing."""
    with Ingest(store, limits, what) as tx:
        sp = _Spool(tx, what)
        sp.read_archive(src, limits)
        if sp.has("manifest.json"):
            images = _load_docker(sp, tx, limits, what)
        elif sp.has("index.json") and sp.has("oci-layout"):
            images = _load_oci(sp, tx, limits, what)
        else:
            raise ArchiveError(f"{what}: not an image archive (no manifest.json, and no oci-layout with index.json)")
        before = {t: i.id for i in store.images() for t in i.repo_tags}
        results = tx.commit_many(images)
    out = []
    for img, (_, _, tags) in zip(results, images):
        replaced = tuple((reference.parse(t).familiar, before[t]) for t in tags if t in before and before[t] != img.id)
        out.append(Loaded(img, tuple(reference.parse(t).familiar for t in tags), replaced))
    return out


# ---- import -------------------------------------------------------------------------


class _Prefixed:
    """A stream with its first bytes already read (to look at the magic) put back in front."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self.head = head
        self.rest = rest

    def read(self, n: int = -1) -> bytes:
        if self.head:
            if n < 0:
                out, self.head = self.head + self.rest.read(), b""
                return out
            out, self.head = self.head[:n], self.head[n:]
            return out
        return self.rest.read(n)


def _decompressed(src: IO[bytes]) -> layerlib.Readable:
    """gzip, bzip2 and xz are undone, as ``docker import`` does; plain tar passes through."""
    head = src.read(6)
    stream: Any = _Prefixed(head, src)
    if head[:2] == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=stream, mode="rb")
    if head[:3] == b"BZh":
        return bz2.BZ2File(stream)
    if head == b"\xfd7zXZ\x00":
        return lzma.LZMAFile(stream)
    if head[:4] == b"\x28\xb5\x2f\xfd":
        raise ArchiveError("import: zstd-compressed archives are not supported")
    return stream  # type: ignore[no-any-return]


def import_rootfs(store: ImageStore, src: IO[bytes], tags: list[str], changes: list[str] | None = None,
                  message: str = "", source: str = "-", limits: Limits = Limits(),
                  config_hook: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> Image:
    """``docker import``: a root file system tarball becomes a one-layer image."""
    from . import configedit

    full_tags = [str(reference.parse(t)) for t in tags]
    cfg_obj = configedit.apply_changes({}, list(changes or []))
    with Ingest(store, limits, "import") as tx:
        path = tx.scratch("rootfs.tar")
        try:
            stream = _decompressed(src)
            n = 0
            with open(path, "wb") as out:
                while chunk := stream.read(1 << 20):
                    n += len(chunk)
                    if n > limits.max_archive_bytes:
                        raise layerlib.LayerError(f"import: larger than the limit of {limits.max_archive_bytes} bytes")
                    out.write(chunk)
        except (EOFError, OSError, lzma.LZMAError, layerlib.zlib_error()) as e:
            if isinstance(e, InvalidArgument):
                raise
            if isinstance(e, OSError) and not isinstance(e, gzip.BadGzipFile) and e.errno is not None:
                raise
            raise ArchiveError(f"import: not a valid compressed stream: {e}") from None
        digest = tx.blob_file(path, move=True)
        layer = tx.layer(digest, layerlib.MEDIA_TAR[0])
        now = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{time.time_ns() % 1_000_000_000:09d}Z"
        config: dict[str, Any] = {
            "architecture": host_arch(),
            "os": "linux",
            "created": now,
            "config": cfg_obj,
            "rootfs": {"type": "layers", "diff_ids": [layer.diff_id]},
            "history": [{"created": now, "created_by": "", "comment": message or f"Imported from {source}"}],
        }
        if config_hook is not None:
            config = config_hook(config)
        return tx.commit(config, [layer], full_tags)
