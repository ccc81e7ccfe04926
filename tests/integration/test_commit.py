"""``commit``: the container's upper layer as a new layer, deletions as whiteouts, without the init layer's
files and without volume or bind mount contents; and the dive-style layer view of the result."""

from __future__ import annotations

import json
import tarfile

import pytest

from runtime.engine.imagelayers import Change

from .imagehelp import own_images  # noqa: F401

pytestmark = [pytest.mark.requires("root", "overlay", "busybox"), pytest.mark.usefixtures("own_images")]


def layer_members(env, ref: str) -> dict[str, tarfile.TarInfo]:
    """The top layer's tar entries, as the blob in the store has them."""
    eng = env.engine()
    img = eng.images.get(ref)
    with tarfile.open(eng.images.blob_path(img.layers[-1].digest)) as tf:
        return {m.name.rstrip("/"): m for m in tf}


def test_commit_takes_the_upper_layer_only(env, tmp_path):
    bind = tmp_path / "bound"
    bind.mkdir()
    script = ("echo new > /added; rm /bin/vi; rm -r /usr/sbin; echo changed >> /etc/passwd; mkdir -p /a/b; "
              "echo v > /vol/in-volume; echo b > /bound/in-bind; echo t > /scratch/in-tmpfs; "
              "echo h >> /etc/hosts; echo r >> /etc/resolv.conf; echo n > /etc/hostname")
    r = env.cli("run", "--name", "committed", "--network", "none", "-v", "/vol", "-v", f"{bind}:/bound",
                "--tmpfs", "/scratch", "-v", "cvol:/srv/named", "busybox", "sh", "-c", script)
    assert r.returncode == 0, r.stderr
    r = env.cli("commit", "-m", "by the test", "-a", "tester", "-c", "ENV FROM_COMMIT=1", "committed",
                "committest/snap:1")
    assert r.returncode == 0, r.stderr
    iid = r.stdout.strip()
    assert iid.startswith("sha256:")
    names = layer_members(env, "committest/snap:1")
    assert {"added", "bin/.wh.vi", "usr/.wh.sbin", "etc/passwd", "a/b"} <= set(names)
    assert names["bin/.wh.vi"].isreg() and names["bin/.wh.vi"].size == 0
    # Init layer files, and whatever lives on volumes, binds and tmpfs, are not in the layer (nor their mount points).
    for left_out in ("etc/hosts", "etc/resolv.conf", "etc/hostname", "vol", "vol/in-volume", "bound",
                     "bound/in-bind", "scratch", "scratch/in-tmpfs", "srv", "srv/named", "proc", "dev", "sys"):
        assert left_out not in names, left_out
    img = env.engine().images.get(iid)
    base = env.engine().images.get("busybox")
    assert img.diff_ids[:-1] == base.diff_ids
    assert json.loads(env.cli("image", "inspect", "-f", "{{json .Parent}}", iid).stdout) == base.id
    assert img.history[-1].comment == "by the test"
    assert "FROM_COMMIT=1" in img.config.env
    r = env.cli("run", "--rm", "--network", "none", "committest/snap:1", "sh", "-c",
                "cat /added; tail -1 /etc/passwd; ls /bin/vi /usr/sbin 2>&1 | wc -l; ls /vol /bound 2>&1 | wc -l")
    assert r.stdout.splitlines() == ["new", "changed", "2", "2"], r.stderr
    env.cli("rm", "committed")
    env.cli("volume", "rm", "cvol")


def test_commit_of_a_running_container_pauses_and_resumes_it(env):
    r = env.cli("run", "-d", "--name", "live-commit", "--network", "none", "busybox", "sh", "-c",
                "echo ready > /state; exec sleep 1000")
    assert r.returncode == 0, r.stderr
    for _ in range(100):
        if env.cli("exec", "live-commit", "cat", "/state").stdout == "ready\n":
            break
    r = env.cli("commit", "-c", 'CMD ["cat", "/state"]', "live-commit")
    assert r.returncode == 0, r.stderr
    iid = r.stdout.strip()
    assert env.cli("inspect", "-f", "{{.State.Status}}", "live-commit").stdout == "running\n"
    r = env.cli("run", "--rm", "--network", "none", iid)
    assert r.stdout == "ready\n", r.stderr
    assert env.cli("images", "-q", "--filter", "dangling=true").stdout.split().count(iid[7:19]) == 1


def test_image_layers_show_changes_and_wasted_space(env, tmp_path):
    (tmp_path / "Dockerfile").write_text(
        "FROM busybox\n"
        "RUN head -c 50000 /dev/zero > /big && echo v1 > /conf && mkdir /d && echo x > /d/f\n"
        "RUN rm /big && echo v2 > /conf && rm /etc/group\n")
    r = env.cli("build", "-q", "-t", "committest/dive:1", str(tmp_path), timeout=120)
    assert r.returncode == 0, r.stderr
    eng = env.engine()
    view = eng.image_layers("committest/dive:1")
    first, second = view.layers[-2], view.layers[-1]
    assert "head -c 50000" in first.created_by and "rm /big" in second.created_by
    changes = {e.path: e.change for e in second.changes}
    assert changes["/big"] is Change.DELETED and changes["/conf"] is Change.CHANGED
    assert changes["/etc/group"] is Change.DELETED
    assert {e.path: e.change for e in first.changes}["/d/f"] is Change.ADDED
    wasted = {(w.path, w.layer, w.by_layer): w.size for w in view.wasted}
    n = len(view.layers)
    assert wasted[("/big", n - 2, n - 1)] == 50000
    assert ("/conf", n - 2, n - 1) in wasted and ("/etc/group", 0, n - 1) in wasted
    assert view.wasted_bytes == sum(wasted.values()) and 0 < view.efficiency < 1
    # The tree up to a layer: /big is there before the second RUN, not after it.
    before = {e.path: e for e in eng.image_tree("committest/dive:1", n - 2)}
    after = {e.path: e for e in eng.image_tree("committest/dive:1")}
    assert before["/big"].size == 50000 and before["/big"].layer == n - 2
    assert "/big" not in after and "/etc/group" not in after
    assert after["/conf"].layer == n - 1 and after["/bin/busybox"].layer == 0
