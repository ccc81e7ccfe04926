"""pull, push, login and logout against Debian's docker-registry on 127.0.0.1, and interop with skopeo.

Registries run without auth, with htpasswd (bcrypt) basic auth, with bearer
tokens from a small JWT token server, and with TLS; each is started on a free
loopback port with its storage in the test's temporary directory and stopped
by pid. Commands run with their own HOME, so ``~/.docker/config.json`` and
``~/.config/tuidock/config.toml`` are the test's.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime.images import distribution
from runtime.images.busybox import REFERENCE as BUSYBOX
from runtime.images.regconfig import Credentials
from runtime.images.registry import Registry, RegistryError, Timeouts
from runtime.images.store import MEDIA_OCI_CONFIG, MEDIA_OCI_LAYER_GZIP, MEDIA_OCI_MANIFEST, ImageStore
from tests.conftest import TUIDOCK, Env, make_env, teardown_env
from tests.integration.registry_servers import KeyPair, RegistryServer, TokenServer, htpasswd_line

pytestmark = pytest.mark.requires("root", "overlay", "busybox", "registry")

USER, PASSWORD = "alice", "s3cret-pw"


# ---- fixtures ------------------------------------------------------------------------------

@dataclasses.dataclass
class Tuidock:
    """The installed tuidock against one state root, with its own HOME."""

    env: Env
    home: Path

    def __call__(self, *args: str, input: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        e = dataclasses.replace(self.env, env={**self.env.env, "HOME": str(self.home),
                                               "TUIDOCK_CONFIG": str(self.home / "tuidock.toml")})
        e.env.pop("DOCKER_CONFIG", None)
        e.env.pop("XDG_CONFIG_HOME", None)
        return e.cli(*args, input=input, timeout=timeout)

    def setup(self) -> None:
        """The root as the first command leaves it (busybox built)."""
        self.env.engine().setup()

    @property
    def store(self) -> ImageStore:
        return ImageStore(str(self.env.root))

    @property
    def docker_config(self) -> Path:
        return self.home / ".docker" / "config.json"


@pytest.fixture(autouse=True)
def _remove_tmp_path(tmp_path: Path) -> Iterator[None]:
    """Layouts and copies a test made go with it, pass or fail."""
    yield
    shutil.rmtree(tmp_path, ignore_errors=True)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    d = tmp_path_factory.mktemp("registry")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def _tool(d: Path) -> Iterator[Tuidock]:
    env = make_env(d)
    (d / "home").mkdir(parents=True)
    yield Tuidock(env, d / "home")
    left = teardown_env(env)
    shutil.rmtree(d, ignore_errors=True)
    assert left == [], left


@pytest.fixture
def td(tmp_path: Path) -> Iterator[Tuidock]:
    """A fresh tuidock root (busybox built on first use) and HOME, removed after the test."""
    yield from _tool(tmp_path / "td")


@pytest.fixture(scope="module")
def source(base: Path) -> Iterator[Tuidock]:
    """A second root that images are made and pushed from (busybox built)."""
    for t in _tool(base / "source"):
        t.setup()
        yield t


def _server(d: Path, **kw: object) -> Iterator[RegistryServer]:
    d.mkdir()
    reg = RegistryServer(d, **kw)  # type: ignore[arg-type]
    reg.start()
    yield reg
    reg.stop()
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def plain(base: Path) -> Iterator[RegistryServer]:
    yield from _server(base / "plain")


@pytest.fixture(scope="module")
def basic(base: Path) -> Iterator[RegistryServer]:
    yield from _server(base / "basic", htpasswd=htpasswd_line(USER, PASSWORD))


@pytest.fixture(scope="module")
def token_server() -> Iterator[TokenServer]:
    ts = TokenServer(KeyPair.make(), {USER: PASSWORD}, anonymous_pull=True)
    ts.start()
    yield ts
    ts.stop()


@pytest.fixture(scope="module")
def bearer(base: Path, token_server: TokenServer) -> Iterator[RegistryServer]:
    yield from _server(base / "bearer", token=token_server)


@pytest.fixture(scope="module")
def tls_keys() -> KeyPair:
    return KeyPair.make()


@pytest.fixture(scope="module")
def tls(base: Path, tls_keys: KeyPair) -> Iterator[RegistryServer]:
    yield from _server(base / "tls", tls=tls_keys)


# ---- making images ------------------------------------------------------------------------------

def layer(files: dict[str, bytes]) -> tuple[bytes, str]:
    """A gzipped layer and its diff id."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode, ti.mtime = len(data), 0o644, 1_700_000_000
            tf.addfile(ti, io.BytesIO(data))
    raw = buf.getvalue()
    return gzip.compress(raw, mtime=0), "sha256:" + hashlib.sha256(raw).hexdigest()


