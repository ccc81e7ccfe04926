"""Adding images to the store as one transaction: stage, verify, then move into place.

``load``, ``import``, ``commit`` and ``build`` all add blobs and layers. An
:class:`Ingest` stages everything under ``<root>/tmp/`` first: blobs are
hashed while they are copied (a digest or size that does not match fails
there), layers are extracted into staging directories with their diff ids
verified. Only when every piece checked out does :meth:`Ingest.commit`
rename blobs and layers into ``images/blobs`` and ``layers/`` and register
the manifest; any failure before that removes the staging directory and the
store is exactly as it was. While an ingest is open it holds the store's
ingest lock (shared), so a concurrent ``gc`` cannot collect blobs that the
index does not name yet.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
from collections.abc import Callable
from types import TracebackType
from typing import IO, Any

from .. import fsutil
from ..errors import InvalidArgument
from . import layers as layerlib
from .layers import Limits
from .store import Image, ImageStore, Layer, hex_of

CHUNK = 1 << 20


class DigestMismatch(InvalidArgument):
    """Content that does not have the digest (or size) it was announced with."""


class Ingest:
    """A staging area for one operation; use as a context manager, call :meth:`commit` at the end."""

    def __init__(self, store: ImageStore, limits: Limits = Limits(), what: str = "image") -> None:
        self.store = store
        self.limits = limits
        self.what = what
        store.init()
        tmp_root = os.path.join(store.root, "tmp")
        os.makedirs(tmp_root, mode=0o700, exist_ok=True)
        self.dir = os.path.join(tmp_root, f"ingest-{secrets.token_hex(6)}")
        os.mkdir(self.dir, 0o700)
        self._lock = store.ingest_lock()
        self._lock.__enter__()
        self.blobs: dict[str, str] = {}  # digest -> staged path, or the store's own path
        self.layers: dict[str, str] = {}  # diff id -> staged layer directory ("" when the store has it)
        self.committed = False

    def __enter__(self) -> Ingest:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Remove the staging area (after a commit it holds nothing the store needs)."""
        try:
            fsutil.remove_tree(self.dir)
        finally:
            self._lock.__exit__()

    def scratch(self, name: str) -> str:
        """A path inside the staging area for the caller's own temporary files."""
        return os.path.join(self.dir, name)

    # ---- blobs ----------------------------------------------------------------

    def _staged_path(self) -> str:
        return os.path.join(self.dir, f"blob-{len(self.blobs)}-{secrets.token_hex(4)}")

    def blob_bytes(self, data: bytes, expect: str | None = None) -> str:
        """Stage a small blob (a config, a manifest); returns its digest."""
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        if expect is not None and expect != digest:
            raise DigestMismatch(f"{self.what}: blob {expect}: content has digest {digest}")
        if digest not in self.blobs:
            if self.store.has_blob(digest):
                self.blobs[digest] = self.store.blob_path(digest)
            else:
                path = self._staged_path()
                fsutil.atomic_write(path, data, sync=False)
                self.blobs[digest] = path
        return digest

    def blob_stream(self, src: IO[bytes], expect: str | None = None, expect_size: int | None = None,
                    max_bytes: int | None = None) -> str:
        """Stage a blob read from ``src``, hashing it as it is copied; returns its digest."""
        if expect is not None:
            hex_of(expect)  # a malformed digest fails before anything is read
        cap = max_bytes if max_bytes is not None else self.limits.max_archive_bytes
        path = self._staged_path()
        h = hashlib.sha256()
        n = 0
        with open(path, "wb") as out:
            while chunk := src.read(CHUNK):
                n += len(chunk)
                if n > cap:
                    raise layerlib.LayerError(f"{self.what}: a blob larger than the limit of {cap} bytes")
                h.update(chunk)
                out.write(chunk)
        digest = "sha256:" + h.hexdigest()
        try:
            self._verify(digest, n, expect, expect_size)
        except DigestMismatch:
            os.unlink(path)
            raise
        if digest in self.blobs or self.store.has_blob(digest):
            os.unlink(path)
            self.blobs.setdefault(digest, self.store.blob_path(digest))
        else:
            self.blobs[digest] = path
        return digest

    def _verify(self, digest: str, size: int, expect: str | None, expect_size: int | None) -> None:
        if expect_size is not None and size != expect_size:
            raise DigestMismatch(f"{self.what}: blob {expect or digest}: {size} bytes, but {expect_size} were announced "
                                 "(truncated or padded)")
        if expect is not None and expect != digest:
            raise DigestMismatch(f"{self.what}: blob {expect}: content has digest {digest}")

    def blob_file(self, src_path: str, expect: str | None = None, expect_size: int | None = None,
                  move: bool = False) -> str:
        """Stage a blob from a file (moved when ``move`` and it is already in the staging area)."""
        if move and os.path.dirname(os.path.abspath(src_path)) == self.dir:
            h = hashlib.sha256()
            n = 0
            with open(src_path, "rb") as f:
                while chunk := f.read(CHUNK):
                    h.update(chunk)
                    n += len(chunk)
            digest = "sha256:" + h.hexdigest()
            self._verify(digest, n, expect, expect_size)
            if digest in self.blobs or self.store.has_blob(digest):
                os.unlink(src_path)
                self.blobs.setdefault(digest, self.store.blob_path(digest))
            else:
                self.blobs[digest] = src_path
            return digest
        with open(src_path, "rb") as f:
            return self.blob_stream(f, expect, expect_size)

    def blob_path(self, digest: str) -> str:
        return self.blobs.get(digest) or self.store.blob_path(digest)

    def read_json_blob(self, digest: str) -> Any:
        with open(self.blob_path(digest), "rb") as f:
            data = f.read(self.limits.max_json + 1)
        if len(data) > self.limits.max_json:
            raise InvalidArgument(f"{self.what}: {digest[:19]}: JSON larger than {self.limits.max_json} bytes")
        try:
            return json.loads(data)
        except ValueError as e:
            raise InvalidArgument(f"{self.what}: {digest[:19]}: malformed JSON: {e}") from None

    # ---- layers ---------------------------------------------------------------

    def layer(self, digest: str, media_type: str, diff_id: str | None = None,
              check: Callable[[], None] | None = None) -> Layer:
        """Extract a staged (or stored) blob as a layer, verifying ``diff_id`` if given.

        ``check`` is called between reads (a cancel's check: what it raises stops the extraction; the
        half-extracted layer is in the staging area, which goes when the ingest closes)."""
        if media_type and media_type not in layerlib.MEDIA_TAR + layerlib.MEDIA_GZIP:
            raise layerlib.LayerError(f"{self.what}: layer {digest[:19]}: unsupported media type {media_type}")
        if diff_id is not None:
            hex_of(diff_id)
            if diff_id in self.layers or self.store.has_layer(diff_id):
                # Present already: still check that this blob is that layer.
                got = self._hash_only(digest, media_type, check)
                if got != diff_id:
                    raise DigestMismatch(f"{self.what}: layer {digest[:19]}: uncompressed digest {got[:19]} "
                                         f"does not match diff id {diff_id[:19]}")
                self.layers.setdefault(diff_id, "")
                return Layer(digest, diff_id, os.path.getsize(self.blob_path(digest)), media_type or _media_of(self.blob_path(digest)))
        tmp = os.path.join(self.dir, f"layer-{len(self.layers)}-{secrets.token_hex(4)}")
        os.makedirs(os.path.join(tmp, "diff"))
        got_x = layerlib.extract_blob(self.blob_path(digest), os.path.join(tmp, "diff"), self.limits, media_type,
                                      what=f"{self.what}: layer {digest[:19]}", check=check)
        if diff_id is not None and got_x.diff_id != diff_id:
            fsutil.remove_tree(tmp)
            raise DigestMismatch(f"{self.what}: layer {digest[:19]}: uncompressed digest {got_x.diff_id[:19]} "
                                 f"does not match diff id {diff_id[:19]}")
        ImageStore.write_layer_meta(tmp, got_x, digest)
        if got_x.diff_id in self.layers or self.store.has_layer(got_x.diff_id):
            fsutil.remove_tree(tmp)
            self.layers.setdefault(got_x.diff_id, "")
        else:
            self.layers[got_x.diff_id] = tmp
        return Layer(digest, got_x.diff_id, os.path.getsize(self.blob_path(digest)),
                     media_type or _media_of(self.blob_path(digest)))

    def _hash_only(self, digest: str, media_type: str, check: Callable[[], None] | None = None) -> str:
        stream = layerlib.open_layer(self.blob_path(digest), media_type)
        try:
            h = layerlib.HashingReader(stream, check)
            try:
                h.drain()
            except (OSError, EOFError, layerlib.zlib_error()) as e:
                raise layerlib.LayerError(f"{self.what}: layer {digest[:19]}: not a valid compressed stream: {e}") from None
            return h.digest()
        finally:
            stream.close()

    # ---- the end ----------------------------------------------------------------

    def commit(self, config: dict[str, Any] | bytes, layers: list[Layer], tags: list[str]) -> Image:
        """Move the staged blobs and layers into the store and register the image."""
        return self.commit_many([(config, layers, tags)])[0]

    def commit_many(self, images: list[tuple[dict[str, Any] | bytes, list[Layer], list[str]]]) -> list[Image]:
        """Register several images at once, after everything has been staged and verified."""
        manifests = []
        for config, layers, tags in images:
            cbytes = config if isinstance(config, bytes) else json.dumps(config, separators=(",", ":")).encode()
            cdigest = self.blob_bytes(cbytes)
            manifests.append((manifest_for(cdigest, len(cbytes), layers), tags))
        self.publish()
        out = [self.store.add(m, tags) for m, tags in manifests]
        self.committed = True
        return out

    def publish(self) -> None:
        """Rename staged blobs and layers into the store (idempotent)."""
        for digest, path in list(self.blobs.items()):
            final = self.store.blob_path(digest)
            if path != final:
                if not os.path.exists(final):
                    os.replace(path, final)
                self.blobs[digest] = final
        for diff_id, path in list(self.layers.items()):
            if not path:
                continue
            final = os.path.join(self.store.layers_dir, hex_of(diff_id))
            if not os.path.exists(final):
                try:
                    os.rename(path, final)
                except OSError:
                    if not self.store.has_layer(diff_id):
                        raise
            self.layers[diff_id] = ""


