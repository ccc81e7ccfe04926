"""Image references, parsed and normalised as docker does.

``busybox`` is ``docker.io/library/busybox:latest``; ``localhost:5000/a/b:tag@sha256:...``
keeps its registry. The grammar is the distribution project's
(``reference/regexp.go``): a first component with a ``.`` or ``:``, or
``localhost``, is a registry; path components are lowercase alphanumerics
joined by ``.``, ``_``, ``__`` or dashes; tags are up to 128 word characters,
dots and dashes; digests are ``algorithm:hex``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import InvalidArgument

DEFAULT_DOMAIN = "docker.io"
LEGACY_DOMAIN = "index.docker.io"  # docker normalises it to docker.io
OFFICIAL_PREFIX = "library/"
DEFAULT_TAG = "latest"

_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_DOMAIN = re.compile(
    r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*(?::[0-9]+)?$"
    r"|^\[[0-9a-fA-F:]+\](?::[0-9]+)?$"
)
_TAG = re.compile(r"^[\w][\w.-]{0,127}$", re.ASCII)  # Go's \w is ASCII only
_DIGEST = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$")
_SHA256 = re.compile(r"^sha256:[a-f0-9]{64}$")
_IDENTIFIER = re.compile(r"^[a-f0-9]{64}$")
NAME_MAX = 255


@dataclass(frozen=True)
class Reference:
    domain: str
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        """``docker.io/library/busybox``."""
        return f"{self.domain}/{self.path}"

    @property
    def repository(self) -> str:
        """The familiar repository, as ``docker images`` shows it: ``busybox``, ``localhost:5000/a/b``."""
        if self.domain == DEFAULT_DOMAIN:
            return self.path[len(OFFICIAL_PREFIX):] if self.path.startswith(OFFICIAL_PREFIX) else self.path
        return self.name

    def __str__(self) -> str:
        s = self.name
        if self.tag:
            s += ":" + self.tag
        if self.digest:
            s += "@" + self.digest
        return s

    @property
    def familiar(self) -> str:
        s = self.repository
        if self.tag:
            s += ":" + self.tag
        if self.digest:
            s += "@" + self.digest
        return s

    def with_tag(self, tag: str) -> Reference:
        return Reference(self.domain, self.path, tag, None)


def parse(ref: str, default_tag: bool = True) -> Reference:
    """Parse and normalise; a bare name gets ``:latest`` unless ``default_tag`` is False."""
    if not ref or ref != ref.strip():
        raise InvalidArgument(f"invalid reference format: {ref!r}")
    original = ref
    ref = ref if ref.isprintable() else repr(ref)  # as it appears in messages: one line, control characters shown
    rest, digest = original, None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
        if digest.startswith("sha256:") and not _SHA256.fullmatch(digest):
            raise InvalidArgument(f"invalid reference format: {ref}: a sha256 digest has 64 lowercase hex digits")
        if not _DIGEST.fullmatch(digest):
            raise InvalidArgument(f"invalid reference format: {ref}: bad digest")
    tag = None
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1:]
        if not _TAG.fullmatch(tag):
            raise InvalidArgument(f"invalid reference format: {ref}: bad tag {tag!r}")
    if not rest:
        raise InvalidArgument(f"invalid reference format: {original!r}")
    if _IDENTIFIER.fullmatch(rest):
        # docker's rule: a bare 64-hex name would be mistaken for an image id.
        raise InvalidArgument(f"invalid repository name ({rest}), cannot specify 64-byte hexadecimal strings")
    parts = rest.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost" or parts[0].startswith("[")):
        domain, components = parts[0], parts[1:]
        if not _DOMAIN.fullmatch(domain):
            raise InvalidArgument(f"invalid reference format: {ref}: bad registry {domain!r}")
        if domain == LEGACY_DOMAIN:
            domain = DEFAULT_DOMAIN
    else:
        domain, components = DEFAULT_DOMAIN, parts
    path = "/".join(components)
    if domain == DEFAULT_DOMAIN and len(components) == 1:
        path = OFFICIAL_PREFIX + path
    for c in components:
        if not _COMPONENT.fullmatch(c):
            if c.lower() != c and _COMPONENT.fullmatch(c.lower()):
                raise InvalidArgument(f"invalid reference format: repository name ({path}) must be lowercase")
            raise InvalidArgument(f"invalid reference format: {ref}")
    if len(f"{domain}/{path}") > NAME_MAX:
        raise InvalidArgument(f"invalid reference format: {ref}: repository name longer than {NAME_MAX} characters")
    if tag is None and digest is None and default_tag:
        tag = DEFAULT_TAG
    return Reference(domain, path, tag, digest)


def is_image_id(s: str) -> bool:
    """True for ``sha256:<64 hex>`` or a bare hex prefix of at least 3 characters."""
    if s.startswith("sha256:"):
        s = s[7:]
    return 3 <= len(s) <= 64 and all(c in "0123456789abcdef" for c in s)
