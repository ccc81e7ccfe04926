"""What the Namespaces and Filesystem tabs write for given values: labels, previews, host marks."""

from __future__ import annotations

from runtime.engine.layerview import Change, Entry, Kind, Layer
from runtime.engine.nsview import NsRow
from tuidock.tui.tabs.filesystem import entry_label, is_binary, preview
from tuidock.tui.tabs.namespaces import HOST_STYLE, row_cells

LAYERS = [Layer("upper", "upper", "/u"), Layer("init", "init", "/i"), Layer("image", "L1 3c4d76e9", "/l1")]


def test_entry_labels_name_the_layer_and_the_marks() -> None:
    assert str(entry_label(Entry("etc", Kind.DIR, 0, 0, "/u/etc", change=Change.CHANGED), LAYERS)) == \
        "etc/  upper changed"
    assert str(entry_label(Entry("sh", Kind.SYMLINK, 7, 2, "/l1/bin/sh", target="busybox"), LAYERS)) == \
        "sh -> busybox  L1 3c4d76e9"
    gone = entry_label(Entry("group", Kind.WHITEOUT, 0, 0, "/u/etc/group", whiteout=True, change=Change.DELETED),
                       LAYERS)
    assert str(gone) == "group  upper deleted whiteout"
    assert "strike" in str(gone.spans[0].style)
    hidden = Entry("x", Kind.FILE, 1, 2, "/l1/opt/x", hidden=True)
    assert str(entry_label(hidden, LAYERS)) == "x  L1 3c4d76e9 hidden by an opaque directory"
    assert "opaque" in str(entry_label(Entry("opt", Kind.DIR, 0, 1, "/i/opt", opaque=True), LAYERS))


def test_previews_tell_text_from_binary() -> None:
    assert not is_binary("héllo\n".encode())
    assert not is_binary("é".encode()[:1])  # a character cut by the 64 KiB limit is still text
    assert is_binary(b"\x7fELF\x02\x01\x01\0\0") and is_binary(b"\xff\xfe\xfa")
    p = preview(b"hello\n", 6)
    assert (p.binary, p.text) == (False, "hello\n") and "6 bytes" in p.summary
    assert "the first" in preview(b"a" * 10, 100).summary
    b = preview(bytes(range(20)), 20)
    assert b.binary and b.text.splitlines()[0].startswith("00000000  00 01 02 03")
    assert b.text.splitlines()[1].startswith("00000010  10 11 12 13")


def test_the_hosts_namespaces_stand_out() -> None:
    mine = row_cells(NsRow("pid", "pid:[4026532302]", 4026532302, False, ()))
    hosts = row_cells(NsRow("net", "net:[4026531840]", 4026531840, True, ("web", "db")))
    assert [str(c) for c in mine] == ["pid", "pid:[4026532302]", "4026532302", "separate", "-"]
    assert [str(c) for c in hosts] == ["net", "net:[4026531840]", "4026531840", " host's own ", "web, db"]
    assert hosts[3].style == HOST_STYLE and "yellow" in str(hosts[0].style)
