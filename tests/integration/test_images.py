"""The image store from the command line: images, tag, rmi (docker's rules), image prune, history, image inspect."""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest

from .imagehelp import import_image, own_images  # noqa: F401

pytestmark = [pytest.mark.requires("root", "overlay", "busybox"), pytest.mark.usefixtures("own_images")]


def ids(env, *args: str) -> list[str]:
    r = env.cli("images", "-q", *args)
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


def test_images_lists_repository_tag_id_created_size(env):
    r = env.cli("images")
    header, *rows = r.stdout.splitlines()
    assert header.split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    bb = env.engine().images.get("busybox")
    row = next(x for x in rows if x.startswith("busybox "))
    assert re.match(rf"busybox\s+latest\s+{bb.short_id}\s+.+ ago\s+\d[\d.]*[kM]?B$", row), row
    assert env.cli("image", "ls").stdout == r.stdout
    assert bb.short_id in ids(env)
    assert bb.id in ids(env, "--no-trunc")
    digests = env.cli("images", "--digests").stdout.splitlines()
    assert digests[0].split()[:3] == ["REPOSITORY", "TAG", "DIGEST"]
    assert bb.manifest_digest in next(x for x in digests if x.startswith("busybox "))


def test_images_formats_and_filters(env):
    a = import_image(env, "imgtest/alpha:1", None, "LABEL tier=front")
    import_image(env, "imgtest/beta:2")
    lines = env.cli("images", "--format", "json", "--filter", "reference=imgtest/*").stdout.splitlines()
    objs = [json.loads(x) for x in lines]
    assert sorted((o["Repository"], o["Tag"]) for o in objs) == [("imgtest/alpha", "1"), ("imgtest/beta", "2")]
    assert env.cli("images", "--format", "{{.Repository}}:{{.Tag}}", "imgtest/alpha").stdout == "imgtest/alpha:1\n"
    assert ids(env, "--filter", "label=tier=front") == [a[7:19]]
    table = env.cli("images", "--format", "table {{.Repository}}\t{{.Tag}}", "-f", "reference=imgtest/beta").stdout
    assert table.split() == ["REPOSITORY", "TAG", "imgtest/beta", "2"]
    assert env.cli("images", "--filter", "colour=red").returncode == 125


def test_tag_and_untag(env):
    iid = import_image(env, "imgtest/tagme:1")
    assert env.cli("tag", "imgtest/tagme:1", "imgtest/other:latest").returncode == 0
    assert env.cli("image", "tag", iid[7:19], "localhost:5000/x/y:z").returncode == 0
    img = env.engine().images.get(iid)
    assert set(img.repo_tags) == {"docker.io/imgtest/tagme:1", "docker.io/imgtest/other:latest",
                                  "localhost:5000/x/y:z"}
    r = env.cli("rmi", "imgtest/other")
    assert r.returncode == 0 and r.stdout == "Untagged: imgtest/other:latest\n"
    bad = env.cli("tag", "imgtest/tagme:1", "Bad/Name")
    assert bad.returncode == 125 and "must be lowercase" in bad.stderr
    assert env.cli("tag", "nosuch:image", "x:y").returncode == 125


def test_rmi_removes_the_image_and_its_layers(env):
    iid = import_image(env, "imgtest/gone:1", {"unique-file": os.urandom(64)})
    eng = env.engine()
    layer = eng.images.layer_path(eng.images.get(iid).diff_ids[0])
    assert os.path.isdir(layer)
    r = env.cli("rmi", "imgtest/gone:1")
    assert r.returncode == 0, r.stderr
    diff = eng.images.get("busybox").diff_ids  # unrelated, stays
    assert r.stdout.splitlines()[:2] == ["Untagged: imgtest/gone:1", f"Deleted: {iid}"]
    assert r.stdout.splitlines()[2].startswith("Deleted: sha256:")
    assert not os.path.exists(os.path.dirname(layer))
    assert os.path.isdir(eng.images.layer_path(diff[0]))
    assert env.cli("rmi", "imgtest/gone:1").returncode == 1


def test_rmi_refuses_an_image_a_stopped_container_uses(env):
    iid = import_image(env, "imgtest/used:1", {"bin/placeholder": b""})
    eng = env.engine()
    # A container made from the image (created, never started: the image has no shell).
    r = env.cli("create", "--name", "user-of-used", "imgtest/used:1", "/bin/placeholder")
    assert r.returncode == 0, r.stderr
    cid = r.stdout.strip()
    r = env.cli("rmi", "imgtest/used:1")
    assert r.returncode == 1
    assert f"container {cid[:12]} is using its referenced image {iid[7:19]}" in r.stderr
    r = env.cli("rmi", iid[7:19])
    assert r.returncode == 1 and f"being used by stopped container {cid[:12]}" in r.stderr
    # Forced: the image goes (docker: a stopped container is a soft conflict), its layer stays for the container.
    layer = eng.images.layer_path(eng.images.get(iid).diff_ids[0])
    r = env.cli("rmi", "-f", "imgtest/used:1")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["Untagged: imgtest/used:1", f"Deleted: {iid}"]
    assert os.path.isdir(layer)
    assert env.cli("rm", "user-of-used").returncode == 0
    env.engine().prune_images()
    assert not os.path.exists(layer)


