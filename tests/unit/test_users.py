"""``-u user[:group]`` resolved against a container's own /etc/passwd and /etc/group."""

from __future__ import annotations

import pytest

from runtime.errors import InvalidArgument
from runtime.users import ExecUser, resolve

PASSWD = """\
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
# a comment line
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin

alice:x:1000:1000:Alice,,,:/home/alice:/bin/bash
nohome:x:1001:100:::/bin/sh
ali:x:1002:1002::/home/ali:/bin/sh
broken:x:7
"""

GROUP = """\
root:x:0:
daemon:x:1:
wheel:x:10:root,alice
users:x:100:
audio:x:29:alice,bob
alice:x:1000:alice
nogroup:x:65534:
"""


def test_empty_spec_is_root_with_roots_home() -> None:
    assert resolve("", PASSWD, GROUP) == ExecUser(0, 0, (10,), "/root")


def test_name() -> None:
    assert resolve("alice", PASSWD, GROUP) == ExecUser(1000, 1000, (10, 29), "/home/alice")


def test_group_membership_is_by_whole_name() -> None:
    # "ali" is a prefix of "alice", who is in wheel and audio; ali is in neither.
    assert resolve("ali", PASSWD, GROUP).groups == ()


def test_uid_in_passwd_is_that_user() -> None:
    assert resolve("1000", PASSWD, GROUP) == ExecUser(1000, 1000, (10, 29), "/home/alice")


def test_name_and_group_name() -> None:
    u = resolve("alice:users", PASSWD, GROUP)
    assert (u.uid, u.gid, u.home) == (1000, 100, "/home/alice")
    assert u.groups == ()  # an explicit group replaces the supplementary ones, as in docker


def test_uid_and_gid() -> None:
    assert resolve("1000:29", PASSWD, GROUP) == ExecUser(1000, 29, (), "/home/alice")


def test_numeric_group_not_in_group_file() -> None:
    assert resolve("nobody:4242", PASSWD, GROUP).gid == 4242


def test_numeric_uid_and_gid_not_in_any_file() -> None:
    assert resolve("4242:4343", PASSWD, GROUP) == ExecUser(4242, 4343, (), "/")


def test_numeric_uid_not_in_passwd_keeps_uid() -> None:
    u = resolve("4242", PASSWD, GROUP)
    assert (u.uid, u.groups, u.home) == (4242, (), "/")


def test_numeric_uid_not_in_passwd_keeps_the_default_gid() -> None:
    assert resolve("4242", PASSWD, GROUP).gid == 0
    assert resolve("4242", PASSWD, GROUP, default_uid=0, default_gid=7).gid == 7


def test_empty_home_field_becomes_root_dir() -> None:
    assert resolve("nohome", PASSWD, GROUP).home == "/"


def test_defaults_apply_without_a_spec() -> None:
    u = resolve("", PASSWD, GROUP, default_uid=1, default_gid=1)
    assert (u.uid, u.gid, u.home) == (1, 1, "/usr/sbin")


def test_unknown_name_is_an_error_naming_it() -> None:
    with pytest.raises(InvalidArgument, match="unable to find user mallory"):
        resolve("mallory", PASSWD, GROUP)


def test_unknown_group_name_is_an_error_naming_it() -> None:
    with pytest.raises(InvalidArgument, match="unable to find group staff"):
        resolve("alice:staff", PASSWD, GROUP)


def test_short_passwd_lines_are_ignored() -> None:
    with pytest.raises(InvalidArgument):
        resolve("broken", PASSWD, GROUP)


def test_works_without_passwd_and_group_files() -> None:
    assert resolve("", "", "") == ExecUser(0, 0, (), "/")
    assert resolve("1000:1000", "", "") == ExecUser(1000, 1000, (), "/")
    with pytest.raises(InvalidArgument):
        resolve("alice", "", "")
