"""`tuidock run` as a user first tries it: output, exit codes, clear errors, nothing left behind."""

from __future__ import annotations

import os

import pytest

pytestmark = pytest.mark.requires("root", "overlay", "busybox")


def test_echo_hello_prints_and_exits_zero(env):
    r = env.cli("run", "--rm", "busybox", "echo", "hello")
    assert (r.returncode, r.stdout) == (0, "hello\n")


def test_exit_code_is_the_commands(env):
    r = env.cli("run", "--rm", "busybox", "sh", "-c", "exit 7")
    assert r.returncode == 7


def test_stdout_and_stderr_stay_apart(env):
    r = env.cli("run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2")
    assert (r.stdout, r.stderr) == ("out\n", "err\n")


def test_missing_command_is_127_with_a_clear_message(env):
    r = env.cli("run", "--rm", "busybox", "nosuchcommand")
    assert r.returncode == 127
    assert r.stderr.count("\n") == 1
    assert 'exec: "nosuchcommand": executable file not found in $PATH' in r.stderr
    assert r.stderr.startswith("tuidock: container ")


def test_non_executable_is_126(env):
    r = env.cli("run", "--rm", "busybox", "/etc/passwd")
    assert r.returncode == 126
    assert "permission denied" in r.stderr


def test_missing_image_is_125_and_names_the_image(env):
    r = env.cli("run", "--rm", "nosuchimage:1.0", "true")
    assert r.returncode == 125
    assert r.stderr.strip() == "tuidock: image nosuchimage:1.0: not found in the store (pull or build it first)"


def test_rm_leaves_nothing_behind(env):
    for args in (["true"], ["sh", "-c", "exit 3"], ["nosuchcommand"]):
        env.cli("run", "--rm", "busybox", *args)
    assert os.listdir(env.root / "containers") == []
    assert os.listdir(env.root / "names") == []
    assert env.leftovers() == []  # no mount, no container cgroup, no process


def test_busybox_image_is_built_locally(env):
    img = env.engine().images.get("busybox")
    assert img.repo_tags == ("docker.io/library/busybox:latest",)
    assert len(img.layers) == 1
    assert img.config.cmd == ("sh",)
    # Applet links, users and the usual directories.
    r = env.cli("run", "--rm", "busybox", "sh", "-c",
                "readlink /bin/ls; grep -c . /etc/passwd; grep ^nogroup: /etc/group >/dev/null || echo no-group; "
                "ls -d /tmp /root /home /var /usr/bin /sbin")
    lines = r.stdout.split()
    assert lines[0] == "/bin/busybox"
    assert int(lines[1]) >= 2
    assert lines[2:] == ["/home", "/root", "/sbin", "/tmp", "/usr/bin", "/var"]


def test_default_command_is_the_images(env):
    r = env.cli("run", "--rm", "-i", "busybox", input="echo from-stdin\n")
    assert (r.returncode, r.stdout) == (0, "from-stdin\n")


def test_first_command_on_a_fresh_root_builds_busybox_with_one_notice(tmp_path):
    from tests.conftest import make_env, teardown_env

    e = make_env(tmp_path)
    try:
        first = e.cli("run", "--rm", "busybox", "true")
        second = e.cli("run", "--rm", "busybox", "true")
        assert first.returncode == second.returncode == 0
        assert first.stderr.count("\n") == 1 and "built busybox:latest" in first.stderr
        assert second.stderr == ""
    finally:
        assert teardown_env(e) == []
