"""The pure parts of registry access: challenges, manifests and platforms, credentials, insecure registries, progress."""

from __future__ import annotations

import base64
import io
import json
import os
import stat
from pathlib import Path

import pytest

from runtime.errors import InvalidArgument
from runtime.images import manifests, regconfig
from runtime.images.distribution import LayerEvent, Phase, StatusEvent
from runtime.images.manifests import Index, ManifestError, Platform
from runtime.images.registry import Challenge, error_text, parse_challenges
from tuidock.cli.progress import Renderer, bar

D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64
D3 = "sha256:" + "3" * 64


# ---- WWW-Authenticate ----------------------------------------------------------------

def test_bearer_challenge_as_docker_hub_sends_it() -> None:
    h = 'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"'
    assert parse_challenges(h) == [Challenge("bearer", {
        "realm": "https://auth.docker.io/token", "service": "registry.docker.io",
        "scope": "repository:library/busybox:pull"})]


def test_basic_challenge_and_case_of_scheme_and_keys() -> None:
    assert parse_challenges('BASIC Realm="Registry Realm"') == [Challenge("basic", {"realm": "Registry Realm"})]


def test_two_challenges_in_one_header_and_unquoted_values() -> None:
    got = parse_challenges('Bearer realm="https://a/token", service=reg , Basic realm="b"')
    assert got == [Challenge("bearer", {"realm": "https://a/token", "service": "reg"}), Challenge("basic", {"realm": "b"})]


def test_quoted_strings_keep_commas_and_escapes() -> None:
    got = parse_challenges(r'Bearer realm="http://x/t?a=1,b=2",scope="repository:a:pull,push",error="say \"no\""')
    assert got[0].params == {"realm": "http://x/t?a=1,b=2", "scope": "repository:a:pull,push", "error": 'say "no"'}


def test_insufficient_scope_error_is_a_param() -> None:
    got = parse_challenges('Bearer realm="r",service="s",scope="repository:a:pull,push",error="insufficient_scope"')
    assert got[0].params["error"] == "insufficient_scope"


@pytest.mark.parametrize("junk", ["", "   ", ",,,", '="x"', 'Bearer realm="unterminated', "Bearer ="])
def test_malformed_headers_end_without_error(junk: str) -> None:
    parse_challenges(junk)  # must terminate; the result does not matter


def test_distribution_error_body_is_one_line() -> None:
    body = json.dumps({"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown", "detail": {}}]})
    assert error_text(body.encode()) == "manifest unknown"
    assert error_text(b"<html>\nbad gateway") == "<html>"


# ---- manifests and platforms --------------------------------------------------------------

def manifest(media: str = manifests.MEDIA_OCI_MANIFEST, layers: list[dict[str, object]] | None = None) -> bytes:
    return json.dumps({
        "schemaVersion": 2, "mediaType": media,
        "config": {"mediaType": manifests.MEDIA_OCI_CONFIG, "digest": D1, "size": 10},
        "layers": layers if layers is not None else [
            {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": D2, "size": 20}],
    }).encode()


def index(entries: list[tuple[str, str, str, str]], media: str = manifests.MEDIA_OCI_INDEX) -> bytes:
    return json.dumps({"schemaVersion": 2, "mediaType": media, "manifests": [
        {"mediaType": manifests.MEDIA_OCI_MANIFEST, "digest": d, "size": 100,
         "platform": {"os": o, "architecture": a, **({"variant": v} if v else {})}} for d, o, a, v in entries]}).encode()


def test_oci_and_docker_manifests_parse() -> None:
    m = manifests.parse(manifest())
    assert isinstance(m, manifests.ImageManifest) and m.config.digest == D1 and m.layers[0].size == 20
    d = manifests.parse(manifest(manifests.MEDIA_DOCKER_MANIFEST, [
        {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "digest": D2, "size": 5}]))
    assert isinstance(d, manifests.ImageManifest) and d.media_type == manifests.MEDIA_DOCKER_MANIFEST


def test_media_type_from_the_header_when_the_body_has_none() -> None:
    doc = json.loads(manifest())
    del doc["mediaType"]
    m = manifests.parse(json.dumps(doc).encode(), manifests.MEDIA_DOCKER_MANIFEST)
    assert m.media_type == manifests.MEDIA_DOCKER_MANIFEST


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.update(schemaVersion=1), "schema 1"),
    (lambda d: d.update(schemaVersion=3), "schemaVersion 3"),
    (lambda d: d["config"].update(digest="sha256:abc"), "malformed digest"),
    (lambda d: d["config"].update(digest="sha256:" + "A" * 64), "malformed digest"),
    (lambda d: d["config"].update(digest="md5:" + "1" * 64), "malformed digest"),
    (lambda d: d["layers"][0].update(size=-1), "no valid size"),
    (lambda d: d["layers"][0].update(size="20"), "no valid size"),
    (lambda d: d["layers"][0].update(mediaType="application/vnd.oci.image.layer.v1.tar+zstd"), "zstd"),
    (lambda d: d["layers"][0].update(mediaType="application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"), "foreign"),
    (lambda d: d["layers"][0].update(mediaType="text/plain"), "not an image layer"),
    (lambda d: d.pop("layers"), "no layers"),
    (lambda d: d.update(mediaType="application/x-nonsense"), "unsupported media type"),
])
def test_malformed_manifests_are_refused_by_name(mutate, message: str) -> None:  # type: ignore[no-untyped-def]
    doc = json.loads(manifest())
    mutate(doc)
    with pytest.raises(ManifestError, match=message):
        manifests.parse(json.dumps(doc).encode(), what="manifest x")