def test_rmi_and_a_running_container(env):
    env.cli("tag", "busybox", "imgtest/running:1")
    iid = env.engine().images.get("busybox").id
    r = env.cli("commit", run_sleeper(env), "imgtest/live:1")
    assert r.returncode == 0, r.stderr
    live = r.stdout.strip()
    cid = run_sleeper(env, "imgtest/live:1")
    # By id, a running container's image cannot be removed even with -f.
    r = env.cli("rmi", "-f", live[7:19])
    assert r.returncode == 1 and f"being used by running container {cid[:12]}" in r.stderr
    # By its last tag with -f: untagged only; the image stays (dangling) while the container runs.
    r = env.cli("rmi", "-f", "imgtest/live:1")
    assert r.returncode == 0 and r.stdout == "Untagged: imgtest/live:1\n"
    assert env.engine().images.get(live).repo_tags == ()
    assert env.cli("rmi", "imgtest/running:1").stdout == "Untagged: imgtest/running:1\n"
    assert env.engine().images.get(iid)  # busybox itself untouched


def run_sleeper(env, image: str = "busybox") -> str:
    r = env.cli("run", "-d", image, "sleep", "60")
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def test_rmi_by_id_with_tags_in_two_repositories_needs_force(env):
    iid = import_image(env, "imgtest/one:1")
    env.cli("tag", "imgtest/one:1", "imgtest/two:1")
    r = env.cli("rmi", iid[7:19])
    assert r.returncode == 1 and "referenced in multiple repositories" in r.stderr
    r = env.cli("rmi", "-f", iid[7:19])
    assert r.returncode == 0
    assert sorted(r.stdout.splitlines()[:2]) == ["Untagged: imgtest/one:1", "Untagged: imgtest/two:1"]
    assert f"Deleted: {iid}" in r.stdout.splitlines()
    # Two tags of one repository: by id, no -f needed.
    iid = import_image(env, "imgtest/same:1")
    env.cli("tag", "imgtest/same:1", "imgtest/same:2")
    r = env.cli("rmi", iid)
    assert r.returncode == 0 and f"Deleted: {iid}" in r.stdout


def test_image_prune_removes_dangling_images_only(env):
    dangling = import_image(env, "imgtest/dangle:1", {"d": b"1"})
    env.cli("rmi", "-f", "imgtest/dangle:1")  # a forced untag of an unused image removes it...
    assert env.engine().images.find(dangling) is None
    keep = import_image(env, "imgtest/keep:1", {"k": b"2"})
    dangling = import_image(env, "imgtest/dangle:2", {"d": b"3"})
    import_image(env, "imgtest/dangle:2", {"d": b"4"})  # ...but moving the tag leaves it dangling
    assert env.engine().images.get(dangling).repo_tags == ()
    assert ids(env, "--filter", "dangling=true") == [dangling[7:19]]
    r = env.cli("image", "prune", "-f")
    assert r.returncode == 0
    assert r.stdout.startswith(f"Deleted Images:\ndeleted: {dangling}\n")
    assert re.search(r"Total reclaimed space: \d", r.stdout)
    assert env.engine().images.find(dangling) is None and env.engine().images.find(keep) is not None
    r = env.cli("image", "prune", input="n\n")
    assert "Are you sure you want to continue? [y/N]" in r.stdout


def test_image_prune_all_keeps_images_containers_use(env):
    used = import_image(env, "imgtest/inuse:1", {"bin/x": b""})
    unused = import_image(env, "imgtest/unused:1", {"u": b""})
    assert env.cli("create", "imgtest/inuse:1", "/bin/x").returncode == 0
    eng = env.engine()
    records, _ = eng.prune_images(all_images=True)
    deleted = {r.deleted for r in records}
    assert unused in deleted and used not in deleted
    assert eng.images.find(used) is not None
    # busybox is used by no container here either: put it back for the other tests.
    assert eng.images.find("busybox") is None
    from runtime.images import busybox

    busybox.build(eng.images)


