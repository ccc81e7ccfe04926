"""run -it, attach and exec as a person uses them, in a real terminal (tmux)."""

from __future__ import annotations

import time

import pytest

from tests.e2e.tmux import Tmux

pytestmark = pytest.mark.requires("root", "overlay", "busybox", "tmux")


@pytest.fixture
def term(env):
    t = Tmux(env.env)
    yield t
    t.close()


def test_interactive_shell_resize_detach_attach(term, env):
    term.type("tuidock run -it --name box busybox sh")
    term.wait_last_line(r"^/ #\s*$")
    term.type("echo hello-$((40+2))")
    term.wait_for(r"hello-42")
    # The pty was sized to this terminal before the shell started.
    term.type("stty size")
    term.wait_for(r"\n30 100\s")
    # Every resize reaches the container.
    term.resize(120, 40)
    term.clear()
    term.type("stty size")
    term.wait_for(r"\n40 120\s")
    # ctrl-p ctrl-q detaches; the container keeps running.
    term.keys("C-p", "C-q")
    term.wait_last_line(r"^host\$\s*$")
    assert env.engine().get("box").status.value == "running"
    # What the shell printed is in the log.
    logs = env.cli("logs", "box").stdout
    assert "hello-42" in logs
    term.clear()
    term.type("tuidock attach box")
    term.keys("Enter")
    term.wait_last_line(r"^/ #\s*$")
    term.type("echo back-$((1+1))")
    term.wait_for(r"back-2")
    term.type("exit 5")
    term.wait_last_line(r"^host\$\s*$")
    term.type("echo rc=$?")
    term.wait_for(r"rc=5")
    assert env.engine().get("box").status.value == "exited"


def test_custom_detach_keys(term, env):
    term.type("tuidock run -it --detach-keys ctrl-a,d --name keys busybox sh")
    term.wait_last_line(r"^/ #\s*$")
    term.keys("C-p", "C-q")  # not the detach keys here: they reach the shell
    term.type("echo still-here")
    term.wait_for(r"still-here")
    term.keys("C-a", "d")
    term.wait_last_line(r"^host\$\s*$")
    assert env.engine().get("keys").status.value == "running"


def test_two_clients_attached_at_once(env):
    assert env.cli("run", "-dit", "--name", "shared", "busybox", "sh").returncode == 0
    a, b = Tmux(env.env), Tmux(env.env)
    try:
        for t in (a, b):
            t.type("tuidock attach shared")
        # attach shows what comes after it, nothing earlier (as docker's): once a prompt asked for from a
        # shows in b too, both are attached. A loaded machine may take a while to start b's client.
        for _ in range(40):
            a.keys("Enter")
            time.sleep(0.25)
            if "/ #" in b.screen():
                break
        else:
            raise AssertionError(f"b never showed the shell's prompt:\n{b.screen()}")
        a.type("echo from-a-$((6*7))")
        a.wait_for(r"from-a-42")
        b.wait_for(r"from-a-42")  # the other client sees the same terminal
        b.keys("C-p", "C-q")
        b.wait_last_line(r"^host\$\s*$")
        a.type("echo a-still-attached")
        a.wait_for(r"a-still-attached")
    finally:
        a.close()
        b.close()


def test_exec_shell_sees_pid_1_and_returns_the_exit_code(term, env):
    assert env.cli("run", "-d", "--name", "target", "busybox", "sleep", "300").returncode == 0
    term.type("tuidock exec -it target sh")
    term.wait_last_line(r"^/ #\s*$")
    term.type("ps -o pid,comm")
    m = term.wait_for(r"1 sleep")
    assert m
    term.type("stty size")
    term.wait_for(r"\n30 100\s")
    term.type("exit 3")
    term.wait_last_line(r"^host\$\s*$")
    term.type("echo rc=$?")
    term.wait_for(r"rc=3")