@pytest.mark.parametrize("data", [b"", b"{", b"[]", b"\xff\xfe"])
def test_garbage_is_not_a_manifest(data: bytes) -> None:
    with pytest.raises(ManifestError):
        manifests.parse(data)


def test_index_picks_this_machines_platform() -> None:
    idx = manifests.parse(index([(D1, "linux", "arm64", "v8"), (D2, "linux", "amd64", ""), (D3, "windows", "amd64", "")]))
    assert isinstance(idx, Index)
    assert manifests.select(idx, Platform.host("x86_64")).digest == D2
    assert manifests.select(idx, Platform.host("aarch64")).digest == D1


def test_docker_manifest_list_and_variant_matching() -> None:
    idx = manifests.parse(index([(D1, "linux", "arm", "v6"), (D2, "linux", "arm", "v7")], manifests.MEDIA_DOCKER_LIST))
    assert isinstance(idx, Index)
    assert manifests.select(idx, Platform("linux", "arm", "v7")).digest == D2
    assert manifests.select(idx, Platform("linux", "arm", "")).digest == D1  # no variant wanted: the first arm


def test_attestation_entries_are_never_chosen() -> None:
    doc = json.loads(index([(D1, "unknown", "unknown", ""), (D2, "linux", "amd64", "")]))
    doc["manifests"][0]["annotations"] = {"vnd.docker.reference.type": "attestation-manifest"}
    doc["manifests"][0]["platform"] = {"os": "linux", "architecture": "amd64"}
    idx = manifests.parse(json.dumps(doc).encode())
    assert isinstance(idx, Index)
    assert manifests.select(idx, Platform("linux", "amd64")).digest == D2


def test_no_matching_platform_names_what_there_is() -> None:
    idx = manifests.parse(index([(D1, "linux", "arm64", "v8"), (D2, "linux", "s390x", "")]))
    assert isinstance(idx, Index)
    with pytest.raises(ManifestError, match=r"no manifest for linux/amd64 .*linux/arm64/v8, linux/s390x"):
        manifests.select(idx, Platform("linux", "amd64"), "image x")


@pytest.mark.parametrize("text, want", [
    ("linux/amd64", Platform("linux", "amd64")), ("linux/arm64/v8", Platform("linux", "arm64", "v8")),
    ("arm64", Platform("linux", "arm64")), ("linux/x86_64", Platform("linux", "amd64")),
])
def test_platform_flag(text: str, want: Platform) -> None:
    assert Platform.parse(text) == want


@pytest.mark.parametrize("bad", ["", "/", "linux/", "a/b/c/d"])
def test_bad_platform_flag(bad: str) -> None:
    with pytest.raises(InvalidArgument):
        Platform.parse(bad)


def test_config_must_have_one_diff_id_per_layer() -> None:
    m = manifests.parse(manifest())
    assert isinstance(m, manifests.ImageManifest)
    good = {"os": "linux", "rootfs": {"type": "layers", "diff_ids": [D3]}}
    assert manifests.check_config(json.dumps(good).encode(), m)["rootfs"]["diff_ids"] == [D3]
    for bad, message in [({"rootfs": {"diff_ids": []}}, "1 layers but 0 diff ids"), ({}, "no rootfs"),
                         ({"rootfs": {"diff_ids": ["sha256:zz"]}}, "malformed digest"),
                         ({"os": "windows", "rootfs": {"diff_ids": [D3]}}, "windows")]:
        with pytest.raises(ManifestError, match=message):
            manifests.check_config(json.dumps(bad).encode(), m)


