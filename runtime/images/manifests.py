"""Image manifests and indexes as a registry serves them: parsing, validation, choosing a platform.

Four media types are understood, OCI's and Docker's: an image manifest (a
config and layers) and an index or manifest list (one manifest per
platform). Everything is checked before any blob is fetched: the schema
version, every descriptor's digest (sha256, 64 lowercase hex digits) and
size, and the layer media types tuidock can extract (tar and tar+gzip; zstd
and Docker's "foreign" layers are refused by name). Docker's signed schema 1
manifests are refused with a message that says so.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidArgument
from .registry import (MEDIA_DOCKER_LIST, MEDIA_DOCKER_MANIFEST, MEDIA_DOCKER_SCHEMA1, MEDIA_OCI_INDEX,
                       MEDIA_OCI_MANIFEST)

MEDIA_OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
LAYER_TYPES = (
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.docker.image.rootfs.diff.tar",
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
)
ZSTD_TYPES = ("application/vnd.oci.image.layer.v1.tar+zstd",)
FOREIGN_TYPES = ("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
                 "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
                 "application/vnd.oci.image.layer.nondistributable.v1.tar")
# Go's GOARCH names, which image configs and indexes use.
_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64", "i386": "386", "i686": "386",
         "armv7l": "arm", "armv6l": "arm", "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}
_VARIANT = {"aarch64": "v8", "arm64": "v8", "armv7l": "v7", "armv6l": "v6"}


class ManifestError(InvalidArgument):
    """A manifest, index or config that is malformed or that tuidock cannot use."""


@dataclass(frozen=True)
class Platform:
    os: str
    architecture: str
    variant: str = ""

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)

    @classmethod
    def parse(cls, s: str) -> Platform:
        """``linux/arm64/v8``, ``linux/amd64``, ``arm64`` (linux assumed)."""
        parts = s.strip().lower().split("/")
        if len(parts) == 1 and parts[0]:
            parts = ["linux", parts[0]]
        if len(parts) not in (2, 3) or not all(parts):
            raise InvalidArgument(f"platform {s!r}: expected os/arch[/variant], like linux/amd64")
        arch = _ARCH.get(parts[1], parts[1])
        return cls(parts[0], arch, parts[2] if len(parts) == 3 else "")

    @classmethod
    def host(cls, machine: str | None = None) -> Platform:
        """This machine's platform, as Go spells it: x86_64 is linux/amd64."""
        m = machine or os.uname().machine
        return cls("linux", _ARCH.get(m, m), _VARIANT.get(m, ""))


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    platform: Platform | None = None
    annotations: Mapping[str, str] = field(default_factory=dict)

    @property
    def short_id(self) -> str:
        """The layer id docker prints: the first 12 hex digits."""
        return self.digest[7:19]


@dataclass(frozen=True)
class ImageManifest:
    media_type: str
    config: Descriptor
    layers: tuple[Descriptor, ...]


@dataclass(frozen=True)
class Index:
    media_type: str
    manifests: tuple[Descriptor, ...]


def _digest(d: Any, what: str) -> str:
    if not isinstance(d, str):
        raise ManifestError(f"{what}: digest missing")
    algo, _, hexpart = d.partition(":")
    if algo != "sha256" or len(hexpart) != 64 or any(c not in "0123456789abcdef" for c in hexpart):
        raise ManifestError(f"{what}: malformed digest {d[:80]!r} (want sha256: and 64 lowercase hex digits)")
    return d


def _descriptor(d: Any, what: str) -> Descriptor:
    if not isinstance(d, dict):
        raise ManifestError(f"{what}: descriptor is not an object")
    digest = _digest(d.get("digest"), what)
    size = d.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ManifestError(f"{what}: descriptor {digest[:19]} has no valid size")
    mt = d.get("mediaType", "")
    if not isinstance(mt, str):
        raise ManifestError(f"{what}: descriptor {digest[:19]} has a malformed mediaType")
    plat = None
    p = d.get("platform")
    if isinstance(p, dict):
        plat = Platform(str(p.get("os", "")), str(p.get("architecture", "")), str(p.get("variant", "") or ""))
    ann = d.get("annotations") or {}
    return Descriptor(mt, digest, size, plat, {str(k): str(v) for k, v in ann.items()} if isinstance(ann, dict) else {})


