"""/proc readers against fake trees: stat with awkward command names, mountinfo escapes, namespace links."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runtime import mountinfo, procfs

from .procfake import add_process, stat_line

MOUNTINFO = r"""36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
26 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro
612 26 0:55 / /mnt/my\040disk ro,nosuid,nodev shared:300 master:12 - fuse.sshfs user@host:/home/a\040b rw,user_id=0
613 26 0:56 / /mnt/back\134slash\011tab rw - tmpfs tmpfs rw,size=1024k
700 26 0:57 / /run/user/1000 rw,nosuid,nodev,relatime - tmpfs tmpfs rw,size=3274428k,mode=700,uid=1000,gid=1000
"""


def test_parse_mountinfo_fields() -> None:
    m = mountinfo.parse_mountinfo(MOUNTINFO)
    assert len(m) == 5
    first = m[0]
    assert (first.mount_id, first.parent_id, first.major_minor) == (36, 35, "98:0")
    assert (first.root, first.mount_point) == ("/mnt1", "/mnt2")
    assert first.options == ("rw", "noatime")
    assert first.optional == ("master:1",)
    assert (first.fstype, first.source) == ("ext3", "/dev/root")
    assert first.super_options == ("rw", "errors=continue")
    assert not first.read_only


def test_parse_mountinfo_unescapes_octal() -> None:
    m = mountinfo.parse_mountinfo(MOUNTINFO)
    assert m[2].mount_point == "/mnt/my disk"
    assert m[2].source == "user@host:/home/a b"
    assert m[2].optional == ("shared:300", "master:12")
    assert m[2].read_only
    assert m[3].mount_point == "/mnt/back\\slash\ttab"


def test_parse_mountinfo_without_optional_fields() -> None:
    m = mountinfo.parse_mountinfo(MOUNTINFO)[4]
    assert m.optional == ()
    assert m.fstype == "tmpfs"
    assert "uid=1000" in m.super_options


def test_parse_mountinfo_skips_blank_lines() -> None:
    assert mountinfo.parse_mountinfo("\n\n") == []


def test_mountinfo_reads_from_the_given_root(tmp_path: Path) -> None:
    (tmp_path / "self").mkdir()
    (tmp_path / "self" / "mountinfo").write_text(MOUNTINFO)
    assert mountinfo.read(proc=str(tmp_path))[1].mount_point == "/"


@pytest.mark.parametrize("comm", ["sh", "my prog", "a) (b", "((x))", ") S 1 2 3 (", "tmux: server"])
def test_read_stat_keeps_the_command_name_whole(tmp_path: Path, comm: str) -> None:
    add_process(tmp_path, 4242, comm, "R", start=987654)
    f = procfs.read_stat(4242, str(tmp_path))
    assert f is not None
    assert f[0] == "4242" and f[1] == comm and f[2] == "R"
    assert len(f) == 52
    assert procfs.start_time(4242, str(tmp_path)) == 987654
    assert procfs.process_state(4242, str(tmp_path)) == "R"


def test_read_stat_of_a_missing_process(tmp_path: Path) -> None:
    assert procfs.read_stat(1, str(tmp_path)) is None
    assert procfs.start_time(1, str(tmp_path)) is None
    assert procfs.process_state(1, str(tmp_path)) is None


def test_is_alive_checks_start_time_and_zombies(tmp_path: Path) -> None:
    add_process(tmp_path, 10, start=500)
    add_process(tmp_path, 11, state="Z", start=500)
    add_process(tmp_path, 12, state="X", start=500)
    p = str(tmp_path)
    assert procfs.is_alive(10, 500, p)
    assert procfs.is_alive(10, None, p)
    assert not procfs.is_alive(10, 501, p)  # the pid was reused by another process
    assert not procfs.is_alive(11, 500, p)
    assert not procfs.is_alive(12, None, p)
    assert not procfs.is_alive(13, None, p)
    assert not procfs.is_alive(0, None, p)
    assert not procfs.is_alive(-1, None, p)


def test_stat_line_helper_matches_the_kernel_layout() -> None:
    assert stat_line(1, "init", start=7).split()[21] == "7"


@pytest.mark.parametrize("link, inode", [
    ("pid:[4026531836]", 4026531836),
    ("net:[4026532281]", 4026532281),
    ("mnt:[1]", 1),
])
def test_ns_inode(link: str, inode: int) -> None:
    assert procfs.ns_inode(link) == inode


def test_ns_links_read_fake_symlinks(tmp_path: Path) -> None:
    ns = tmp_path / "77" / "ns"
    ns.mkdir(parents=True)
    os.symlink("net:[4026532281]", ns / "net")
    os.symlink("pid:[4026531836]", ns / "pid")
    assert procfs.ns_link(77, "net", str(tmp_path)) == "net:[4026532281]"
    assert procfs.ns_link(77, "uts", str(tmp_path)) is None
    assert procfs.ns_links(77, str(tmp_path)) == {"net": "net:[4026532281]", "pid": "pid:[4026531836]"}


def test_status_and_ns_pids(tmp_path: Path) -> None:
    (tmp_path / "77").mkdir()
    (tmp_path / "77" / "status").write_text("Name:\tsh\nState:\tS (sleeping)\nNSpid:\t77\t1\nUid:\t0\t0\t0\t0\n")
    assert procfs.status_fields(77, str(tmp_path))["State"] == "S (sleeping)"
    assert procfs.ns_pids(77, str(tmp_path)) == [77, 1]
    assert procfs.ns_pids(78, str(tmp_path)) == []


def test_boot_time(tmp_path: Path) -> None:
    (tmp_path / "stat").write_text("cpu  1 2 3 4\nbtime 1700000000\nprocesses 5\n")
    assert procfs.boot_time(str(tmp_path)) == 1700000000.0
    assert procfs.start_time_epoch(procfs.CLK_TCK * 3, str(tmp_path)) == 1700000003.0