def manifest_for(config_digest: str, config_size: int, layers: list[Layer]) -> dict[str, Any]:
    """An OCI image manifest for a config and its layers."""
    from .store import MEDIA_OCI_CONFIG, MEDIA_OCI_MANIFEST

    return {
        "schemaVersion": 2,
        "mediaType": MEDIA_OCI_MANIFEST,
        "config": {"mediaType": MEDIA_OCI_CONFIG, "digest": config_digest, "size": config_size},
        "layers": [{"mediaType": layer.media_type, "digest": layer.digest, "size": layer.size} for layer in layers],
    }


def host_arch() -> str:
    """The OCI name of this machine's architecture (``amd64``, ``arm64``)."""
    m = os.uname().machine
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386"}.get(m, m)


def _media_of(path: str) -> str:
    with open(path, "rb") as f:
        head = f.read(2)
    return layerlib.MEDIA_GZIP[0] if head == b"\x1f\x8b" else layerlib.MEDIA_TAR[0]


def copy_stream(src: IO[bytes], dst: IO[bytes], limit: int, what: str) -> int:
    """Copy with a byte cap (decompression bombs fail here); returns the bytes copied."""
    n = 0
    while chunk := src.read(CHUNK):
        n += len(chunk)
        if n > limit:
            raise layerlib.LayerError(f"{what}: larger than the limit of {limit} bytes")
        dst.write(chunk)
    return n


def remove_quietly(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        fsutil.unlink_quiet(path)