def test_history_and_image_inspect(env):
    cid = run_sleeper(env)
    env.cli("exec", cid, "sh", "-c", "echo data > /made")
    r = env.cli("commit", "-m", "added /made", "-c", "ENV STAGE=2", cid, "imgtest/hist:1")
    assert r.returncode == 0, r.stderr
    new = r.stdout.strip()
    bb = env.engine().images.get("busybox")
    r = env.cli("history", "imgtest/hist:1")
    header, top, base = r.stdout.splitlines()
    assert header.split() == ["IMAGE", "CREATED", "CREATED", "BY", "SIZE", "COMMENT"]
    assert top.startswith(new[7:19]) and "sleep 60" in top and top.endswith("added /made")
    assert base.startswith(bb.short_id)
    assert env.cli("history", "-q", "--no-trunc", "imgtest/hist:1").stdout.split() == [new, bb.id]
    obj = json.loads(env.cli("image", "inspect", "imgtest/hist:1").stdout)[0]
    assert obj["Id"] == new and obj["RepoTags"] == ["imgtest/hist:1"]
    assert obj["RootFS"]["Layers"][0] == bb.diff_ids[0] and len(obj["RootFS"]["Layers"]) == 2
    assert "STAGE=2" in obj["Config"]["Env"] and obj["Config"]["Cmd"] == ["sleep", "60"]
    assert obj["Parent"] == bb.id and obj["Comment"] == "added /made"
    assert env.cli("image", "inspect", "-f", "{{.Id}}", "busybox").stdout.strip() == bb.id
    assert env.cli("image", "inspect", cid).returncode == 125  # a container is not an image


def test_history_shows_empty_layers_as_zero(env, tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM busybox\nENV A=1\nRUN echo x > /x\nCMD [\"cat\", \"/x\"]\n")
    r = env.cli("build", "-q", "-t", "imgtest/steps:1", str(tmp_path))
    assert r.returncode == 0, r.stderr
    rows = env.cli("history", "--no-trunc", "imgtest/steps:1").stdout.splitlines()[1:]
    assert len(rows) == 4
    cmd, run, envrow, base = rows
    assert "#(nop)  CMD [\"cat\", \"/x\"]" in cmd and re.search(r"\s0B\s*$", cmd)
    assert "/bin/sh -c echo x > /x" in run and not re.search(r"\s0B\s*$", run)
    assert "#(nop)  ENV A=1" in envrow and re.search(r"\s0B\s*$", envrow)
    # Every step's image is in the store, so every row has an id.
    assert all(not r.startswith("<missing>") for r in rows)


@pytest.mark.requires("skopeo")
def test_the_store_is_an_oci_layout_other_tools_read(env, tmp_path):
    # skopeo reads images/ as an OCI image layout and verifies every blob it copies against its digest.
    iid = import_image(env, "imgtest/layout:1", {"etc/layout": b"oci\n"})
    eng = env.engine()
    img = eng.images.get(iid)
    src = f"oci:{env.root / 'images'}:docker.io/imgtest/layout:1"
    r = subprocess.run(["skopeo", "inspect", "--config", src], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["rootfs"]["diff_ids"] == list(img.diff_ids)
    r = subprocess.run(["skopeo", "copy", src, f"dir:{tmp_path / 'copy'}"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "copy" / img.layers[0].digest[7:]).read_bytes() == \
        open(eng.images.blob_path(img.layers[0].digest), "rb").read()


def test_images_share_layers_and_reference_counting_keeps_shared_ones(env, tmp_path):
    # Two images built on busybox use busybox's layer directory itself; removing both keeps it for busybox.
    eng = env.engine()
    bb = eng.images.get("busybox")
    made = []
    for n in (1, 2):
        (tmp_path / "Dockerfile").write_text(f"FROM busybox\nRUN echo {n} > /n\n")
        r = env.cli("build", "-q", "-t", f"imgtest/shared:{n}", str(tmp_path), timeout=120)
        assert r.returncode == 0, r.stderr
        made.append(eng.images.get(f"imgtest/shared:{n}"))
    assert made[0].diff_ids[0] == made[1].diff_ids[0] == bb.diff_ids[0]
    assert len(os.listdir(eng.images.layers_dir)) >= 3
    own = [eng.images.layer_path(img.diff_ids[-1]) for img in made]
    cid = env.cli("create", "imgtest/shared:1", "true").stdout.strip()
    r = env.cli("rmi", "-f", "imgtest/shared:1", "imgtest/shared:2")
    assert r.returncode == 0, r.stderr
    # shared:1's own layer stays while its container exists; shared:2's goes; busybox's stays.
    assert os.path.isdir(own[0]) and not os.path.exists(own[1])
    assert os.path.isdir(eng.images.layer_path(bb.diff_ids[0]))
    assert env.cli("rm", cid).returncode == 0
    env.engine().prune_images()
    assert not os.path.exists(own[0]) and os.path.isdir(eng.images.layer_path(bb.diff_ids[0]))