def craft(store: ImageStore, tag: str, files: dict[str, bytes], cmd: list[str], arch: str = "amd64") -> tuple[str, dict, bytes]:  # type: ignore[type-arg]
    """busybox plus one layer of ``files``, tagged ``tag`` in ``store``; returns (manifest digest, manifest, config)."""
    bb = store.get(BUSYBOX)
    gz, diff_id = layer(files)
    ldigest = store.put_blob(gz)
    cfg = json.loads(json.dumps(bb.raw_config))
    cfg["architecture"] = arch
    cfg["rootfs"]["diff_ids"].append(diff_id)
    cfg["config"]["Cmd"] = cmd
    cfg["history"].append({"created": "2026-11-23T00:00:00Z", "created_by": "test layer"})
    cbytes = json.dumps(cfg).encode()
    cdigest = store.put_blob(cbytes)
    manifest = {"schemaVersion": 2, "mediaType": MEDIA_OCI_MANIFEST,
                "config": {"mediaType": MEDIA_OCI_CONFIG, "digest": cdigest, "size": len(cbytes)},
                "layers": [{"mediaType": MEDIA_OCI_LAYER_GZIP, "digest": bb.layers[0].digest, "size": bb.layers[0].size},
                           {"mediaType": MEDIA_OCI_LAYER_GZIP, "digest": ldigest, "size": len(gz)}]}
    img = store.add(manifest, [tag] if tag else [])
    return img.manifest_digest, manifest, cbytes


def oci_layout(store: ImageStore, d: Path, images: list[tuple[str, str, str]], tag: str) -> None:
    """An OCI layout directory: one manifest, or (several) an index with a platform each. images: (digest, os, arch)."""
    blobs = d / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    for digest, _, _ in images:
        m = json.loads(store.read_blob(digest))
        for desc in [m["config"], *m["layers"]]:
            shutil.copy(store.blob_path(desc["digest"]), blobs / desc["digest"][7:])
        shutil.copy(store.blob_path(digest), blobs / digest[7:])
    (d / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    entries = [{"mediaType": MEDIA_OCI_MANIFEST, "digest": dg, "size": os.path.getsize(store.blob_path(dg)),
                "platform": {"os": o, "architecture": a}} for dg, o, a in images]
    if len(images) == 1:
        top = dict(entries[0])
        del top["platform"]
    else:
        index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                            "manifests": entries}).encode()
        idigest = "sha256:" + hashlib.sha256(index).hexdigest()
        (blobs / idigest[7:]).write_bytes(index)
        top = {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": idigest, "size": len(index)}
    top["annotations"] = {"org.opencontainers.image.ref.name": tag}
    (d / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [top]}))


