"""Hostile image archives: every one fails its ``load`` or ``import``, writes nothing outside the store,
and leaves the store exactly as it was (a listing of images/, layers/ and tmp/ before and after).

Each archive is made by hand here, entry by entry, the way an attacker would.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import stat
import tarfile
from pathlib import Path

import pytest

from runtime.errors import InvalidArgument
from runtime.images.layers import Limits

pytestmark = pytest.mark.requires("root", "overlay", "busybox")

LOCKS = {"lock", "ingest.lock"}


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def entry(name: str, kind: bytes = tarfile.REGTYPE, data: bytes = b"", link: str = "", mode: int = 0o644,
          pax: dict[str, str] | None = None) -> tuple[tarfile.TarInfo, bytes]:
    ti = tarfile.TarInfo(name)
    ti.type, ti.mode, ti.size, ti.linkname = kind, mode, len(data) if kind == tarfile.REGTYPE else 0, link
    if pax:
        ti.pax_headers = pax
    return ti, data


def tar(*entries: tuple[tarfile.TarInfo, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for ti, data in entries:
            tf.addfile(ti, io.BytesIO(data) if ti.type == tarfile.REGTYPE else None)
    return buf.getvalue()


def docker_archive(layers: list[bytes], *, diff_ids: list[str] | None = None, config: bytes | None = None,
                   config_name: str | None = None, manifest: bytes | None = None, tag: str = "hostile:1",
                   drop: tuple[str, ...] = ()) -> bytes:
    cfg = config if config is not None else json.dumps({
        "architecture": "amd64", "os": "linux", "config": {"Cmd": ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids if diff_ids is not None else [sha(x) for x in layers]},
        "history": [{"created_by": "hand-made"} for _ in layers],
    }).encode()
    cname = config_name or sha(cfg)[7:] + ".json"
    lnames = [f"l{i}/layer.tar" for i in range(len(layers))]
    man = manifest if manifest is not None else json.dumps(
        [{"Config": cname, "RepoTags": [tag], "Layers": lnames}]).encode()
    members = [(cname, cfg)] + list(zip(lnames, layers)) + [("manifest.json", man)]
    return tar(*(entry(n, data=d) for n, d in members if n not in drop))


def listing(root: Path) -> list[tuple[str, int]]:
    """Every path under the store (images/, layers/, tmp/ contents), with file sizes; lock files aside."""
    out = []
    for sub in ("images", "layers", "tmp"):
        base = root / sub
        for dirpath, dirnames, filenames in os.walk(base):
            for name in dirnames + filenames:
                p = Path(dirpath) / name
                if name in LOCKS:
                    continue
                st = p.lstat()
                out.append((str(p.relative_to(root)), st.st_size if stat.S_ISREG(st.st_mode) else -1))
    return sorted(out)


@pytest.fixture
def store(env):
    eng = env.engine()
    eng.setup()
    (env.root / "tmp").mkdir(exist_ok=True)
    return env


def load_fails(env, data: bytes, tmp_path: Path, match: str) -> str:
    before = listing(env.root)
    path = tmp_path / "hostile.tar"
    path.write_bytes(data)
    r = env.cli("load", "-i", str(path))
    assert r.returncode != 0, r.stdout
    assert match in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    assert listing(env.root) == before
    assert env.engine().images.find("hostile:1") is None
    return r.stderr


def test_a_good_hand_made_archive_loads(store, tmp_path):
    # The control: the same machinery with a harmless layer works.
    layer = tar(entry("etc", tarfile.DIRTYPE, mode=0o755), entry("etc/hello", data=b"hi\n"))
    path = tmp_path / "good.tar"
    path.write_bytes(docker_archive([layer]))
    r = store.cli("load", "-i", str(path))
    assert r.returncode == 0, r.stderr
    assert r.stdout == "Loaded image: hostile:1\n"
    assert store.cli("rmi", "hostile:1").returncode == 0


@pytest.mark.parametrize("name", ["../escape", "a/../../escape", "/etc/tuidock-escape"])
def test_names_outside_the_layer(store, tmp_path, name):
    layer = tar(entry(name, data=b"owned"))
    err = load_fails(store, docker_archive([layer]), tmp_path, "leaves the layer" if ".." in name else "absolute path")
    assert "layer" in err
    assert not Path("/etc/tuidock-escape").exists()


def test_write_through_a_symlink_planted_in_the_same_layer(store, tmp_path):
    victim = tmp_path / "victim"
    victim.mkdir()
    layer = tar(entry("link", tarfile.SYMTYPE, link=str(victim)), entry("link/pwned", data=b"owned"))
    load_fails(store, docker_archive([layer]), tmp_path, "symlink")
    assert list(victim.iterdir()) == []


def test_write_through_a_relative_symlink_climbing_out(store, tmp_path):
    layer = tar(entry("a", tarfile.DIRTYPE, mode=0o755), entry("a/up", tarfile.SYMTYPE, link="../../../../../../.."),
                entry("a/up/tmp/tuidock-pwned", data=b"owned"))
    load_fails(store, docker_archive([layer]), tmp_path, "symlink")
    assert not Path("/tmp/tuidock-pwned").exists()


def test_whiteout_through_a_symlink(store, tmp_path):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep").write_text("x")
    layer = tar(entry("link", tarfile.SYMTYPE, link=str(victim)), entry("link/.wh.keep"))
    load_fails(store, docker_archive([layer]), tmp_path, "symlink")
    assert (victim / "keep").read_text() == "x"


@pytest.mark.parametrize("target,match", [
    ("/etc/passwd", "absolute path"),
    ("../../../../etc/passwd", "leaves the layer"),
    ("nothing-here", "not in this layer"),
])
def test_hardlinks_to_outside(store, tmp_path, target, match):
    layer = tar(entry("h", tarfile.LNKTYPE, link=target))
    load_fails(store, docker_archive([layer]), tmp_path, match)


def test_hardlink_to_a_symlink(store, tmp_path):
    layer = tar(entry("s", tarfile.SYMTYPE, link="/etc/shadow"), entry("h", tarfile.LNKTYPE, link="s"))
    load_fails(store, docker_archive([layer]), tmp_path, "not a regular file")


def test_hardlink_through_a_symlinked_directory(store, tmp_path):
    layer = tar(entry("d", tarfile.SYMTYPE, link="/etc"), entry("h", tarfile.LNKTYPE, link="d/passwd"))
    load_fails(store, docker_archive([layer]), tmp_path, "symlink")


@pytest.mark.parametrize("members,match", [
    ([entry(".wh.", data=b"")], "malformed whiteout"),  # a whiteout of nothing
    ([entry("d", tarfile.DIRTYPE, mode=0o755), entry("d/.wh..wh..opq", tarfile.DIRTYPE, mode=0o755)],
     "malformed whiteout"),  # the opaque marker as a directory
    ([entry(".wh.file", data=b"content")], "malformed whiteout"),  # a whiteout with content
    ([entry(".wh..wh.plnk", data=b"")], "malformed whiteout"),  # aufs metadata names
    ([entry(".wh.x", tarfile.SYMTYPE, link="/etc")], "malformed whiteout"),
])
def test_malformed_whiteouts(store, tmp_path, members, match):
    load_fails(store, docker_archive([tar(*members)]), tmp_path, match)


def test_directory_replaced_by_a_symlink_cannot_chmod_the_host(store, tmp_path):
    # The directory's metadata is applied after all entries; by then the name is a symlink
    # to a host file. Following it would chmod that file to 0777.
    victim = tmp_path / "victim-file"
    victim.write_text("secret")
    victim.chmod(0o600)
    layer = tar(entry("d", tarfile.DIRTYPE, mode=0o777), entry("d", tarfile.SYMTYPE, link=str(victim)))
    path = tmp_path / "ok.tar"
    path.write_bytes(docker_archive([layer], tag="replaced:1"))
    r = store.cli("load", "-i", str(path))
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE(victim.stat().st_mode) == 0o600
    store.cli("rmi", "replaced:1")


def test_overlay_control_xattrs_are_not_taken_from_a_layer(store, tmp_path):
    layer = tar(entry("d", tarfile.DIRTYPE, mode=0o755,
                      pax={"SCHILY.xattr.trusted.overlay.redirect": "/etc", "SCHILY.xattr.user.note": "kept"}))
    path = tmp_path / "x.tar"
    path.write_bytes(docker_archive([layer], tag="xattr:1"))
    assert store.cli("load", "-i", str(path)).returncode == 0
    eng = store.engine()
    d = eng.images.layer_path(eng.images.get("xattr:1").diff_ids[0]) + "/d"
    assert "trusted.overlay.redirect" not in os.listxattr(d)
    store.cli("rmi", "xattr:1")


def test_decompression_bomb_in_a_layer(store, tmp_path):
    # 200 MB of zeros in one file: about 200 kB gzipped.
    zeros = io.BytesIO()
    with tarfile.open(fileobj=zeros, mode="w") as tf:
        ti = tarfile.TarInfo("bomb")
        ti.size = 200 << 20

        class Zeros(io.RawIOBase):
            left = ti.size

            def readinto(self, b):  # type: ignore[no-untyped-def]
                n = min(len(b), self.left)
                b[:n] = bytes(n)
                self.left -= n
                return n

        tf.addfile(ti, Zeros())
    raw = zeros.getvalue()
    gz = gzip.compress(raw, compresslevel=9)
    assert len(gz) < 1 << 20
    data = docker_archive([gz], diff_ids=[sha(raw)])
    del raw
    before = listing(store.root)
    eng = store.engine()
    with pytest.raises(InvalidArgument, match="larger than the limit"):
        eng.load_images(io.BytesIO(data), limits=Limits(max_bytes=32 << 20))
    assert listing(store.root) == before


def test_decompression_bomb_as_the_archive(store, tmp_path):
    inner = docker_archive([tar(entry("f", data=bytes(8 << 20)))])
    before = listing(store.root)
    with pytest.raises(InvalidArgument, match="larger than the limit"):
        store.engine().load_images(io.BytesIO(gzip.compress(inner)), limits=Limits(max_archive_bytes=1 << 20))
    assert listing(store.root) == before


def test_a_huge_tar_header_fails_before_it_is_read_into_memory(store, tmp_path):
    # A pax header that claims 4 GB (tarfile would read it whole into memory): refused at once.
    hdr = tarfile.TarInfo("././@PaxHeader")
    hdr.type, hdr.size = tarfile.XHDTYPE, 4 << 30
    raw = hdr.tobuf(tarfile.USTAR_FORMAT) + bytes(1 << 20)
    load_fails(store, docker_archive([raw], diff_ids=[sha(raw)]), tmp_path, "tar header")


def test_layer_digest_mismatch(store, tmp_path):
    layer = tar(entry("f", data=b"real"))
    other = tar(entry("f", data=b"claimed"))
    load_fails(store, docker_archive([layer], diff_ids=[sha(other)]), tmp_path, "does not match diff id")


def test_config_digest_mismatch(store, tmp_path):
    layer = tar(entry("f", data=b"x"))
    load_fails(store, docker_archive([layer], config_name="0" * 64 + ".json"), tmp_path, "content has digest")


@pytest.mark.parametrize("digest", ["sha256:xyz", "md5:" + "0" * 32, "sha256:" + "A" * 64, "sha256:../../etc"])
def test_malformed_digests(store, tmp_path, digest):
    layer = tar(entry("f", data=b"x"))
    load_fails(store, docker_archive([layer], diff_ids=[digest]), tmp_path, "not a sha256 digest")


@pytest.mark.parametrize("manifest,match", [
    (b"{not json", "malformed JSON"),
    (b'{"Config": "x"}', "not a list of images"),
    (b"[]", "not a list of images"),
    (b'[{"Config": "c.json"}]', "without Config and Layers"),
    (b'[{"Config": "missing.json", "Layers": []}]', "not in the archive"),
])
def test_malformed_manifests(store, tmp_path, manifest, match):
    load_fails(store, docker_archive([tar(entry("f", data=b"x"))], manifest=manifest), tmp_path, match)


def test_config_without_rootfs_or_with_wrong_layer_count(store, tmp_path):
    layer = tar(entry("f", data=b"x"))
    load_fails(store, docker_archive([layer], config=b'{"os": "linux"}'), tmp_path, "no rootfs")
    load_fails(store, docker_archive([layer], diff_ids=[sha(layer), sha(layer)]), tmp_path, "lists 2 layers")


def test_a_manifest_naming_a_layer_not_in_the_archive(store, tmp_path):
    layer = tar(entry("f", data=b"x"))
    load_fails(store, docker_archive([layer], drop=("l0/layer.tar",)), tmp_path, "not in the archive")


def test_truncated_archive(store, tmp_path):
    data = docker_archive([tar(entry("f", data=os.urandom(100_000)))])
    load_fails(store, data[: len(data) // 2], tmp_path, "not a valid tar archive")


def test_truncated_gzip_layer(store, tmp_path):
    raw = tar(entry("f", data=os.urandom(200_000)))
    gz = gzip.compress(raw)
    load_fails(store, docker_archive([gz[: len(gz) // 2]], diff_ids=[sha(raw)]), tmp_path, "layer")


def oci_archive(layer: bytes, *, size_delta: int = 0, layer_digest: str | None = None) -> bytes:
    cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                      "rootfs": {"type": "layers", "diff_ids": [sha(layer)]}}).encode()
    man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                      "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(cfg), "size": len(cfg)},
                      "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                                  "digest": layer_digest or sha(layer), "size": len(layer) + size_delta}]}).encode()
    index = json.dumps({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": sha(man), "size": len(man),
        "annotations": {"org.opencontainers.image.ref.name": "docker.io/library/hostile:1"}}]}).encode()
    blobs = [(f"blobs/sha256/{sha(b)[7:]}", b) for b in (cfg, man, layer)]
    return tar(entry("oci-layout", data=b'{"imageLayoutVersion":"1.0.0"}'), entry("index.json", data=index),
               *(entry(n, data=d) for n, d in blobs))


def test_oci_layout_loads_when_well_formed(store, tmp_path):
    path = tmp_path / "oci.tar"
    path.write_bytes(oci_archive(tar(entry("hello", data=b"hi"))))
    r = store.cli("load", "-i", str(path))
    assert r.returncode == 0, r.stderr
    assert r.stdout == "Loaded image: hostile:1\n"
    store.cli("rmi", "hostile:1")


def test_oci_layout_truncated_blob(store, tmp_path):
    load_fails(store, oci_archive(tar(entry("hello", data=b"hi")), size_delta=+100), tmp_path, "truncated")


def test_oci_layout_blob_digest_mismatch(store, tmp_path):
    layer = tar(entry("hello", data=b"hi"))
    fake = "sha256:" + hashlib.sha256(b"other").hexdigest()
    load_fails(store, oci_archive(layer, layer_digest=fake), tmp_path, "not in the archive")


def test_import_refuses_hostile_names_and_leaves_the_store(store, tmp_path):
    before = listing(store.root)
    path = tmp_path / "rootfs.tar"
    path.write_bytes(tar(entry("ok", data=b"x"), entry("../../escape", data=b"owned")))
    r = store.cli("import", str(path), "hostile:1")
    assert r.returncode == 125 and "leaves the layer" in r.stderr
    r = store.cli("import", "-", "hostile:1", input=tar(entry("/abs", data=b"x")).decode("latin-1"))
    assert r.returncode == 125
    assert listing(store.root) == before


def test_import_bomb(store, tmp_path):
    before = listing(store.root)
    data = gzip.compress(tar(entry("f", data=bytes(16 << 20))))
    with pytest.raises(InvalidArgument, match="larger than the limit"):
        store.engine().import_image(io.BytesIO(data), ["hostile:1"], limits=Limits(max_archive_bytes=1 << 20))
    with pytest.raises(InvalidArgument, match="larger than the limit"):
        store.engine().import_image(io.BytesIO(data), ["hostile:1"], limits=Limits(max_bytes=1 << 20))
    assert listing(store.root) == before


def test_oci_layout_blob_whose_content_does_not_match_its_name(store, tmp_path):
    layer = tar(entry("hello", data=b"hi"))
    data = oci_archive(layer)
    # Same archive, but the layer blob's bytes swapped for others of the same size under the same name.
    evil = tar(entry("hello", data=b"ho"))
    assert len(evil) == len(layer)
    swapped = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(data)) as src, tarfile.open(fileobj=swapped, mode="w",
                                                                       format=tarfile.PAX_FORMAT) as dst:
        for m in src:
            body = src.extractfile(m).read()  # type: ignore[union-attr]
            dst.addfile(m, io.BytesIO(evil if m.name == f"blobs/sha256/{sha(layer)[7:]}" else body))
    load_fails(store, swapped.getvalue(), tmp_path, "content has digest")


def test_a_symlink_planted_in_an_earlier_layer_is_not_followed_by_a_later_one(store, tmp_path):
    # Layer 1 turns /etc into a symlink to a host directory (and /up into one climbing out of the root);
    # layer 2 writes /etc/pwned and /up/tmp/... Each layer is extracted into a directory of its own, so
    # the symlink is not there to follow: nothing lands on the host, and overlayfs shows layer 2's
    # directory over layer 1's symlink, inside the container.
    victim = tmp_path / "victim"
    victim.mkdir()
    eng = store.engine()
    from runtime.images.layers import open_layer

    bb = eng.images.get("busybox")
    with open_layer(eng.images.blob_path(bb.layers[0].digest)) as f:
        base = f.read()
    plant = tar(entry("etc", tarfile.SYMTYPE, link=str(victim)), entry("up", tarfile.SYMTYPE, link="../../../../.."))
    write = tar(entry("etc", tarfile.DIRTYPE, mode=0o755), entry("etc/pwned", data=b"inside\n"),
                entry("up", tarfile.DIRTYPE, mode=0o755), entry("up/tmp", tarfile.DIRTYPE, mode=0o755),
                entry("up/tmp/tuidock-earlier-pwned", data=b"owned"))
    path = tmp_path / "layered.tar"
    path.write_bytes(docker_archive([base, plant, write], tag="earlier:1"))
    r = store.cli("load", "-i", str(path))
    assert r.returncode == 0, r.stderr
    try:
        assert list(victim.iterdir()) == []
        assert not Path("/tmp/tuidock-earlier-pwned").exists()
        img = eng.images.get("earlier:1")
        assert os.path.islink(eng.images.layer_path(img.diff_ids[1]) + "/etc")
        assert Path(eng.images.layer_path(img.diff_ids[2]) + "/etc/pwned").read_text() == "inside\n"
        r = store.cli("run", "--rm", "--network", "none", "earlier:1", "/bin/sh", "-c",
                      "cat /etc/pwned; test -L /etc || echo not-a-link; cat /up/tmp/tuidock-earlier-pwned")
        assert r.stdout == "inside\nnot-a-link\nowned", r.stderr
        assert list(victim.iterdir()) == []
    finally:
        store.cli("rmi", "earlier:1")
