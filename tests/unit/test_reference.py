"""Image references parse and normalise as docker's (distribution's ``reference`` package); bad ones say why."""

from __future__ import annotations

import pytest

from runtime.errors import InvalidArgument
from runtime.images import reference
from runtime.images.reference import Reference

DIGEST = "sha256:" + "0123456789abcdef" * 4


@pytest.mark.parametrize("text, want, full, familiar", [
    ("busybox", Reference("docker.io", "library/busybox", "latest"), "docker.io/library/busybox:latest",
     "busybox:latest"),
    ("busybox:1.36", Reference("docker.io", "library/busybox", "1.36"), "docker.io/library/busybox:1.36",
     "busybox:1.36"),
    ("alice/tools", Reference("docker.io", "alice/tools", "latest"), "docker.io/alice/tools:latest", "alice/tools:latest"),
    ("docker.io/busybox", Reference("docker.io", "library/busybox", "latest"), "docker.io/library/busybox:latest",
     "busybox:latest"),
    ("index.docker.io/library/busybox:1", Reference("docker.io", "library/busybox", "1"),
     "docker.io/library/busybox:1", "busybox:1"),
    (f"localhost:5000/a/b:tag@{DIGEST}", Reference("localhost:5000", "a/b", "tag", DIGEST),
     f"localhost:5000/a/b:tag@{DIGEST}", f"localhost:5000/a/b:tag@{DIGEST}"),
    (f"localhost:5000/a/b@{DIGEST}", Reference("localhost:5000", "a/b", None, DIGEST),
     f"localhost:5000/a/b@{DIGEST}", f"localhost:5000/a/b@{DIGEST}"),
    ("localhost/x", Reference("localhost", "x", "latest"), "localhost/x:latest", "localhost/x:latest"),
    ("ghcr.io/o-r_g/a.b__c--d:V1.0_rc-2", Reference("ghcr.io", "o-r_g/a.b__c--d", "V1.0_rc-2"),
     "ghcr.io/o-r_g/a.b__c--d:V1.0_rc-2", "ghcr.io/o-r_g/a.b__c--d:V1.0_rc-2"),
    ("[::1]:5000/x:y", Reference("[::1]:5000", "x", "y"), "[::1]:5000/x:y", "[::1]:5000/x:y"),
    # Without a registry-looking first component (no '.' or ':', not localhost), it is a Docker Hub path.
    ("registry/x", Reference("docker.io", "registry/x", "latest"), "docker.io/registry/x:latest", "registry/x:latest"),
    # A port alone is a tag, as in docker: "localhost:5000" names docker.io/library/localhost:5000.
    ("localhost:5000", Reference("docker.io", "library/localhost", "5000"), "docker.io/library/localhost:5000",
     "localhost:5000"),
])
def test_references_normalise_as_docker(text: str, want: Reference, full: str, familiar: str) -> None:
    got = reference.parse(text)
    assert got == want
    assert (str(got), got.familiar) == (full, familiar)
    assert reference.parse(full) == got  # normalised names parse to themselves


def test_no_default_tag_when_asked_and_with_tag() -> None:
    assert reference.parse("busybox", default_tag=False).tag is None
    assert reference.parse("busybox", default_tag=False).with_tag("1").familiar == "busybox:1"
    assert reference.parse("localhost:5000/a").repository == "localhost:5000/a"


@pytest.mark.parametrize("text, message", [
    ("", "invalid reference format: ''"),
    (" busybox", "invalid reference format: ' busybox'"),
    ("busybox\n", "invalid reference format: 'busybox\\n'"),
    ("Busybox", "invalid reference format: repository name (library/Busybox) must be lowercase"),
    ("localhost:5000/Team/app", "invalid reference format: repository name (Team/app) must be lowercase"),
    ("busybox:", "bad tag ''"),
    ("busybox:-x", "bad tag '-x'"),
    ("busybox:" + "t" * 129, "bad tag"),
    ("busybox:tägé", "bad tag"),  # tags are ASCII word characters, as Go's \w
    ("busybox@sha256:abc", "a sha256 digest has 64 lowercase hex digits"),
    ("busybox@" + DIGEST.upper().replace("SHA256", "sha256"), "a sha256 digest has 64 lowercase hex digits"),
    ("busybox@md5", "bad digest"),
    ("a//b", "invalid reference format: a//b"),
    ("a/b/", "invalid reference format: a/b/"),
    ("a\n/b", "invalid reference format"),
    ("-a/b", "invalid reference format: -a/b"),
    ("a__-b", "invalid reference format: a__-b"),
    ("exa_mple.com/x", "invalid reference format: exa_mple.com/x: bad registry 'exa_mple.com'"),
    ("example.com:port/x", "bad registry"),
    (":tag", "invalid reference format: ':tag'"),
    ("@" + DIGEST, "invalid reference format"),
    ("0123456789abcdef" * 4, "cannot specify 64-byte hexadecimal strings"),
    ("example.com/" + "a" * 250, "longer than 255 characters"),
])
def test_bad_references_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as e:
        reference.parse(text)
    assert message in str(e.value)
    assert "\n" not in str(e.value)  # one line


@pytest.mark.parametrize("text, is_id", [
    ("sha256:" + "a" * 64, True), ("abc", True), ("abcdef012345", True), ("ab", False), ("busybox", False),
    ("ABC", False), ("a" * 65, False),
])
def test_image_ids_and_prefixes(text: str, is_id: bool) -> None:
    assert reference.is_image_id(text) is is_id
