"""Pulling and pushing images between the store and a registry, with progress as typed events.

A pull fetches the manifest (choosing this machine's platform from an index),
then the config and every missing layer blob into the staging area of an
:class:`~.ingest.Ingest` (the same transaction ``load`` and ``build`` use),
each verified against its digest and size as it streams in; each new layer is
extracted there, its diff id verified. Only when everything checked out does
the store change: renames, then the tag, under the store's ingest lock so
``gc`` cannot remove blobs the index does not name yet. Any failure, or a
progress callback that raises (the TUI's cancel), leaves the store as it was.

A push uploads the layers the registry does not have (``HEAD`` first,
"Layer already exists"), trying a cross-repository mount from the other
repositories of the same registry the image is tagged in, then the config,
then the manifest's stored bytes, so the digest a registry reports is the
one the store has.

Progress reaches the caller as :class:`LayerEvent` and :class:`StatusEvent`
values (docker's lines, typed); the CLI draws them as docker does and the TUI
calls :meth:`Engine.pull <runtime.engine.engine.Engine.pull>` from a worker
thread with its own callback, and cancels it from the UI thread with a
:class:`Cancel` (``cancel.set()``): the worker's pull raises
:class:`Cancelled` at once, even from a read blocked on a stalled registry,
and the store is as it was. A cancel that arrives after the image was
committed is too late: the pull returns its result.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ..errors import InvalidArgument, NotFound
from . import manifests, reference
from .ingest import Ingest
from .manifests import ImageManifest, Index, ManifestError, Platform
from .registry import CHUNK_SIZE, Cancel, Cancelled, Registry, Timeouts
from .store import Image, ImageStore, Layer

MAX_INDEX_DEPTH = 2  # an index that points to an index is allowed, once
MAX_CONFIG = 8 << 20


class Phase(enum.Enum):
    """A layer's state, spelled as docker prints it."""

    PULLING = "Pulling fs layer"
    ALREADY_EXISTS = "Already exists"
    DOWNLOADING = "Downloading"
    VERIFYING = "Verifying Checksum"
    DOWNLOAD_COMPLETE = "Download complete"
    EXTRACTING = "Extracting"
    PULL_COMPLETE = "Pull complete"
    PREPARING = "Preparing"
    PUSHING = "Pushing"
    PUSHED = "Pushed"
    LAYER_EXISTS = "Layer already exists"
    MOUNTED = "Mounted from"

    @property
    def has_bar(self) -> bool:
        """A phase that reports bytes (drawn as a bar on a terminal, skipped otherwise)."""
        return self in (Phase.DOWNLOADING, Phase.PUSHING)

    @property
    def final(self) -> bool:
        return self in (Phase.ALREADY_EXISTS, Phase.PULL_COMPLETE, Phase.PUSHED, Phase.LAYER_EXISTS, Phase.MOUNTED)


@dataclass(frozen=True)
class LayerEvent:
    """One layer changed phase, or moved bytes (``current`` of ``total``)."""

    digest: str
    phase: Phase
    current: int = 0
    total: int = 0
    detail: str = ""  # the source repository of a mount

    @property
    def short_id(self) -> str:
        return self.digest[7:19]

    @property
    def text(self) -> str:
        """``Pull complete``, ``Mounted from library/busybox``."""
        return f"{self.phase.value} {self.detail}" if self.detail else self.phase.value


@dataclass(frozen=True)
class StatusEvent:
    """A line of its own: ``latest: Pulling from library/busybox``, ``Digest: sha256:...``."""

    text: str


ProgressEvent = LayerEvent | StatusEvent
ProgressCallback = Callable[[ProgressEvent], None]


@dataclass(frozen=True)
class PullResult:
    image: Image
    reference: str  # the familiar name: "busybox:latest", "localhost:5000/a@sha256:..."
    digest: str  # what the reference resolved to in the registry (an index's digest for a multi-platform image)
    up_to_date: bool

    @property
    def status(self) -> str:
        return (f"Image is up to date for {self.reference}" if self.up_to_date
                else f"Downloaded newer image for {self.reference}")


@dataclass(frozen=True)
class PushResult:
    reference: str
    digest: str
    size: int  # of the manifest, as docker prints it


__all__ = ["Cancel", "Cancelled", "LayerEvent", "Phase", "ProgressCallback", "ProgressEvent", "PullResult",
           "PushResult", "StatusEvent", "pull", "push"]


def _quiet(event: ProgressEvent) -> None:
    pass


def _emitter(progress: ProgressCallback | None, cancel: Cancel | None, what: str) -> ProgressCallback:
    """The callback the transfer calls: it stops at a set :class:`Cancel` before passing the event on."""
    def emit(event: ProgressEvent) -> None:
        if cancel is not None:
            cancel.check(what)
        if progress is not None:
            progress(event)
    return emit


def _reporter(emit: ProgressCallback, digest: str, phase: Phase, total: int) -> Callable[[int], None]:
    return lambda n: emit(LayerEvent(digest, phase, n, total))


