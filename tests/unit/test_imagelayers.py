"""The dive-style layer view against fake layer directories: changes per layer, waste, the tree up to a layer.

Whiteouts (0/0 character devices) need root to create; they are covered by
tests/integration/test_commit.py on a real build.
"""

from __future__ import annotations

import hashlib
import os

from runtime.engine.imagelayers import Change, FileType, analyze, tree
from runtime.images.store import HistoryEntry, Image, ImageConfig, ImageStore, Layer


def make_image(root, layers: list[dict[str, bytes | str | None]]) -> tuple[ImageStore, Image]:
    """Each layer: path -> bytes (a file), None (a directory) or a str starting with '->' (a symlink)."""
    store = ImageStore(str(root))
    descs = []
    for i, files in enumerate(layers):
        diff_id = "sha256:" + hashlib.sha256(str(i).encode()).hexdigest()
        base = store.layer_path(diff_id)
        os.makedirs(base)
        for path, content in files.items():
            full = os.path.join(base, path)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            if content is None:
                os.makedirs(full, exist_ok=True)
            elif isinstance(content, str):
                os.symlink(content[2:], full)
            else:
                with open(full, "wb") as f:
                    f.write(content)
        descs.append(Layer("sha256:" + "0" * 63 + str(i), diff_id, 0, ""))
    history = tuple(HistoryEntry("", f"step {i}") for i in range(len(layers)))
    img = Image("sha256:" + "1" * 64, "", (), "", ImageConfig(), tuple(descs), history, "amd64", "linux")
    return store, img


def changes(view, i):  # type: ignore[no-untyped-def]
    return {e.path: e.change for e in view.layers[i].changes}


def test_added_changed_and_wasted_overwrites(tmp_path):
    store, img = make_image(tmp_path, [
        {"etc/conf": b"a" * 100, "bin/tool": b"x" * 10},
        {"etc/conf": b"b" * 7, "etc/new": b"n"},
    ])
    view = analyze(store, img)
    assert changes(view, 0) == {"/etc": Change.ADDED, "/etc/conf": Change.ADDED, "/bin": Change.ADDED,
                                "/bin/tool": Change.ADDED}
    assert changes(view, 1) == {"/etc": Change.CHANGED, "/etc/conf": Change.CHANGED, "/etc/new": Change.ADDED}
    assert [(w.path, w.size, w.layer, w.by_layer) for w in view.wasted] == [("/etc/conf", 100, 0, 1)]
    assert view.layers[1].created_by == "step 1"
    assert view.size == 100 + 10 + 7 + 1 and view.wasted_bytes == 100


def test_a_file_replacing_a_directory_deletes_and_wastes_its_contents(tmp_path):
    store, img = make_image(tmp_path, [
        {"opt/app/a": b"1" * 5, "opt/app/b": b"2" * 6},
        {"opt/app": b"now a file"},
        {"opt/app": None, "opt/app/c": b"3"},
    ])
    view = analyze(store, img)
    assert changes(view, 1) == {"/opt": Change.CHANGED, "/opt/app": Change.CHANGED,
                                "/opt/app/a": Change.DELETED, "/opt/app/b": Change.DELETED}
    assert changes(view, 2)["/opt/app"] is Change.CHANGED
    wasted = {(w.path, w.layer, w.by_layer) for w in view.wasted}
    assert wasted == {("/opt/app/a", 0, 1), ("/opt/app/b", 0, 1), ("/opt/app", 1, 2)}
    top = {e.path: e for e in tree(store, img)}
    assert top["/opt/app"].type is FileType.DIR and top["/opt/app"].layer == 2
    assert "/opt/app/a" not in top and top["/opt/app/c"].layer == 2


def test_tree_up_to_a_layer(tmp_path):
    store, img = make_image(tmp_path, [
        {"bin/sh": b"sh", "bin/ls": "->sh"},
        {"bin/ls": b"real ls"},
    ])
    first = {e.path: e for e in tree(store, img, 0)}
    assert first["/bin/ls"].type is FileType.SYMLINK and first["/bin/ls"].link == "sh"
    assert all(e.change is None for e in first.values())
    last = {e.path: e for e in tree(store, img)}
    assert last["/bin/ls"].type is FileType.FILE and last["/bin/ls"].layer == 1
    assert tree(store, img, -1) == ()
