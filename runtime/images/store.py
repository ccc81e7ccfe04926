"""The image store: an OCI image layout on disk, and each layer extracted once.

::

    images/oci-layout, images/index.json       the layout and its tag index
    images/blobs/sha256/<hex>                   manifests, configs, layer blobs
    layers/<diff-id hex>/diff/                  a layer's files, whiteouts as overlayfs wants them

A layer directory is keyed by its *diff id* (the digest of the uncompressed
tar): overlayfs stacks layers itself, so a layer's content does not depend on
its parents and identical layers are shared by unrelated images. The image
ID is the digest of its config, as in docker. Tag changes hold ``images/lock``;
blobs and layer directories are written to a temporary name and renamed, so a
failed pull or load leaves the store as it was.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from typing import Any

from .. import fsutil
from ..errors import Conflict, InvalidArgument, NotFound
from . import layers as layerlib
from . import reference

REF_ANNOTATION = "org.opencontainers.image.ref.name"
MEDIA_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
MEDIA_OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
MEDIA_DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"


def sha256_bytes(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def hex_of(digest: str) -> str:
    algo, _, hexpart = digest.partition(":")
    if algo != "sha256" or len(hexpart) != 64 or any(c not in "0123456789abcdef" for c in hexpart):
        raise InvalidArgument(f"digest {digest!r}: not a sha256 digest")
    return hexpart


@dataclass(frozen=True)
class ImageConfig:
    """The runtime defaults an image carries (its config's ``config`` object)."""

    env: tuple[str, ...] = ()
    cmd: tuple[str, ...] | None = None
    entrypoint: tuple[str, ...] | None = None
    working_dir: str = ""
    user: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    exposed_ports: tuple[str, ...] = ()
    volumes: tuple[str, ...] = ()
    stop_signal: str = ""

    @classmethod
    def from_json(cls, c: dict[str, Any] | None) -> ImageConfig:
        c = c or {}
        return cls(
            env=tuple(c.get("Env") or ()),
            cmd=tuple(c["Cmd"]) if c.get("Cmd") is not None else None,
            entrypoint=tuple(c["Entrypoint"]) if c.get("Entrypoint") is not None else None,
            working_dir=c.get("WorkingDir") or "",
            user=c.get("User") or "",
            labels=dict(c.get("Labels") or {}),
            exposed_ports=tuple(sorted(c.get("ExposedPorts") or {})),
            volumes=tuple(sorted(c.get("Volumes") or {})),
            stop_signal=c.get("StopSignal") or "",
        )


@dataclass(frozen=True)
class Layer:
    digest: str  # of the blob as stored (compressed or not)
    diff_id: str  # of the uncompressed tar
    size: int  # blob size
    media_type: str


@dataclass(frozen=True)
class HistoryEntry:
    created: str
    created_by: str
    comment: str = ""
    empty_layer: bool = False


@dataclass(frozen=True)
class Image:
    id: str  # sha256 of the config
    manifest_digest: str
    repo_tags: tuple[str, ...]  # full references, "docker.io/library/busybox:latest"
    created: str
    config: ImageConfig
    layers: tuple[Layer, ...]
    history: tuple[HistoryEntry, ...]
    architecture: str
    os: str
    raw_config: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @property
    def short_id(self) -> str:
        return self.id[7:19]

    @property
    def diff_ids(self) -> tuple[str, ...]:
        return tuple(layer.diff_id for layer in self.layers)

    @property
    def size(self) -> int:
        return sum(layer.size for layer in self.layers)


class ImageStore:
    def __init__(self, root: str) -> None:
        self.root = root
        self.dir = os.path.join(root, "images")
        self.blobs = os.path.join(self.dir, "blobs", "sha256")
        self.layers_dir = os.path.join(root, "layers")
        self.index_path = os.path.join(self.dir, "index.json")
        self.lock_path = os.path.join(self.dir, "lock")
        self.ingest_lock_path = os.path.join(self.dir, "ingest.lock")

    # ---- layout ---------------------------------------------------------------

    def init(self) -> None:
        os.makedirs(self.blobs, exist_ok=True)
        os.makedirs(self.layers_dir, exist_ok=True)
        layout = os.path.join(self.dir, "oci-layout")
        if not os.path.exists(layout):
            fsutil.atomic_write(layout, b'{"imageLayoutVersion": "1.0.0"}\n')
        if not os.path.exists(self.index_path):
            fsutil.write_json(self.index_path, {"schemaVersion": 2, "manifests": []})

    def ingest_lock(self) -> fsutil.locked:
        """Held (shared) while blobs or layers are added that the index does not name yet: :meth:`gc` waits."""
        return fsutil.locked(self.ingest_lock_path, shared=True)

    def _index(self) -> dict[str, Any]:
        return fsutil.read_json_or(self.index_path, {"schemaVersion": 2, "manifests": []})  # type: ignore[no-any-return]

    # ---- blobs ----------------------------------------------------------------

    def blob_path(self, digest: str) -> str:
        return os.path.join(self.blobs, hex_of(digest))

    def has_blob(self, digest: str) -> bool:
        return os.path.exists(self.blob_path(digest))

    def read_blob(self, digest: str) -> bytes:
        try:
            with open(self.blob_path(digest), "rb") as f:
                return f.read()
        except FileNotFoundError:
            raise NotFound(f"blob {digest}: not in the store") from None

    def put_blob(self, data: bytes, digest: str | None = None) -> str:
        actual = sha256_bytes(data)
        if digest is not None and digest != actual:
            raise InvalidArgument(f"blob {digest}: content has digest {actual}")
        path = self.blob_path(actual)
        if not os.path.exists(path):
            fsutil.atomic_write(path, data)
        return actual

    def put_blob_file(self, tmp_path: str, digest: str) -> None:
        """Move a fully written and verified temporary file into the blob store."""
        os.replace(tmp_path, self.blob_path(digest))

    # ---- layers ---------------------------------------------------------------

    def layer_path(self, diff_id: str) -> str:
        """The directory overlayfs uses as this layer's lowerdir."""
        return os.path.join(self.layers_dir, hex_of(diff_id), "diff")

    def has_layer(self, diff_id: str) -> bool:
        return os.path.isdir(self.layer_path(diff_id))

    def extract_layer(self, layer: Layer, limits: layerlib.Limits = layerlib.Limits()) -> None:
        """Extract a layer blob once; verify its diff id while extracting."""
        if self.has_layer(layer.diff_id):
            return
        final = os.path.join(self.layers_dir, hex_of(layer.diff_id))
        tmp = f"{final}.tmp-{os.getpid()}-{time.monotonic_ns()}"
        os.makedirs(os.path.join(tmp, "diff"))
        try:
            got = layerlib.extract_blob(self.blob_path(layer.digest), os.path.join(tmp, "diff"), limits,
                                        layer.media_type, what=f"layer {layer.digest[:19]}")
            if got.diff_id != layer.diff_id:
                raise layerlib.LayerError(
                    f"layer {layer.digest[:19]}: uncompressed digest {got.diff_id[:19]} does not match diff id {layer.diff_id[:19]}")
            self.write_layer_meta(tmp, got, layer.digest)
            try:
                os.rename(tmp, final)
            except OSError:
                if not self.has_layer(layer.diff_id):  # another process won the race: fine
                    raise
                fsutil.remove_tree(tmp)
        except BaseException:
            fsutil.remove_tree(tmp)
            raise

    @staticmethod
    def write_layer_meta(layer_dir: str, got: layerlib.Extracted, digest: str) -> None:
        """``meta.json`` beside a layer's ``diff/``: its diff id, content size, tar size and blob."""
        fsutil.write_json(os.path.join(layer_dir, "meta.json"),
                          {"diff_id": got.diff_id, "size": got.size, "tar_size": got.tar_size, "digest": digest})

    def layer_size(self, diff_id: str) -> int:
        meta = fsutil.read_json_or(os.path.join(self.layers_dir, hex_of(diff_id), "meta.json"), {})
        return int(meta.get("size", 0))

    # ---- images ---------------------------------------------------------------

    def _load(self, manifest_digest: str, tags: list[str]) -> Image:
        manifest = json.loads(self.read_blob(manifest_digest))
        cdesc = manifest.get("config") or {}
        raw = json.loads(self.read_blob(cdesc["digest"]))
        diff_ids = (raw.get("rootfs") or {}).get("diff_ids") or []
        ldescs = manifest.get("layers") or []
        if len(diff_ids) != len(ldescs):
            raise InvalidArgument(f"image {cdesc['digest'][:19]}: {len(ldescs)} layers but {len(diff_ids)} diff ids")
        return Image(
            id=cdesc["digest"],
            manifest_digest=manifest_digest,
            repo_tags=tuple(tags),
            created=raw.get("created") or "",
            config=ImageConfig.from_json(raw.get("config")),
            layers=tuple(Layer(d["digest"], diff, int(d.get("size", 0)), d.get("mediaType", MEDIA_OCI_LAYER_GZIP))
                         for d, diff in zip(ldescs, diff_ids)),
            history=tuple(HistoryEntry(h.get("created", ""), h.get("created_by", ""), h.get("comment", ""),
                                       bool(h.get("empty_layer"))) for h in raw.get("history") or ()),
            architecture=raw.get("architecture", ""),
            os=raw.get("os", ""),
            raw_config=raw,
        )

    def images(self) -> list[Image]:
        by_manifest: dict[str, list[str]] = {}
        for m in self._index().get("manifests", []):
            tags = by_manifest.setdefault(m["digest"], [])
            ref = (m.get("annotations") or {}).get(REF_ANNOTATION)
            if ref:
                tags.append(ref)
        out = []
        for digest, tags in by_manifest.items():
            try:
                out.append(self._load(digest, tags))
            except (NotFound, InvalidArgument, KeyError, ValueError):
                continue
        return out

    def find(self, name: str) -> Image | None:
        """By reference (``busybox``, ``busybox:1``, ``repo@sha256:...``) or by id or id prefix."""
        images = self.images()
        if reference.is_image_id(name):
            want = name if name.startswith("sha256:") else "sha256:" + name
            matches = [i for i in images if i.id.startswith(want)]
            if len(matches) == 1:
                return matches[0]
            if len(matches) > 1 and len({i.id for i in matches}) > 1:
                raise Conflict(f"image {name}: ambiguous id prefix ({len(matches)} images match)")
            if matches:
                return matches[0]
        try:
            ref = reference.parse(name)
        except InvalidArgument:
            if reference.is_image_id(name):
                return None
            raise
        full = str(ref)
        for img in images:
            if ref.digest and img.manifest_digest == ref.digest and (not ref.tag or full.split("@")[0] in img.repo_tags):
                return img
            if full in img.repo_tags:
                return img
        return None

    def get(self, name: str) -> Image:
        img = self.find(name)
        if img is None:
            raise NotFound(f"image {name}: not found")
        return img

    def add(self, manifest: dict[str, Any] | bytes, tags: list[str]) -> Image:
        """Register an image whose config and layer blobs are all in the store.

        ``manifest`` as a dict, or as its exact bytes (a pulled manifest keeps its digest).
        """
        data = manifest if isinstance(manifest, bytes) else json.dumps(manifest, separators=(",", ":")).encode()
        manifest = json.loads(data) if isinstance(manifest, bytes) else manifest
        mdigest = self.put_blob(data)
        for ldesc, diff in zip(manifest["layers"], json.loads(self.read_blob(manifest["config"]["digest"]))["rootfs"]["diff_ids"]):
            self.extract_layer(Layer(ldesc["digest"], diff, ldesc.get("size", 0), ldesc.get("mediaType", "")))
        with fsutil.locked(self.lock_path):
            index = self._index()
            entries = [m for m in index["manifests"]
                       if (m.get("annotations") or {}).get(REF_ANNOTATION) not in tags]
            if tags:
                for t in tags:
                    entries.append({"mediaType": MEDIA_OCI_MANIFEST, "digest": mdigest, "size": len(data),
                                    "annotations": {REF_ANNOTATION: t}})
            elif not any(m["digest"] == mdigest for m in entries):
                entries.append({"mediaType": MEDIA_OCI_MANIFEST, "digest": mdigest, "size": len(data)})
            # An image that lost its last tag stays, untagged ("dangling"), as in docker.
            index["manifests"] = self._keep_dangling(index["manifests"], entries)
            fsutil.write_json(self.index_path, index)
        return self._load(mdigest, tags)

    @staticmethod
    def _keep_dangling(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[dict[str, Any]]:
        present = {m["digest"] for m in after}
        for m in before:
            if m["digest"] not in present:
                after.append({k: v for k, v in m.items() if k != "annotations"})
                present.add(m["digest"])
        return after

    def tag(self, image: Image, ref: str) -> None:
        full = str(reference.parse(ref))
        with fsutil.locked(self.lock_path):
            index = self._index()
            before = index["manifests"]
            entries = [m for m in before if (m.get("annotations") or {}).get(REF_ANNOTATION) != full
                       and not (m["digest"] == image.manifest_digest and not m.get("annotations"))]
            size = os.path.getsize(self.blob_path(image.manifest_digest))
            entries.append({"mediaType": MEDIA_OCI_MANIFEST, "digest": image.manifest_digest, "size": size,
                            "annotations": {REF_ANNOTATION: full}})
            index["manifests"] = self._keep_dangling(before, entries)
            fsutil.write_json(self.index_path, index)

    def untag(self, ref: str) -> None:
        full = str(reference.parse(ref))
        with fsutil.locked(self.lock_path):
            index = self._index()
            before = index["manifests"]
            entries = [m for m in before if (m.get("annotations") or {}).get(REF_ANNOTATION) != full]
            if len(entries) == len(before):
                raise NotFound(f"image {ref}: no such tag")
            index["manifests"] = self._keep_dangling(before, entries)
            fsutil.write_json(self.index_path, index)

    def remove(self, image: Image) -> None:
        """Drop every index entry of an image (its blobs and layers go in :meth:`gc`)."""
        with fsutil.locked(self.lock_path):
            index = self._index()
            index["manifests"] = [m for m in index["manifests"] if m["digest"] != image.manifest_digest]
            fsutil.write_json(self.index_path, index)

    def gc(self, keep_layers: set[str] = frozenset()) -> tuple[int, int]:  # type: ignore[assignment]
        """Remove blobs and layer directories nothing references; returns (blobs, layers) removed.

        Waits for ingests in progress (:meth:`ingest_lock`): their blobs are
        in the store before the index names them.
        """
        with fsutil.locked(self.ingest_lock_path), fsutil.locked(self.lock_path):
            live_blobs: set[str] = set()
            live_layers: set[str] = {hex_of(d) for d in keep_layers}
            for m in self._index().get("manifests", []):
                try:
                    manifest = json.loads(self.read_blob(m["digest"]))
                except NotFound:
                    continue
                live_blobs.add(hex_of(m["digest"]))
                live_blobs.add(hex_of(manifest["config"]["digest"]))
                for ldesc in manifest.get("layers", []):
                    live_blobs.add(hex_of(ldesc["digest"]))
                try:
                    cfg = json.loads(self.read_blob(manifest["config"]["digest"]))
                    live_layers.update(hex_of(d) for d in cfg["rootfs"]["diff_ids"])
                except (NotFound, KeyError):
                    pass
            nblobs = nlayers = 0
            for name in os.listdir(self.blobs):
                if name not in live_blobs:
                    os.unlink(os.path.join(self.blobs, name))
                    nblobs += 1
            for name in os.listdir(self.layers_dir):
                if name not in live_layers and ".tmp-" not in name:
                    fsutil.remove_tree(os.path.join(self.layers_dir, name))
                    nlayers += 1
            return nblobs, nlayers

    def references(self) -> tuple[set[str], set[str]]:
        """The blob digests and layer diff ids the index reaches (call with :attr:`lock_path` held)."""
        blobs: set[str] = set()
        diff_ids: set[str] = set()
        for m in self._index().get("manifests", []):
            blobs.add(m["digest"])
            try:
                manifest = json.loads(self.read_blob(m["digest"]))
                blobs.add(manifest["config"]["digest"])
                blobs.update(d["digest"] for d in manifest.get("layers", []))
                diff_ids.update(json.loads(self.read_blob(manifest["config"]["digest"]))["rootfs"]["diff_ids"])
            except (NotFound, KeyError, ValueError):
                continue
        return blobs, diff_ids