def pull(store: ImageStore, name: str, *, registry: Registry | None = None, platform: Platform | None = None,
         tls_verify: bool | None = None, progress: ProgressCallback | None = None, cancel: Cancel | None = None,
         environ: Mapping[str, str] = os.environ, timeouts: Timeouts = Timeouts()) -> PullResult:
    """``docker pull NAME``: the image into the store, verified, its layers extracted once.

    ``progress`` is called on this thread. Setting ``cancel`` from another
    thread, or an exception raised by ``progress``, stops the pull before the
    image is committed and leaves the store as it was (a set ``cancel`` raises
    :class:`Cancelled`; the callback's own exception propagates as it is). The
    last two events (``Digest:``, ``Status:``) come after the commit.
    """
    ref = reference.parse(name)
    by = ref.digest or ref.tag or reference.DEFAULT_TAG
    target = f"{ref.name}@{ref.digest}" if ref.digest else f"{ref.name}:{by}"
    familiar = f"{ref.repository}@{ref.digest}" if ref.digest else f"{ref.repository}:{by}"
    what = f"image {familiar}"
    emit = _emitter(progress, cancel, what)
    try:
        reg = registry or Registry.from_config(ref.domain, tls_verify=tls_verify, environ=environ, timeouts=timeouts)
        if cancel is not None:
            reg.cancel = cancel
        emit(StatusEvent(f"{by}: Pulling from {ref.path}"))
        result = _pull(store, reg, ref.path, by, target, familiar, platform or Platform.host(), emit, what)
    except Exception as e:
        if cancel is not None and cancel.is_set():
            # Whatever the shut-down socket made of it (end of file, a reset): the user's cancel.
            raise Cancelled(f"{what}: pull cancelled") from (None if isinstance(e, Cancelled) else e)
        raise
    done = progress or _quiet
    done(StatusEvent(f"Digest: {result.digest}"))
    done(StatusEvent(f"Status: {result.status}"))
    return result


def _pull(store: ImageStore, reg: Registry, repo: str, by: str, target: str, familiar: str, want: Platform,
          emit: ProgressCallback, what: str) -> PullResult:
    top = reg.get_manifest(repo, by)
    chosen = top
    parsed = manifests.parse(top.data, top.media_type, f"manifest {familiar}")
    for _ in range(MAX_INDEX_DEPTH + 1):
        if not isinstance(parsed, Index):
            break
        desc = manifests.select(parsed, want, what)
        chosen = reg.get_manifest(repo, desc.digest)
        if len(chosen.data) != desc.size:
            raise ManifestError(f"{what}: manifest {desc.digest[:19]} is {len(chosen.data)} bytes, "
                                f"the index says {desc.size}")
        parsed = manifests.parse(chosen.data, chosen.media_type, f"manifest {desc.digest[:19]}")
    if not isinstance(parsed, ImageManifest):
        raise ManifestError(f"{what}: indexes nested more than {MAX_INDEX_DEPTH} deep")
    m = parsed

    existing = store.find(target)
    if (existing is not None and existing.manifest_digest == chosen.digest
            and all(store.has_blob(layer.digest) and store.has_layer(layer.diff_id) for layer in existing.layers)):
        return PullResult(existing, familiar, top.digest, True)

    with Ingest(store, what=what) as ingest:
        image = _fetch(ingest, reg, repo, m, chosen.data, target, emit, what)
    return PullResult(image, familiar, top.digest, False)


def _fetch(ingest: Ingest, reg: Registry, repo: str, m: ImageManifest, manifest_data: bytes, tag: str,
           emit: ProgressCallback, what: str) -> Image:
    """Stage the missing blobs (verified as they stream in) and layers (diff ids verified), then commit."""
    store = ingest.store

    def fetch(digest: str, size: int, on_bytes: Callable[[int], None] | None = None) -> None:
        path = ingest.scratch(f"download-{digest[7:]}")
        with open(path, "wb") as f:
            reg.download_blob(repo, digest, size, f, on_bytes)
        ingest.blob_file(path, expect=digest, expect_size=size, move=True)

    if not store.has_blob(m.config.digest):
        fetch(m.config.digest, m.config.size)
    with open(ingest.blob_path(m.config.digest), "rb") as f:
        config_data = f.read(MAX_CONFIG + 1)
    if len(config_data) > MAX_CONFIG:
        raise ManifestError(f"{what}: config larger than {MAX_CONFIG} bytes")
    cfg = manifests.check_config(config_data, m, what)
    layers = [Layer(d.digest, diff, d.size, d.media_type) for d, diff in zip(m.layers, cfg["rootfs"]["diff_ids"])]

    todo: list[Layer] = []
    for layer in layers:
        if layer in todo:
            continue
        if store.has_blob(layer.digest) and store.has_layer(layer.diff_id):
            emit(LayerEvent(layer.digest, Phase.ALREADY_EXISTS))
        else:
            todo.append(layer)
            emit(LayerEvent(layer.digest, Phase.PULLING, 0, layer.size))
    for layer in todo:
        if not store.has_blob(layer.digest):  # else only its extraction is missing
            fetch(layer.digest, layer.size, _reporter(emit, layer.digest, Phase.DOWNLOADING, layer.size))
            emit(LayerEvent(layer.digest, Phase.VERIFYING, layer.size, layer.size))
            emit(LayerEvent(layer.digest, Phase.DOWNLOAD_COMPLETE, layer.size, layer.size))
    cancel = reg.cancel
    check = (lambda: cancel.check(what)) if cancel is not None else None  # during an extraction, too
    for layer in todo:
        emit(LayerEvent(layer.digest, Phase.EXTRACTING, 0, layer.size))
        ingest.layer(layer.digest, layer.media_type, layer.diff_id, check)
        emit(LayerEvent(layer.digest, Phase.PULL_COMPLETE, layer.size, layer.size))
    # Everything is staged and verified: only renames and the index update are left.
    ingest.publish()
    image = store.add(manifest_data, [tag])
    ingest.committed = True
    return image


