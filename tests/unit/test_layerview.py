"""The merged, layer-attributed listing against real layer directories: whiteouts, opaque dirs, A/C/D."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from runtime.engine import changes, layerview
from runtime.engine.layerview import Change, Kind
from runtime.errors import NotFound
from runtime.images.layers import OPAQUE_XATTR


def whiteout(path: Path) -> None:
    """overlayfs's whiteout, a 0/0 character device (mknod needs CAP_MKNOD)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.mknod(path, stat.S_IFCHR | 0o000, os.makedev(0, 0))
    except PermissionError:
        pytest.skip("making a whiteout (a 0/0 character device) needs root")


def opaque(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    try:
        os.setxattr(path, OPAQUE_XATTR, b"y")
    except PermissionError:
        pytest.skip("the trusted.overlay.opaque xattr needs CAP_SYS_ADMIN")


def put(path: Path, text: str = "x") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def stack(tmp_path: Path) -> list[str]:
    """[upper, init, L2, L1], top-most first, as a container's overlay stacks them."""
    upper, init, l2, l1 = (tmp_path / n for n in ("upper", "init", "l2", "l1"))
    for d in (upper, init, l2, l1):
        d.mkdir()
    # L1, the bottom image layer
    put(l1 / "bin" / "sh", "sh1")
    put(l1 / "bin" / "ls", "ls")
    put(l1 / "etc" / "passwd", "root:x:0:0::/root:/bin/sh\n")
    put(l1 / "etc" / "group", "root:x:0:\n")
    put(l1 / "etc" / "old" / "a")
    put(l1 / "opt" / "stuff" / "x")
    put(l1 / "data" / "keep")
    put(l1 / "srv" / "z")
    os.symlink("usr/lib", l1 / "lib")
    # L2: replaces /bin/sh, deletes /etc/group, makes /opt opaque, turns /srv into a file
    put(l2 / "bin" / "sh", "sh2")
    whiteout(l2 / "etc" / "group")
    opaque(l2 / "opt")
    put(l2 / "opt" / "y")
    put(l2 / "new2")
    put(l2 / "srv", "now a file")
    # the init layer
    put(init / "etc" / "hosts", "127.0.0.1 localhost\n")
    (init / "dev").mkdir()
    # the container's writable layer
    put(upper / "etc" / "passwd", "root:x:0:0::/root:/bin/sh\nme:x:1000:1000::/:/bin/sh\n")
    put(upper / "etc" / "newfile")
    whiteout(upper / "etc" / "old")
    opaque(upper / "data")
    put(upper / "data" / "fresh")
    put(upper / "tmp" / "added" / "f")
    whiteout(upper / "bin" / "ls")
    whiteout(upper / "new2")
    return [str(upper), str(init), str(l2), str(l1)]


def by_name(entries: list[layerview.Entry]) -> dict[str, layerview.Entry]:
    return {e.name: e for e in entries}


def test_root_attributes_each_name_to_its_top_most_layer(stack: list[str]) -> None:
    root = by_name(layerview.list_dir(stack, "", upper=True))
    assert sorted(root) == ["bin", "data", "dev", "etc", "lib", "new2", "opt", "srv", "tmp"]
    assert (root["bin"].layer_index, root["bin"].change) == (0, Change.CHANGED)  # copied up to hold a whiteout
    assert (root["dev"].layer_index, root["dev"].change) == (1, None)
    assert root["tmp"].change is Change.ADDED
    assert root["data"].opaque and root["data"].change is Change.CHANGED
    assert root["opt"].opaque and (root["opt"].layer_index, root["opt"].change) == (2, None)
    assert root["new2"].whiteout and root["new2"].kind is Kind.WHITEOUT and root["new2"].change is Change.DELETED
    assert not root["new2"].visible
    assert (root["srv"].kind, root["srv"].layer_index) == (Kind.FILE, 2)  # a file hides the directory below
    assert (root["lib"].kind, root["lib"].target, root["lib"].layer_index) == (Kind.SYMLINK, "usr/lib", 3)


def test_whiteouts_and_changes_in_a_directory(stack: list[str]) -> None:
    etc = by_name(layerview.list_dir(stack, "/etc", upper=True))
    assert sorted(etc) == ["group", "hosts", "newfile", "old", "passwd"]
    assert etc["passwd"].change is Change.CHANGED and etc["passwd"].layer_index == 0
    assert etc["newfile"].change is Change.ADDED
    assert etc["old"].whiteout and etc["old"].change is Change.DELETED
    assert etc["hosts"].layer_index == 1 and etc["hosts"].change is None
    # an image layer's own whiteout is shown as one, but is not the container's change
    assert etc["group"].whiteout and etc["group"].layer_index == 2 and etc["group"].change is None
    bin_ = by_name(layerview.list_dir(stack, "bin", upper=True))
    assert (bin_["sh"].layer_index, bin_["sh"].size) == (2, 3)
    assert bin_["ls"].whiteout and bin_["ls"].change is Change.DELETED


def test_opaque_directories_hide_the_layers_below(stack: list[str]) -> None:
    opt = by_name(layerview.list_dir(stack, "opt", upper=True))
    assert opt["y"].visible and opt["y"].layer_index == 2
    assert opt["stuff"].hidden and opt["stuff"].layer_index == 3 and opt["stuff"].change is None
    data = by_name(layerview.list_dir(stack, "data", upper=True))
    assert data["fresh"].change is Change.ADDED
    assert data["keep"].hidden and data["keep"].change is Change.DELETED  # the container's opaque dir deleted it
    for gone in ("opt/stuff", "etc/old", "srv", "new2", "nothing"):
        assert not layerview.is_dir(stack, gone)
        with pytest.raises(NotFound):
            layerview.list_dir(stack, gone)


def test_image_layers_alone_have_no_changes(stack: list[str]) -> None:
    image = stack[2:]
    root = by_name(layerview.list_dir(image, ""))
    assert all(e.change is None for e in root.values())
    assert sorted(root) == ["bin", "data", "etc", "lib", "new2", "opt", "srv"]
    assert root["new2"].visible and root["new2"].layer_index == 0


def test_the_changes_agree_with_diff(stack: list[str]) -> None:
    seen: set[tuple[str, str]] = set()

    def walk(rel: str) -> None:
        for e in layerview.list_dir(stack, rel, upper=True):
            path = f"{rel}/{e.name}"
            if e.change is not None:
                seen.add((e.change.value, path))
            if e.kind is Kind.DIR and e.visible:
                walk(path)

    walk("")
    assert seen == {(c.kind, c.path) for c in changes.changes(stack[0], stack[1:])}


def test_read_head_reads_regular_files_only(stack: list[str], tmp_path: Path) -> None:
    data, size = layerview.read_head(os.path.join(stack[0], "etc", "passwd"), limit=4)
    assert (data, size) == (b"root", 52)
    os.mkfifo(tmp_path / "fifo")
    for path in (tmp_path / "fifo", Path(stack[3]) / "lib", tmp_path / "missing"):
        with pytest.raises(NotFound):
            layerview.read_head(str(path))  # neither blocks on a fifo nor follows a symlink


def test_dotdot_is_refused(stack: list[str]) -> None:
    with pytest.raises(NotFound):
        layerview.list_dir(stack, "etc/../..")
