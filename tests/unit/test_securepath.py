"""Resolving paths inside a container root: symlinks and ``..`` never lead out of it."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime.securepath import fd_path, open_in_root, resolve_in_root


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A container root with hostile symlinks, next to a "host" file it must never reach."""
    (tmp_path / "host-secret").write_text("host")
    r = tmp_path / "root"
    (r / "usr" / "lib").mkdir(parents=True)
    (r / "real").mkdir()
    (r / "real" / "file").write_text("inside")
    (r / "host-secret").write_text("container's own")
    (r / "plain").write_text("not a directory")
    os.symlink("/", r / "etc")  # absolute: restarts at the container root
    os.symlink("../../../..", r / "up")  # relative and climbing: stops at the root
    os.symlink("/real", r / "abs-real")
    os.symlink("/real", r / "usr" / "lib" / "deep-abs")  # absolute from deep down: back to the root
    os.symlink("real/file", r / "rel-file")
    os.symlink("lib", r / "usr" / "lib64")  # relative to its own directory: /usr/lib
    os.symlink("../lib", r / "usr" / "libx")  # /usr/../lib, which this root does not have
    os.symlink("loop-b", r / "loop-a")
    os.symlink("loop-a", r / "loop-b")
    os.symlink("self", r / "self")
    os.symlink("/nonexistent-on-host-too", r / "dangling")
    return r


@pytest.fixture
def root_fd(root: Path) -> Iterator[int]:
    fd = os.open(root, os.O_PATH | os.O_DIRECTORY)
    yield fd
    os.close(fd)


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.parametrize("path, expect", [
    ("/real/file", "real/file"),
    ("real/file", "real/file"),
    ("/etc/real/file", "real/file"),
    ("/etc/etc/etc/host-secret", "host-secret"),
    ("/up/host-secret", "host-secret"),
    ("/../../../host-secret", "host-secret"),
    ("../..", ""),
    ("/", ""),
    ("", ""),
    ("/./real/./file", "real/file"),
    ("/abs-real/file", "real/file"),
    ("/usr/lib/deep-abs/file", "real/file"),
    ("/usr/lib/deep-abs/../host-secret", "host-secret"),
    ("/rel-file", "real/file"),
    ("/real/../real/file", "real/file"),
    ("/usr/lib64", "usr/lib"),
])
def test_resolves_inside_the_root(root: Path, path: str, expect: str) -> None:
    got = resolve_in_root(str(root), path)
    assert got == str(root / expect) if expect else got == str(root)
    assert Path(got).is_relative_to(root)


def test_content_seen_is_the_containers_not_the_hosts(root: Path) -> None:
    assert Path(resolve_in_root(str(root), "/up/host-secret")).read_text() == "container's own"


def test_relative_symlink_to_a_missing_dir_is_not_found(root: Path) -> None:
    # /usr/libx -> ../lib names /lib inside the root, which does not exist (the host's /lib does).
    with pytest.raises(FileNotFoundError):
        resolve_in_root(str(root), "/usr/libx")


def test_dangling_absolute_symlink_does_not_reach_the_host(root: Path) -> None:
    with pytest.raises(FileNotFoundError) as e:
        resolve_in_root(str(root), "/dangling")
    assert "/dangling" in str(e.value)


def test_create_dir_through_an_absolute_symlink(root: Path, root_fd: int) -> None:
    fd = open_in_root(root_fd, "/etc/new/deeper", create="dir")
    try:
        assert os.readlink(fd_path(fd)) == str(root / "new" / "deeper")
    finally:
        os.close(fd)
    assert (root / "new" / "deeper").is_dir()
    assert not Path("/new").exists()


def test_create_dir_follows_a_dangling_symlink_inside_the_root(root: Path, root_fd: int) -> None:
    os.close(open_in_root(root_fd, "/dangling", create="dir"))
    assert (root / "nonexistent-on-host-too").is_dir()


def test_create_file(root: Path, root_fd: int) -> None:
    fd = open_in_root(root_fd, "/etc/a/b/hosts", create="file")
    try:
        assert stat.S_ISREG(os.fstat(fd).st_mode)
    finally:
        os.close(fd)
    assert (root / "a" / "b").is_dir()
    assert (root / "a" / "b" / "hosts").read_text() == ""


def test_create_keeps_existing_files(root: Path, root_fd: int) -> None:
    os.close(open_in_root(root_fd, "/real/file", create="file"))
    assert (root / "real" / "file").read_text() == "inside"
    os.close(open_in_root(root_fd, "/real", create="dir"))
    assert (root / "real" / "file").exists()


def test_create_dir_uses_the_mode(root: Path, root_fd: int) -> None:
    old = os.umask(0)
    try:
        os.close(open_in_root(root_fd, "/m", create="dir", mode=0o700))
    finally:
        os.umask(old)
    assert stat.S_IMODE((root / "m").stat().st_mode) == 0o700


@pytest.mark.parametrize("path", ["/loop-a", "/loop-b/x", "/self"])
def test_symlink_loops_are_eloop(root_fd: int, path: str) -> None:
    with pytest.raises(OSError) as e:
        open_in_root(root_fd, path)
    assert e.value.errno == errno.ELOOP
    with pytest.raises(OSError) as e:
        open_in_root(root_fd, path, create="dir")
    assert e.value.errno == errno.ELOOP


@pytest.mark.parametrize("create", [None, "dir", "file"])
def test_a_file_in_the_middle_is_not_a_directory(root_fd: int, create: str | None) -> None:
    with pytest.raises(NotADirectoryError) as e:
        open_in_root(root_fd, "/plain/x", create=create)
    assert "plain" in str(e.value)


def test_missing_without_create_names_the_path(root_fd: int) -> None:
    with pytest.raises(FileNotFoundError) as e:
        open_in_root(root_fd, "/real/nope/x")
    assert e.value.errno == errno.ENOENT and "/real/nope/x" in str(e.value)


def test_no_descriptor_leaks(root_fd: int) -> None:
    before = open_fds()
    for path, create in [("/loop-a", None), ("/plain/x", None), ("/missing", None), ("/up/up/x", None)]:
        with pytest.raises(OSError):
            open_in_root(root_fd, path, create=create)
    fd = open_in_root(root_fd, "/etc/real/../real/file")
    os.close(fd)
    assert open_fds() == before


def test_symlink_limit_is_the_kernels_forty(tmp_path: Path) -> None:
    r = tmp_path / "chain"
    r.mkdir()
    (r / "end").mkdir()
    os.symlink("end", r / "l0")
    for i in range(1, 41):
        os.symlink(f"l{i - 1}", r / f"l{i}")
    assert resolve_in_root(str(r), "/l39") == str(r / "end")  # 40 links, as path_resolution(7) allows
    with pytest.raises(OSError) as e:
        resolve_in_root(str(r), "/l40")  # 41 links
    assert e.value.errno == errno.ELOOP