def push(store: ImageStore, name: str, *, registry: Registry | None = None, tls_verify: bool | None = None,
         progress: ProgressCallback | None = None, cancel: Cancel | None = None,
         environ: Mapping[str, str] = os.environ, timeouts: Timeouts = Timeouts(),
         chunk_size: int = CHUNK_SIZE) -> PushResult:
    """``docker push NAME[:TAG]``: the image tagged NAME goes to NAME's registry.

    ``cancel`` and ``progress`` as for :func:`pull`; a cancelled push may
    leave blobs in the registry (unreferenced until a push completes) but
    never a manifest, which is sent last. The store is only read.
    """
    ref = reference.parse(name)
    if ref.digest:
        raise InvalidArgument(f"image {name}: cannot push by digest: tag the image and push the tag")
    full = str(ref)
    image = next((i for i in store.images() if full in i.repo_tags), None)
    if image is None:
        raise NotFound(f"image {ref.familiar}: an image does not exist locally with this tag")
    emit = _emitter(progress, cancel, f"image {ref.familiar}")
    try:
        reg = registry or Registry.from_config(ref.domain, tls_verify=tls_verify, environ=environ, timeouts=timeouts)
        if cancel is not None:
            reg.cancel = cancel
        result = _push(store, reg, ref, image, emit, chunk_size)
    except Exception as e:
        if cancel is not None and cancel.is_set():
            raise Cancelled(f"image {ref.familiar}: push cancelled") from (None if isinstance(e, Cancelled) else e)
        raise
    (progress or _quiet)(StatusEvent(f"{ref.tag}: digest: {result.digest} size: {result.size}"))
    return result


def _push(store: ImageStore, reg: Registry, ref: reference.Reference, image: Image, emit: ProgressCallback,
          chunk_size: int) -> PushResult:
    emit(StatusEvent(f"The push refers to repository [{ref.name}]"))
    data = store.read_blob(image.manifest_digest)
    m = manifests.parse(data, "", f"image {ref.familiar}")
    if not isinstance(m, ImageManifest):
        raise ManifestError(f"image {ref.familiar}: the stored manifest is an index")
    # Repositories of the same registry this image is tagged in: a mount from one costs no upload.
    sources = tuple(dict.fromkeys(r.path for r in (reference.parse(t) for t in image.repo_tags if "@" not in t)
                                  if r.domain == ref.domain and r.path != ref.path))
    order = list({d.digest: d for d in reversed(m.layers)}.values())  # docker lists the top layer first
    for d in order:
        emit(LayerEvent(d.digest, Phase.PREPARING, 0, d.size))
    for d in order:
        if reg.blob_size(ref.path, d.digest) is not None:
            emit(LayerEvent(d.digest, Phase.LAYER_EXISTS, d.size, d.size))
            continue
        source = _upload(store, reg, ref.path, d, sources, chunk_size, ref.familiar,
                         _reporter(emit, d.digest, Phase.PUSHING, d.size))
        if source:
            emit(LayerEvent(d.digest, Phase.MOUNTED, d.size, d.size, detail=source))
        else:
            emit(LayerEvent(d.digest, Phase.PUSHED, d.size, d.size))
    if reg.blob_size(ref.path, m.config.digest) is None:
        _upload(store, reg, ref.path, m.config, sources, chunk_size, ref.familiar, None)
    digest = reg.put_manifest(ref.path, ref.tag or reference.DEFAULT_TAG, data, m.media_type)
    return PushResult(ref.familiar, digest, len(data))


def _upload(store: ImageStore, reg: Registry, repo: str, d: manifests.Descriptor, sources: tuple[str, ...],
            chunk_size: int, what: str, on_bytes: Callable[[int], None] | None) -> str | None:
    path = store.blob_path(d.digest)
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        raise NotFound(f"image {what}: blob {d.digest[:19]} is not in the store") from None
    with f:
        size = os.fstat(f.fileno()).st_size
        if size != d.size:
            raise ManifestError(f"image {what}: blob {d.digest[:19]} is {size} bytes in the store, "
                                f"the manifest says {d.size}")
        return reg.upload_blob(repo, d.digest, d.size, f, on_bytes, mount_from=sources, chunk_size=chunk_size)