# ---- docker's config.json ------------------------------------------------------------

def auth(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def test_credentials_by_registry_and_docker_hub_key(tmp_path: Path) -> None:
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"auths": {
        "https://index.docker.io/v1/": {"auth": auth("hubuser", "hubpw")},
        "https://localhost:5000/v2/": {"auth": auth("me", "pa:ss")},
        "legacy.example:443": {"username": "old", "password": "style"},
    }}))
    assert regconfig.load_credentials("docker.io", str(cfg)) == regconfig.Credentials("hubuser", "hubpw")
    assert regconfig.load_credentials("localhost:5000", str(cfg)) == regconfig.Credentials("me", "pa:ss")
    assert regconfig.load_credentials("legacy.example:443", str(cfg)) == regconfig.Credentials("old", "style")
    assert regconfig.load_credentials("localhost:5001", str(cfg)) is None
    assert "pa:ss" not in repr(regconfig.load_credentials("localhost:5000", str(cfg)))


def test_missing_file_means_no_credentials(tmp_path: Path) -> None:
    assert regconfig.load_credentials("docker.io", str(tmp_path / "nope.json")) is None


@pytest.mark.parametrize("content, message", [
    ("{", "cannot read"), ("[]", "not a JSON object"), ('{"auths": {"r": {"auth": "!!!"}}}', "not base64"),
    ('{"auths": {"r": {"auth": "' + base64.b64encode(b"nocolon").decode() + '"}}}', "no ':'"),
])
def test_malformed_config_names_the_file(tmp_path: Path, content: str, message: str) -> None:
    cfg = tmp_path / "config.json"
    cfg.write_text(content)
    with pytest.raises(InvalidArgument, match=message) as e:
        regconfig.load_credentials("r", str(cfg))
    assert str(cfg) in str(e.value)


def test_credential_helpers_are_named_not_run(tmp_path: Path) -> None:
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"credsStore": "desktop", "credHelpers": {"gcr.io": "gcloud"}}))
    assert regconfig.helper_for("gcr.io", str(cfg)) == "gcloud"
    assert regconfig.helper_for("localhost:5000", str(cfg)) == "desktop"
    assert regconfig.load_credentials("gcr.io", str(cfg)) is None


def test_store_and_remove_keep_the_rest_of_the_file(tmp_path: Path) -> None:
    cfg = tmp_path / "docker" / "config.json"
    cfg.parent.mkdir()
    cfg.write_text(json.dumps({"auths": {"other:1": {"auth": auth("a", "b")}}, "psFormat": "table {{.ID}}"}))
    regconfig.store_credentials("localhost:5000", regconfig.Credentials("u", "p"), str(cfg))
    regconfig.store_credentials("docker.io", regconfig.Credentials("hub", "pw"), str(cfg))
    data = json.loads(cfg.read_text())
    assert data["psFormat"] == "table {{.ID}}"
    assert data["auths"]["localhost:5000"] == {"auth": auth("u", "p")}
    assert data["auths"]["https://index.docker.io/v1/"] == {"auth": auth("hub", "pw")}
    assert stat.S_IMODE(os.stat(cfg).st_mode) == 0o600
    assert regconfig.remove_credentials("localhost:5000", str(cfg)) is True
    assert regconfig.remove_credentials("localhost:5000", str(cfg)) is False
    assert set(json.loads(cfg.read_text())["auths"]) == {"other:1", "https://index.docker.io/v1/"}
    assert sorted(os.listdir(cfg.parent)) == ["config.json"]  # no lock or temporary file left


def test_config_paths_follow_the_environment() -> None:
    assert regconfig.docker_config_path({"DOCKER_CONFIG": "/x"}) == "/x/config.json"
    assert regconfig.docker_config_path({"HOME": "/home/u"}) == "/home/u/.docker/config.json"
    assert regconfig.tuidock_config_path({"HOME": "/home/u"}) == "/home/u/.config/tuidock/config.toml"
    assert regconfig.tuidock_config_path({"XDG_CONFIG_HOME": "/c", "HOME": "/h"}) == "/c/tuidock/config.toml"


# ---- insecure registries ------------------------------------------------------------------

@pytest.mark.parametrize("domain, insecure", [
    ("localhost:5000", True), ("localhost", True), ("127.0.0.1:5000", True), ("127.9.9.9", True),
    ("[::1]:5000", True), ("registry.example:5000", False), ("10.1.2.3:5000", False), ("docker.io", False),
])
def test_loopback_registries_are_insecure_by_default(domain: str, insecure: bool) -> None:
    assert regconfig.is_insecure(domain, regconfig.Settings()) is insecure