def parse(data: bytes, content_type: str = "", what: str = "manifest") -> ImageManifest | Index:
    """Parse and validate a manifest or an index; the body's ``mediaType`` wins over the HTTP header."""
    try:
        doc = json.loads(data)
    except ValueError as e:
        raise ManifestError(f"{what}: not valid JSON: {e}") from None
    if not isinstance(doc, dict):
        raise ManifestError(f"{what}: not a JSON object")
    mt = doc.get("mediaType") or content_type
    if doc.get("schemaVersion") == 1 or mt == MEDIA_DOCKER_SCHEMA1 or "fsLayers" in doc:
        raise ManifestError(f"{what}: Docker schema 1 manifests are deprecated and not supported")
    if doc.get("schemaVersion") != 2:
        raise ManifestError(f"{what}: schemaVersion {doc.get('schemaVersion')!r} is not 2")
    if mt in (MEDIA_OCI_INDEX, MEDIA_DOCKER_LIST) or (not mt and "manifests" in doc):
        entries = doc.get("manifests")
        if not isinstance(entries, list):
            raise ManifestError(f"{what}: index without a manifests list")
        return Index(mt or MEDIA_OCI_INDEX, tuple(_descriptor(e, f"{what}: manifests[{i}]") for i, e in enumerate(entries)))
    if mt in (MEDIA_OCI_MANIFEST, MEDIA_DOCKER_MANIFEST) or (not mt and "config" in doc):
        cfg = _descriptor(doc.get("config"), f"{what}: config")
        layers = doc.get("layers")
        if not isinstance(layers, list):
            raise ManifestError(f"{what}: no layers list")
        descs = tuple(_descriptor(entry, f"{what}: layers[{i}]") for i, entry in enumerate(layers))
        for i, d in enumerate(descs):
            if d.media_type in ZSTD_TYPES:
                raise ManifestError(f"{what}: layer {d.short_id} is zstd-compressed, which tuidock does not support")
            if d.media_type in FOREIGN_TYPES:
                raise ManifestError(f"{what}: layer {d.short_id} is a non-distributable (foreign) layer, "
                                    "which tuidock does not fetch")
            if d.media_type not in LAYER_TYPES:
                raise ManifestError(f"{what}: layers[{i}] has media type {d.media_type!r}, not an image layer")
        return ImageManifest(mt or MEDIA_OCI_MANIFEST, cfg, descs)
    raise ManifestError(f"{what}: unsupported media type {mt!r}")


def _matches(have: Platform, want: Platform) -> bool:
    if have.os != want.os or have.architecture != want.architecture:
        return False
    if not want.variant or not have.variant:
        return True
    return have.variant == want.variant


def select(index: Index, want: Platform, what: str = "image") -> Descriptor:
    """The manifest for a platform, as docker picks it: exact variant first, then any.

    Attestation entries (BuildKit's ``unknown/unknown`` with a
    ``vnd.docker.reference.type`` annotation) are never chosen.
    """
    candidates = [d for d in index.manifests
                  if d.platform is not None and "vnd.docker.reference.type" not in d.annotations]
    exact = [d for d in candidates if d.platform is not None and d.platform.os == want.os
             and d.platform.architecture == want.architecture and d.platform.variant == want.variant]
    if exact:
        return exact[0]
    loose = [d for d in candidates if d.platform is not None and _matches(d.platform, want)]
    if loose:
        return loose[0]
    have = ", ".join(str(d.platform) for d in candidates) or "none"
    raise ManifestError(f"{what}: no manifest for {want} in the manifest list (it has: {have})")


def check_config(data: bytes, manifest: ImageManifest, what: str = "image") -> dict[str, Any]:
    """The image config: JSON, with one diff id (a sha256 digest) per layer."""
    try:
        cfg = json.loads(data)
    except ValueError as e:
        raise ManifestError(f"{what}: config is not valid JSON: {e}") from None
    if not isinstance(cfg, dict):
        raise ManifestError(f"{what}: config is not a JSON object")
    rootfs = cfg.get("rootfs")
    diff_ids = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
    if not isinstance(diff_ids, list):
        raise ManifestError(f"{what}: config has no rootfs.diff_ids")
    if len(diff_ids) != len(manifest.layers):
        raise ManifestError(f"{what}: {len(manifest.layers)} layers but {len(diff_ids)} diff ids in the config")
    for i, d in enumerate(diff_ids):
        _digest(d, f"{what}: rootfs.diff_ids[{i}]")
    if cfg.get("os") not in (None, "", "linux"):
        raise ManifestError(f"{what}: an image for {cfg.get('os')}, not linux")
    return cfg
