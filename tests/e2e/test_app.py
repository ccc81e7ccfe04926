"""The installed ``tuidock`` app in a real terminal (tmux), used like a person: keys in, screen read back."""

from __future__ import annotations

import pytest

from tests.e2e.tmux import Tmux

pytestmark = pytest.mark.requires("root", "overlay", "busybox", "tmux")


@pytest.fixture
def term(env):
    t = Tmux(env.env, width=150, height=45)
    yield t
    t.close()


def status(env, name: str) -> str:
    return env.cli("inspect", "-f", "{{.State.Status}}", name).stdout.strip()


def test_create_through_the_dialog_exec_stop_and_delete(term, env):
    term.type("tuidock")
    term.wait_for(r"NAME\s+IMAGE\s+STATUS\s+CPU %")
    # n: the run dialog; the name field has the focus.
    term.keys("n")
    term.wait_for(r"New container")
    term.wait_for(r"Image \S+\s+busybox:latest")  # the image list has loaded
    # The name, Enter (a carriage return: to the next field) and the command in one send-keys, so the terminal
    # delivers them in one burst: what follows Enter goes to the command field, as for a fast typist.
    term.type("e2e-web\rsh -c 'echo from-the-dialog; while true; do sleep 1; done'", enter=False)
    term.wait_for(r"Name \S+\s+e2e-web ")
    term.wait_for(r"\$ tuidock run --name e2e-web busybox:latest sh -c 'echo from-the-dialog;")
    term.wait_for(r"sleep 1; done'")  # the equivalent command line has the whole command
    term.keys("C-r")
    # Running, with stats from its cgroup (memory in KiB or MiB, one or more pids).
    term.wait_for(r"e2e-web\s+busybox\S*\s+Up [^\n]*\d+\.\d+%[^\n]*\d+(\.\d+)?[KM]iB\s+\d", timeout=20)
    assert status(env, "e2e-web") == "running"
    # e: a shell in the container, on this terminal; the app comes back after exit.
    term.keys("e")
    term.wait_last_line(r"/ #\s*$", timeout=20)
    term.type("echo inside-$((6*7)) $(hostname)")
    term.wait_for(r"inside-42 [0-9a-f]{12}")
    term.type("exit")
    term.wait_for(r"NAME\s+IMAGE\s+STATUS", timeout=20)
    # x stops it, d deletes it after the confirmation.
    term.keys("x")
    term.wait_for(r"e2e-web\s+busybox\S*\s+Exited \(\d+\)", timeout=30)
    term.keys("d")
    term.wait_for(r"Delete container e2e-web")
    term.keys("y")
    term.wait_for(r" 0 containers, 0 running", timeout=20)
    assert env.cli("inspect", "e2e-web").returncode != 0
    term.keys("q")
    term.wait_last_line(r"^host\$\s*$")