def test_a_name_that_resolves_to_loopback_is_local() -> None:
    assert regconfig.is_insecure("myhost:5000", regconfig.Settings(), ("127.0.1.1",))


def test_config_toml_lists_names_and_cidrs(tmp_path: Path) -> None:
    toml = tmp_path / "config.toml"
    toml.write_text('detach_keys = "ctrl-x"\ninsecure_registries = ["reg.lan:5000", "10.0.0.0/8"]\n')
    s = regconfig.load_settings(str(toml))
    assert regconfig.is_insecure("reg.lan:5000", s)
    assert not regconfig.is_insecure("reg.lan:5001", s)
    assert regconfig.is_insecure("10.1.2.3:443", s)
    assert regconfig.is_insecure("name.lan", s, ("10.9.9.9",))
    assert not regconfig.is_insecure("192.168.1.1:5000", s)


def test_bad_config_toml_is_one_line(tmp_path: Path) -> None:
    toml = tmp_path / "config.toml"
    toml.write_text("insecure_registries = 5\n")
    with pytest.raises(InvalidArgument, match="insecure_registries must be a list"):
        regconfig.load_settings(str(toml))
    toml.write_text("insecure_registries = [\n")
    with pytest.raises(InvalidArgument, match="cannot read"):
        regconfig.load_settings(str(toml))
    assert regconfig.load_settings(str(tmp_path / "missing.toml")) == regconfig.Settings()


@pytest.mark.parametrize("key, want", [
    ("https://index.docker.io/v1/", "docker.io"), ("registry-1.docker.io", "docker.io"),
    ("http://LocalHost:5000/v2/", "localhost:5000"), ("reg.example", "reg.example"),
])
def test_auth_keys_normalise(key: str, want: str) -> None:
    assert regconfig.normalise_key(key) == want


# ---- progress output ------------------------------------------------------------------

LAYER = "sha256:3c4d76e9fbe628f99b35811f7e2da9bace535ce56220893ebd3f1ecff1b7fdbc"
OTHER = "sha256:" + "a" * 64


def test_bar_is_dockers() -> None:
    assert bar(1_200_000, 3_400_000, 200) == "[=================>" + " " * 33 + "]    1.2MB/3.4MB"  # "] " then %8v, as docker
    assert bar(0, 0) == ""
    assert bar(10, 5).endswith("     10B")  # a wonky total is left out


def test_plain_output_has_one_line_per_phase_and_no_byte_counts() -> None:
    out = io.StringIO()
    r = Renderer(out, tty=False)
    r(StatusEvent("latest: Pulling from library/busybox"))
    r(LayerEvent(LAYER, Phase.PULLING, 0, 100))
    for n in (10, 50, 100):
        r(LayerEvent(LAYER, Phase.DOWNLOADING, n, 100))
    r(LayerEvent(LAYER, Phase.PULL_COMPLETE, 100, 100))
    r(LayerEvent(OTHER, Phase.MOUNTED, 1, 1, "library/a"))
    assert out.getvalue().splitlines() == [
        "latest: Pulling from library/busybox", "3c4d76e9fbe6: Pulling fs layer", "3c4d76e9fbe6: Pull complete",
        "aaaaaaaaaaaa: Mounted from library/a"]


def test_terminal_output_redraws_each_layer_in_place() -> None:
    out = io.StringIO()
    r = Renderer(out, tty=True)
    r(StatusEvent("v1: Pulling from a"))
    r(LayerEvent(LAYER, Phase.PULLING, 0, 100))
    r(LayerEvent(OTHER, Phase.PULLING, 0, 100))
    r(LayerEvent(LAYER, Phase.DOWNLOADING, 100, 100))
    r(LayerEvent(OTHER, Phase.PULL_COMPLETE, 100, 100))
    text = out.getvalue()
    assert text.startswith("v1: Pulling from a\n3c4d76e9fbe6: Pulling fs layer\naaaaaaaaaaaa: Pulling fs layer\n")
    # The first layer's line is two lines up from the cursor, the second's one.
    assert "\x1b[2A\x1b[2K\r3c4d76e9fbe6: Downloading [" in text and "100B/100B\x1b[2B\r" in text
    assert "\x1b[1A\x1b[2K\raaaaaaaaaaaa: Pull complete\x1b[1B\r" in text
