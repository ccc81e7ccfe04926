"""Images in files: save and load (docker-archive, OCI layout), import, and the round trip through podman."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import secrets
import subprocess
import tarfile

import pytest

from .imagehelp import import_image, own_images, rootfs_tar  # noqa: F401

pytestmark = [pytest.mark.requires("root", "overlay", "busybox"), pytest.mark.usefixtures("own_images")]


def built(env, tmp_path, ref: str, body: str = 'RUN echo "made by tuidock" > /made\nCMD ["cat", "/made"]') -> str:
    (tmp_path / "Dockerfile").write_text(f"FROM busybox\n{body}\n")
    r = env.cli("build", "-q", "-t", ref, str(tmp_path))
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def members(path) -> dict[str, bytes]:
    with tarfile.open(path) as tf:
        return {m.name: tf.extractfile(m).read() for m in tf if m.isfile()}  # type: ignore[union-attr]


def test_save_writes_a_docker_archive(env, tmp_path):
    iid = built(env, tmp_path, "xfer/app:1")
    out = tmp_path / "app.tar"
    r = env.cli("save", "-o", str(out), "xfer/app:1")
    assert r.returncode == 0, r.stderr
    files = members(out)
    manifest = json.loads(files["manifest.json"])
    assert len(manifest) == 1 and manifest[0]["RepoTags"] == ["xfer/app:1"]
    config = files[manifest[0]["Config"]]
    # The config byte for byte: its digest is the image id, on the other side too.
    assert "sha256:" + hashlib.sha256(config).hexdigest() == iid
    diff_ids = json.loads(config)["rootfs"]["diff_ids"]
    layers = [files[p] for p in manifest[0]["Layers"]]
    assert ["sha256:" + hashlib.sha256(x).hexdigest() for x in layers] == diff_ids  # uncompressed tars
    assert json.loads(files["repositories"]) == {"xfer/app": {"1": diff_ids[-1][7:]}}


def test_save_rmi_load_round_trip(env, tmp_path):
    iid = built(env, tmp_path, "xfer/trip:1")
    out = tmp_path / "trip.tar"
    assert env.cli("save", "--output", str(out), "xfer/trip:1").returncode == 0
    assert env.cli("rmi", "xfer/trip:1").returncode == 0
    r = env.cli("load", "-i", str(out))
    assert r.returncode == 0, r.stderr
    assert r.stdout == "Loaded image: xfer/trip:1\n"
    assert env.engine().images.get("xfer/trip:1").id == iid
    assert env.cli("run", "--rm", "xfer/trip:1").stdout == "made by tuidock\n"


def test_save_to_stdout_and_load_from_stdin(env, tmp_path):
    iid = import_image(env, "xfer/pipe:1")
    save = subprocess.run([*env_cmd(env), "save", "xfer/pipe:1"], env=env.env, capture_output=True, check=True)
    env.cli("rmi", "xfer/pipe:1")
    r = subprocess.run([*env_cmd(env), "load"], env=env.env, input=save.stdout, capture_output=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"Loaded image: xfer/pipe:1\n"
    assert env.engine().images.get("xfer/pipe:1").id == iid
    # Compressed archives load too, as docker's do.
    env.cli("rmi", "xfer/pipe:1")
    r = subprocess.run([*env_cmd(env), "load", "-q"], env=env.env, input=gzip.compress(save.stdout), capture_output=True)
    assert r.returncode == 0 and r.stdout == b""


def env_cmd(env) -> list[str]:
    from tests.conftest import TUIDOCK

    return [TUIDOCK]


def test_save_by_id_and_load_untagged(env, tmp_path):
    iid = import_image(env, "xfer/byid:1")
    out = tmp_path / "byid.tar"
    assert env.cli("save", "-o", str(out), iid[7:19]).returncode == 0
    assert json.loads(members(out)["manifest.json"])[0]["RepoTags"] is None
    env.cli("rmi", "xfer/byid:1")
    r = env.cli("load", "-i", str(out))
    assert r.stdout == f"Loaded image ID: {iid}\n"


def test_load_moving_a_tag_reports_the_old_image(env, tmp_path):
    old = import_image(env, "xfer/moved:1", {"v": b"1"})
    new = import_image(env, "xfer/other:1", {"v": b"2"})
    env.cli("tag", "xfer/other:1", "xfer/moved:1")
    out = tmp_path / "moved.tar"
    env.cli("save", "-o", str(out), "xfer/moved:1")
    env.cli("tag", old, "xfer/moved:1")
    r = env.cli("load", "-i", str(out))
    assert r.stdout.splitlines() == [
        f"The image xfer/moved:1 already exists, renaming the old one with ID {old} to empty string",
        "Loaded image: xfer/moved:1"]
    assert env.engine().images.get("xfer/moved:1").id == new


def test_save_and_load_errors(env, tmp_path):
    r = env.cli("save", "-o", str(tmp_path / "x.tar"), "no/such:image")
    assert r.returncode == 125 and "no/such:image" in r.stderr
    assert not (tmp_path / "x.tar").exists()
    r = env.cli("load", "-i", str(tmp_path / "missing.tar"))
    assert r.returncode == 125 and "no such file" in r.stderr
    (tmp_path / "junk.tar").write_bytes(b"not a tar at all" * 100)
    r = env.cli("load", "-i", str(tmp_path / "junk.tar"))
    assert r.returncode == 125 and "not a valid tar archive" in r.stderr


def test_import_a_root_file_system(env, tmp_path):
    data = rootfs_tar({"etc/motd": b"imported\n"}, dirs=("etc",))
    (tmp_path / "rootfs.tar.gz").write_bytes(gzip.compress(data))
    r = env.cli("import", "-m", "from a tarball", "-c", 'CMD ["/bin/true"]', "-c", "ENV A=1",
                str(tmp_path / "rootfs.tar.gz"), "xfer/imported:1")
    assert r.returncode == 0, r.stderr
    iid = r.stdout.strip()
    img = env.engine().images.get("xfer/imported:1")
    assert img.id == iid and len(img.layers) == 1
    # The layer is the tarball as given (decompressed): its digest is the diff id.
    assert img.diff_ids[0] == "sha256:" + hashlib.sha256(data).hexdigest()
    cfg = img.raw_config["config"]
    assert cfg["Cmd"] == ["/bin/true"] and cfg["Env"] == ["A=1"]
    assert img.history[0].comment == "from a tarball"
    r = env.cli("import", "-", input=data.decode("latin-1"))
    assert r.returncode == 0
    assert env.engine().images.get(r.stdout.strip()).history[0].comment == "Imported from -"
    assert env.cli("import", "http://example.com/x.tar").returncode == 125


def test_import_of_a_saved_layer_runs(env, tmp_path):
    # busybox's own layer, exported and imported again as a new image.
    out = tmp_path / "bb.tar"
    assert env.cli("save", "-o", str(out), "busybox").returncode == 0
    files = members(out)
    layer = files[json.loads(files["manifest.json"])[0]["Layers"][0]]
    (tmp_path / "layer.tar").write_bytes(layer)
    r = env.cli("import", "-c", 'CMD ["echo", "imported ok"]', str(tmp_path / "layer.tar"), "xfer/bbcopy:1")
    assert r.returncode == 0, r.stderr
    assert env.cli("run", "--rm", "xfer/bbcopy:1").stdout == "imported ok\n"


# ---- podman ------------------------------------------------------------------------------------


def podman(*args: str, input: bytes | None = None, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def podman_name():
    """A repository name of this test's own in podman's store, removed afterwards (by name only)."""
    name = f"localhost/tuidock-test-{secrets.token_hex(4)}/img"
    made: list[str] = []
    yield name, made
    for ref in made:
        subprocess.run(["podman", "rmi", "-f", ref], capture_output=True, timeout=120)


@pytest.mark.requires("podman")
def test_an_image_saved_by_tuidock_runs_in_podman(env, tmp_path, podman_name):
    name, made = podman_name
    ref = f"{name}:1"
    iid = built(env, tmp_path, ref, 'RUN echo "built by tuidock" > /made && rm /bin/vi\nCMD ["cat", "/made"]')
    out = tmp_path / "for-podman.tar"
    assert env.cli("save", "-o", str(out), ref).returncode == 0
    made.append(ref)
    r = podman("load", "-i", str(out))
    assert r.returncode == 0, r.stderr
    assert f"Loaded image: {ref}" in r.stdout
    assert podman("image", "inspect", "--format", "{{.Id}}", ref).stdout.strip() == iid[7:]
    r = podman("run", "--rm", "--network", "none", ref, "echo", "ok")
    assert (r.returncode, r.stdout) == (0, "ok\n"), r.stderr
    r = podman("run", "--rm", "--network", "none", ref)
    assert r.stdout == "built by tuidock\n", r.stderr
    # The deletion in the RUN layer is a whiteout podman honours.
    r = podman("run", "--rm", "--network", "none", ref, "ls", "/bin/vi")
    assert r.returncode != 0


@pytest.mark.requires("podman")
def test_an_image_saved_by_podman_runs_in_tuidock(env, tmp_path, podman_name):
    name, made = podman_name
    ref = f"{name}:2"
    out = tmp_path / "bb.tar"
    assert env.cli("save", "-o", str(out), "busybox").returncode == 0
    files = members(out)
    (tmp_path / "layer.tar").write_bytes(files[json.loads(files["manifest.json"])[0]["Layers"][0]])
    r = podman("import", "--change", 'CMD ["echo", "made by podman"]', str(tmp_path / "layer.tar"), ref)
    assert r.returncode == 0, r.stderr
    made.append(ref)
    podman_id = podman("image", "inspect", "--format", "{{.Id}}", ref).stdout.strip()
    for fmt in ("docker-archive", "oci-archive"):
        archive = tmp_path / f"from-podman-{fmt}.tar"
        r = podman("save", "--format", fmt, "-o", str(archive), ref)
        assert r.returncode == 0, r.stderr
        r = env.cli("load", "-i", str(archive))
        assert r.returncode == 0, r.stderr
        assert r.stdout == f"Loaded image: {ref}\n"
        img = env.engine().images.get(ref)
        assert img.id == "sha256:" + podman_id
        r = env.cli("run", "--rm", ref)
        assert (r.returncode, r.stdout) == (0, "made by podman\n"), r.stderr
        assert env.cli("rmi", ref).returncode == 0