def skopeo(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    r = subprocess.run(["skopeo", *args], capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"skopeo {' '.join(args)}: {r.stderr}"
    return r


def snapshot(root: Path) -> dict[str, str]:
    """Every file of the image store with a hash of its content (lock files aside: they hold no state).

    The staging area ``tmp/`` is not the store, but it must be empty.
    """
    assert not list((root / "tmp").glob("*")) if (root / "tmp").exists() else True
    out = {}
    for top in ("images", "layers"):
        for dirpath, dirnames, filenames in os.walk(root / top):
            for name in dirnames + filenames:
                p = Path(dirpath) / name
                rel = str(p.relative_to(root))
                if name.endswith(".lock") or name == "lock":
                    continue
                if p.is_symlink():
                    out[rel] = "-> " + os.readlink(p)
                elif p.is_dir():
                    out[rel] = "dir"
                elif p.is_file():
                    out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
                else:
                    out[rel] = f"special {os.lstat(p).st_mode:o}"
    return out


def one_line_error(r: subprocess.CompletedProcess[str]) -> str:
    assert r.returncode == 125, (r.returncode, r.stdout, r.stderr)
    lines = [line for line in r.stderr.splitlines() if "built busybox" not in line]
    assert len(lines) == 1 and lines[0].startswith("tuidock: "), r.stderr
    assert "Traceback" not in r.stderr
    return lines[0]


# ---- tuidock to the registry and back; skopeo reads what tuidock pushed ---------------------------------

def test_push_busybox_then_skopeo_reads_it_with_the_same_digests(source: Tuidock, plain: RegistryServer,
                                                              tmp_path: Path) -> None:
    store = source.store
    bb = store.get(BUSYBOX)
    ref = f"{plain.host}/interop/busybox:v1"
    store.tag(bb, ref)
    r = source("push", ref)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == f"The push refers to repository [{ref.rsplit(':', 1)[0]}]"
    short = bb.layers[0].digest[7:19]
    assert f"{short}: Preparing" in lines and f"{short}: Pushed" in lines
    assert lines[-1] == f"v1: digest: {bb.manifest_digest} size: {os.path.getsize(store.blob_path(bb.manifest_digest))}"

    info = json.loads(skopeo("inspect", "--tls-verify=false", f"docker://{ref}").stdout)
    assert info["Digest"] == bb.manifest_digest
    assert info["Layers"] == [bb.layers[0].digest]
    oci = tmp_path / "oci"
    skopeo("copy", "-q", "--src-tls-verify=false", f"docker://{ref}", f"oci:{oci}:got")
    index = json.loads((oci / "index.json").read_text())
    assert index["manifests"][0]["digest"] == bb.manifest_digest
    config = json.loads((oci / "blobs/sha256" / bb.id[7:]).read_bytes())
    assert config["rootfs"]["diff_ids"] == list(bb.diff_ids)

    again = source("push", ref)
    assert again.returncode == 0 and f"{short}: Layer already exists" in again.stdout.splitlines()


def test_pull_prints_dockers_lines_and_a_second_pull_is_up_to_date(source: Tuidock, plain: RegistryServer,
                                                                   td: Tuidock) -> None:
    digest, _, _ = craft(source.store, f"{plain.host}/lines/hello:v1", {"hello.txt": b"hello from the registry\n"},
                         ["cat", "/hello.txt"])
    ref = f"{plain.host}/lines/hello:v1"
    assert source("push", ref).returncode == 0
    r = td("pull", ref)
    assert r.returncode == 0, r.stderr
    m = json.loads(source.store.read_blob(digest))
    bb_id, new_id = m["layers"][0]["digest"][7:19], m["layers"][1]["digest"][7:19]
    assert r.stdout.splitlines() == [
        "v1: Pulling from lines/hello",
        f"{bb_id}: Already exists",  # the fresh root built the same busybox layer
        f"{new_id}: Pulling fs layer",
        f"{new_id}: Verifying Checksum",
        f"{new_id}: Download complete",
        f"{new_id}: Extracting",
        f"{new_id}: Pull complete",
        f"Digest: {digest}",
        f"Status: Downloaded newer image for {ref}",
        ref,
    ]
    run = td("run", "--rm", ref)
    assert (run.returncode, run.stdout) == (0, "hello from the registry\n"), run.stderr
    again = td("image", "pull", ref)
    assert again.returncode == 0
    assert again.stdout.splitlines()[-2:] == [f"Status: Image is up to date for {ref}", ref]
    quiet = td("pull", "-q", ref)
    assert quiet.stdout == ref + "\n"


# ---- skopeo pushes, tuidock pulls and runs ----------------------------------------------------

def test_skopeo_pushes_an_oci_image_tuidock_pulls_and_runs_it(source: Tuidock, plain: RegistryServer, td: Tuidock,
                                                             tmp_path: Path) -> None:
    digest, _, _ = craft(source.store, "", {"etc/motd": b"made by the test, carried by skopeo\n"}, ["cat", "/etc/motd"])
    oci_layout(source.store, tmp_path / "layout", [(digest, "linux", "amd64")], "v1")
    ref = f"{plain.host}/skopeo/motd:v1"
    skopeo("copy", "-q", "--dest-tls-verify=false", f"oci:{tmp_path / 'layout'}:v1", f"docker://{ref}")
    pushed = json.loads(skopeo("inspect", "--tls-verify=false", f"docker://{ref}").stdout)["Digest"]
    r = td("pull", ref)
    assert r.returncode == 0, r.stderr
    assert f"Digest: {pushed}" in r.stdout.splitlines()
    run = td("run", "--rm", ref)
    assert (run.returncode, run.stdout) == (0, "made by the test, carried by skopeo\n"), run.stderr
    assert td.store.get(ref).manifest_digest == pushed


def test_docker_schema2_from_skopeo(source: Tuidock, plain: RegistryServer, td: Tuidock, tmp_path: Path) -> None:
    digest, _, _ = craft(source.store, "", {"v2s2": b"docker media types\n"}, ["cat", "/v2s2"])
    oci_layout(source.store, tmp_path / "layout", [(digest, "linux", "amd64")], "v1")
    ref = f"{plain.host}/skopeo/v2s2:v1"
    skopeo("copy", "-q", "--format", "v2s2", "--dest-tls-verify=false", f"oci:{tmp_path / 'layout'}:v1", f"docker://{ref}")
    raw = json.loads(skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{ref}").stdout)
    assert raw["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    assert raw["layers"][1]["mediaType"] == "application/vnd.docker.image.rootfs.diff.tar.gzip"
    r = td("pull", ref)
    assert r.returncode == 0, r.stderr
    run = td("run", "--rm", ref)
    assert (run.returncode, run.stdout) == (0, "docker media types\n"), run.stderr
    # The stored manifest is the registry's, byte for byte: pushing it back gives the same digest.
    img = td.store.get(ref)
    pushed = json.loads(skopeo("inspect", "--tls-verify=false", f"docker://{ref}").stdout)["Digest"]
    assert img.manifest_digest == pushed
    back = f"{plain.host}/skopeo/v2s2-back:v1"
    td.store.tag(img, back)
    p = td("push", back)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[-1].startswith(f"v1: digest: {pushed} ")


def test_an_index_gives_this_machines_image_or_the_platform_asked_for(source: Tuidock, plain: RegistryServer,
                                                                      td: Tuidock, tmp_path: Path) -> None:
    amd, _, _ = craft(source.store, "", {"arch": b"amd64\n"}, ["cat", "/arch"])
    arm, _, _ = craft(source.store, "", {"arch": b"arm64\n"}, ["cat", "/arch"], arch="arm64")
    oci_layout(source.store, tmp_path / "layout", [(arm, "linux", "arm64"), (amd, "linux", "amd64")], "v1")
    ref = f"{plain.host}/skopeo/multi:v1"
    skopeo("copy", "-q", "--all", "--dest-tls-verify=false", f"oci:{tmp_path / 'layout'}:v1", f"docker://{ref}")
    raw = json.loads(skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{ref}").stdout)
    assert raw["mediaType"] == "application/vnd.oci.image.index.v1+json"
    index_digest = json.loads(skopeo("inspect", "--tls-verify=false", f"docker://{ref}").stdout)["Digest"]
    r = td("pull", ref)
    assert r.returncode == 0, r.stderr
    assert f"Digest: {index_digest}" in r.stdout.splitlines()  # docker prints what the tag names: the index
    if os.uname().machine == "x86_64":
        assert td.store.get(ref).manifest_digest == amd
        run = td("run", "--rm", ref)
        assert (run.returncode, run.stdout) == (0, "amd64\n"), run.stderr
    other = f"{plain.host}/skopeo/multi@{index_digest}"
    r = td("pull", "--platform", "linux/arm64", other)
    assert r.returncode == 0, r.stderr
    got = td.store.get(other)
    assert (got.manifest_digest, got.architecture) == (arm, "arm64")
    bad = td("pull", "--platform", "linux/s390x", ref)
    assert "no manifest for linux/s390x in the manifest list (it has: linux/arm64, linux/amd64)" in one_line_error(bad)


# ---- verification: nothing unverified reaches the store -------------------------------------------

@pytest.mark.parametrize("damage", ["layer-bytes", "layer-truncated", "config-bytes", "manifest-bytes"])
def test_tampered_registry_content_fails_and_leaves_the_store_as_it_was(source: Tuidock, plain: RegistryServer,
                                                                        td: Tuidock, damage: str) -> None:
    ref = f"{plain.host}/tamper/{damage}:v1"
    digest, manifest, _ = craft(source.store, ref, {"data": os.urandom(200_000)}, ["true"])
    assert source("push", ref).returncode == 0
    target = {"layer-bytes": manifest["layers"][1]["digest"], "layer-truncated": manifest["layers"][1]["digest"],
              "config-bytes": manifest["config"]["digest"], "manifest-bytes": digest}[damage]
    f = plain.blob_file(target)
    data = bytearray(f.read_bytes())
    if damage == "layer-truncated":
        del data[len(data) // 2:]
    else:
        data[len(data) // 2] ^= 0x20  # same size, one bit
    f.write_bytes(bytes(data))

    td.setup()
    before = snapshot(td.env.root)
    r = td("pull", ref)
    err = one_line_error(r)
    expect = {"layer-bytes": "content has digest", "layer-truncated": "registry sends 100",
              "config-bytes": "content has digest", "manifest-bytes": "but the content has digest"}[damage]
    if damage == "layer-truncated":
        expect = f"registry sends {len(data)} bytes, the manifest says {manifest['layers'][1]['size']}"
    assert expect in err, err
    assert snapshot(td.env.root) == before
    assert td.store.find(ref) is None


def test_a_diff_id_that_does_not_match_rolls_the_pull_back(source: Tuidock, plain: RegistryServer, td: Tuidock) -> None:
    """The blobs verify, but the config lies about the uncompressed layer: extraction fails after blobs moved in."""
    store = source.store
    ref = f"{plain.host}/tamper/diffid:v1"
    _, manifest, cbytes = craft(store, "", {"x": os.urandom(1000)}, ["true"])
    cfg = json.loads(cbytes)
    cfg["rootfs"]["diff_ids"][1] = "sha256:" + "0" * 64
    cb = json.dumps(cfg).encode()
    manifest["config"] = {"mediaType": MEDIA_OCI_CONFIG, "digest": store.put_blob(cb), "size": len(cb)}
    # The store itself would refuse to add it (it extracts the layers): push the blobs by hand.
    reg = Registry(plain.host)
    for desc in manifest["layers"] + [manifest["config"]]:
        if reg.blob_size("tamper/diffid", desc["digest"]) is None:
            with open(store.blob_path(desc["digest"]), "rb") as f:
                reg.upload_blob("tamper/diffid", desc["digest"], desc["size"], f)
    reg.put_manifest("tamper/diffid", "v1", json.dumps(manifest).encode(), MEDIA_OCI_MANIFEST)

    td.setup()
    before = snapshot(td.env.root)
    err = one_line_error(td("pull", ref))
    assert "does not match diff id" in err
    assert snapshot(td.env.root) == before


# ---- pushing -------------------------------------------------------------------------------------

def test_a_second_repository_gets_the_layers_by_cross_repository_mount(source: Tuidock, plain: RegistryServer) -> None:
    a = f"{plain.host}/mount/a:v1"
    b = f"{plain.host}/mount/b:v1"
    digest, manifest, _ = craft(source.store, a, {"m": os.urandom(5000)}, ["true"])
    assert source("push", a).returncode == 0
    source.store.tag(source.store.get(a), b)
    r = source("push", b)
    assert r.returncode == 0, r.stderr
    new = manifest["layers"][1]["digest"][7:19]
    assert f"{new}: Mounted from mount/a" in r.stdout.splitlines()
    info = json.loads(skopeo("inspect", "--tls-verify=false", f"docker://{b}").stdout)
    assert info["Digest"] == digest


def test_chunked_upload_then_skopeo_and_tuidock_read_it(source: Tuidock, plain: RegistryServer, td: Tuidock) -> None:
    ref = f"{plain.host}/chunked/big:v1"
    digest, manifest, _ = craft(source.store, ref, {"big": os.urandom(700_000)}, ["sh", "-c", "wc -c < /big"])
    events: list[distribution.ProgressEvent] = []
    distribution.push(source.store, ref, chunk_size=128 << 10, progress=events.append)
    new = manifest["layers"][1]["digest"]
    pushing = [e.current for e in events if isinstance(e, distribution.LayerEvent)
               and e.digest == new and e.phase is distribution.Phase.PUSHING]
    assert pushing and pushing[-1] == manifest["layers"][1]["size"] and pushing == sorted(pushing)
    assert json.loads(skopeo("inspect", "--tls-verify=false", f"docker://{ref}").stdout)["Digest"] == digest
    assert td("pull", ref).returncode == 0
    run = td("run", "--rm", ref)
    assert (run.returncode, run.stdout.strip()) == (0, "700000"), run.stderr


def test_push_needs_a_local_tag_and_a_tag_not_a_digest(source: Tuidock, plain: RegistryServer) -> None:
    assert "an image does not exist locally with this tag" in one_line_error(source("push", f"{plain.host}/none/x:v1"))
    assert "cannot push by digest" in one_line_error(source("push", f"{plain.host}/none/x@sha256:{'a' * 64}"))


# ---- basic auth (htpasswd, bcrypt) ---------------------------------------------------------------

def test_basic_auth_login_push_pull_logout(source: Tuidock, basic: RegistryServer, td: Tuidock) -> None:
    ref = f"{basic.host}/private/hello:v1"
    digest, _, _ = craft(source.store, ref, {"secret": b"behind basic auth\n"}, ["cat", "/secret"])
    assert "unauthorized: authentication required (tuidock login" in one_line_error(source("push", ref))

    wrong = source("login", "-u", USER, "--password-stdin", basic.host, input="nope\n")
    assert "incorrect username or password" in one_line_error(wrong)
    assert not source.docker_config.exists()

    ok = source("login", "-u", USER, "--password-stdin", basic.host, input=PASSWORD + "\n")
    assert (ok.returncode, ok.stdout) == (0, "Login Succeeded\n"), ok.stderr
    saved = json.loads(source.docker_config.read_text())
    import base64
    assert base64.b64decode(saved["auths"][basic.host]["auth"]).decode() == f"{USER}:{PASSWORD}"
    assert oct(source.docker_config.stat().st_mode & 0o777) == "0o600"

    assert source("push", ref).returncode == 0
    info = json.loads(skopeo("inspect", "--tls-verify=false", "--creds", f"{USER}:{PASSWORD}", f"docker://{ref}").stdout)
    assert info["Digest"] == digest

    # Another HOME: docker's config.json written by hand, as `docker login` would.
    assert "authentication required" in one_line_error(td("pull", ref))
    td.docker_config.parent.mkdir()
    td.docker_config.write_text(json.dumps({"auths": {f"http://{basic.host}/v2/": {
        "auth": base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()}}}))
    assert td("pull", ref).returncode == 0
    run = td("run", "--rm", ref)
    assert run.stdout == "behind basic auth\n", run.stderr

    out = source("logout", basic.host)
    assert out.stdout == f"Removing login credentials for {basic.host}\n"
    assert basic.host not in json.loads(source.docker_config.read_text())["auths"]
    assert source("logout", basic.host).stdout == f"Not logged in to {basic.host}\n"
    assert "authentication required" in one_line_error(source("push", ref))


def test_login_flags_as_docker_checks_them(source: Tuidock, basic: RegistryServer) -> None:
    assert "must provide --username with --password-stdin" in one_line_error(
        source("login", "--password-stdin", basic.host, input="x"))
    assert "mutually exclusive" in one_line_error(source("login", "-u", "a", "-p", "b", "--password-stdin", basic.host))
    assert "non TTY" in one_line_error(source("login", basic.host, input=""))
    r = source("login", "-u", USER, "-p", PASSWORD, basic.host)
    assert r.returncode == 0 and "WARNING! Using --password via the CLI is insecure" in r.stderr
    assert source("logout", basic.host).returncode == 0


# ---- bearer tokens (docker-registry's auth: token, with the test's JWT token server) ----------------------

def test_bearer_tokens_anonymous_pull_and_authenticated_push(source: Tuidock, bearer: RegistryServer,
                                                             token_server: TokenServer, td: Tuidock) -> None:
    ref = f"{bearer.host}/tokens/hello:v1"
    digest, _, _ = craft(source.store, ref, {"t": b"pushed with a bearer token\n"}, ["cat", "/t"])
    token_server.requests.clear()
    assert "authentication required" in one_line_error(source("push", ref))
    assert all(r["auth"] == "" for r in token_server.requests)
    assert "incorrect username or password" in one_line_error(
        source("login", "-u", USER, "--password-stdin", bearer.host, input="wrong"))

    assert source("login", "-u", USER, "--password-stdin", bearer.host, input=PASSWORD).returncode == 0
    token_server.requests.clear()
    r = source("push", ref)
    assert r.returncode == 0, r.stderr
    asked = token_server.requests
    assert asked and all(q["auth"] == "Basic" and q["query"]["account"] == [USER] and
                         q["query"]["service"] == [token_server.service] for q in asked)
    assert ["repository:tokens/hello:pull,push"] in [q["query"].get("scope") for q in asked]
    assert len(asked) <= 2  # a token per scope, cached, not one per request

    token_server.requests.clear()
    p = td("pull", ref)  # no login in this HOME: an anonymous token that may pull
    assert p.returncode == 0, p.stderr
    assert f"Digest: {digest}" in p.stdout
    assert [q["query"]["scope"] for q in token_server.requests] == [["repository:tokens/hello:pull"]]
    assert token_server.requests[0]["auth"] == ""
    assert td("run", "--rm", ref).stdout == "pushed with a bearer token\n"
    assert source("logout", bearer.host).returncode == 0


# ---- TLS and insecure registries ---------------------------------------------------------------

def test_tls_registry_on_loopback_is_insecure_allowed_unless_tls_verify(source: Tuidock, tls: RegistryServer,
                                                                        tls_keys: KeyPair, tmp_path: Path) -> None:
    ref = f"{tls.host}/tls/hello:v1"
    craft(source.store, ref, {"x": b"over https\n"}, ["cat", "/x"])
    # 127.0.0.1 is insecure-allowed, as in docker: HTTPS without verification of the self-signed certificate.
    assert source("push", ref).returncode == 0
    err = one_line_error(source("push", "--tls-verify=true", ref))
    assert "TLS certificate not trusted" in err and "self-signed" in err, err
    # Trusting the registry's CA the way docker does (certs.d/HOST:PORT/ca.crt) makes verification pass.
    certs = tmp_path / "certs.d"
    (certs / tls.host).mkdir(parents=True)
    (certs / tls.host / "ca.crt").write_bytes(tls_keys.cert_pem)
    reg = Registry(tls.host, tls_verify=True, certs_dirs=(str(certs),))
    assert reg.get_manifest("tls/hello", "v1").digest == source.store.get(ref).manifest_digest
    assert reg.base == f"https://{tls.host}" and reg.verify


def test_plain_http_only_for_insecure_registries(source: Tuidock, plain: RegistryServer) -> None:
    ref = f"{plain.host}/interop/busybox:v1"
    err = one_line_error(source("pull", "--tls-verify=true", ref))
    assert "cannot reach the registry: TLS handshake failed" in err, err
    reg = Registry(plain.host)
    reg.ping()
    assert reg.base == f"http://{plain.host}"  # loopback: HTTPS tried first, then plain HTTP


def test_docker_hub_unreachable_fails_quickly_in_one_line(td: Tuidock) -> None:
    """Run in a network namespace of its own (no traffic leaves the machine): Docker Hub cannot be reached."""
    td.setup()
    before = snapshot(td.env.root)
    start = time.monotonic()
    r = subprocess.run(["unshare", "--net", TUIDOCK, "pull", "alpine"], env={**td.env.env, "HOME": str(td.home)},
                       capture_output=True, text=True, timeout=60)
    took = time.monotonic() - start
    err = one_line_error(r)
    assert err.startswith("tuidock: registry docker.io: cannot reach the registry"), err
    assert took < 15
    assert r.stdout.splitlines() == ["Using default tag: latest", "latest: Pulling from library/alpine"]
    assert snapshot(td.env.root) == before


def test_a_registry_that_never_answers_times_out(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)  # accepts (in the kernel) and never answers
        host = f"127.0.0.1:{s.getsockname()[1]}"
        start = time.monotonic()
        with pytest.raises(RegistryError, match="timed out"):
            Registry(host, timeouts=Timeouts(connect=1, read=1, request=2)).ping()
        assert time.monotonic() - start < 6


def test_nothing_listening_is_a_clean_error(td: Tuidock) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    err = one_line_error(td("pull", f"127.0.0.1:{port}/x:v1"))
    assert "cannot reach the registry" in err and "connection refused" in err, err


def test_credentials_given_to_the_api(basic: RegistryServer, source: Tuidock) -> None:
    reg = Registry(basic.host, credentials=Credentials(USER, PASSWORD))
    reg.ping()
    reg.check_login()
    bad = Registry(basic.host, credentials=Credentials(USER, "x"))
    with pytest.raises(RegistryError, match="incorrect username or password"):
        bad.check_login()


def test_engine_pull_cancelled_midway_leaves_the_store_as_it_was(source: Tuidock, plain: RegistryServer,
                                                                  td: Tuidock) -> None:
    """The TUI's call: Engine.pull(..., progress=, cancel=); here the cancel comes while the layer downloads."""
    ref = f"{plain.host}/cancel/hello:v1"
    craft(source.store, ref, {"big": os.urandom(300_000)}, ["true"])
    assert source("push", ref).returncode == 0
    td.setup()
    before = snapshot(td.env.root)
    cancel = distribution.Cancel()
    phases: list[distribution.Phase] = []

    def progress(e: distribution.ProgressEvent) -> None:
        if isinstance(e, distribution.LayerEvent):
            phases.append(e.phase)
            if e.phase is distribution.Phase.DOWNLOADING:
                cancel.set()

    with pytest.raises(distribution.Cancelled, match=f"image {ref}: pull cancelled"):
        td.env.engine().pull(ref, progress=progress, cancel=cancel)
    assert distribution.Phase.DOWNLOADING in phases and distribution.Phase.EXTRACTING not in phases
    assert snapshot(td.env.root) == before
    assert td.store.find(ref) is None
    ok = td.env.engine().pull(ref)  # nothing half-done is in the way
    assert td.store.get(ref).id == ok.image.id and not ok.up_to_date


@pytest.mark.parametrize("verb", ["pull", "push"])
def test_bad_references_are_one_clear_line(td: Tuidock, verb: str) -> None:
    assert one_line_error(td(verb, "Busybox")) == (
        "tuidock: invalid reference format: repository name (library/Busybox) must be lowercase")
    assert one_line_error(td(verb, "busybox:bad:tag")).startswith("tuidock: invalid reference format: ")
    assert "a sha256 digest has 64 lowercase hex digits" in one_line_error(td(verb, "busybox@sha256:abc"))
    assert "bad registry 'exa_mple.com'" in one_line_error(td(verb, "exa_mple.com/x"))
