"""exec joins the container with setns(2); attach reconnects to its main process."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from tests.conftest import TUIDOCK

pytestmark = pytest.mark.requires("root", "overlay", "busybox")


@pytest.fixture
def box(env):
    r = env.cli("run", "-d", "--name", "box", "-e", "FROM_RUN=1", "-w", "/tmp", "busybox", "sleep", "300")
    assert r.returncode == 0, r.stderr
    return env.engine().get("box")


def test_exec_joins_every_namespace_of_pid_1(env, box):
    for ns in ("ipc", "uts", "net", "pid", "cgroup", "mnt"):
        inside = env.cli("exec", "box", "readlink", f"/proc/self/ns/{ns}").stdout.strip()
        assert inside == os.readlink(f"/proc/{box.pid}/ns/{ns}"), ns
        assert inside != os.readlink(f"/proc/self/ns/{ns}"), ns


def test_exec_sees_the_containers_processes_with_their_pids(env, box):
    out = env.cli("exec", "box", "sh", "-c", "echo $$; ps -o pid,comm; true").stdout.split("\n")
    assert int(out[0]) > 1
    rows = [line.split() for line in out[2:] if line.strip()]
    assert ["1", "sleep"] in rows and all(int(pid) < 10 for pid, _ in rows)


def test_exec_environment_user_and_workdir(env, box):
    r = env.cli("exec", "-e", "EXTRA=2", "box", "sh", "-c", 'echo "$FROM_RUN $EXTRA $HOSTNAME"; pwd; id -u')
    assert r.stdout.split("\n")[:3] == [f"1 2 {box.record.config.hostname}", "/tmp", "0"]
    assert env.cli("exec", "-u", "nobody", "-w", "/", "box", "sh", "-c", "id -un; pwd").stdout == "nobody\n/\n"


def test_exec_exit_codes(env, box):
    assert env.cli("exec", "box", "sh", "-c", "exit 3").returncode == 3
    r = env.cli("exec", "box", "nosuchcommand")
    assert r.returncode == 127 and 'exec: "nosuchcommand": executable file not found in $PATH' in r.stderr
    r = env.cli("exec", "box", "/etc/passwd")
    assert r.returncode == 126 and "permission denied" in r.stderr
    r = env.cli("exec", "box", "sh", "-c", "kill -9 $$")
    assert r.returncode == 137


def test_exec_has_the_containers_hardening(env, box):
    own = env.cli("exec", "box", "sh", "-c", "ls /proc/$$/fd; grep -E '^Cap(Eff|Bnd)' /proc/$$/status; "
                                             "wc -c < /proc/timer_list 2>/dev/null || echo 0").stdout.split()
    assert own[:3] == ["0", "1", "2"]  # nothing of the host's descriptors
    pid1 = open(f"/proc/{box.pid}/status").read()
    for key in ("CapEff:", "CapBnd:"):
        assert own[own.index(key) + 1] == pid1.split(key)[1].split()[0]
    assert own[-1] == "0"  # masked, as for PID 1


def test_exec_stdin_and_a_detached_exec(env, box):
    assert env.cli("exec", "-i", "box", "cat", input="piped in\n").stdout == "piped in\n"
    assert env.cli("exec", "-d", "box", "sleep", "120").returncode == 0
    time.sleep(0.3)
    top = env.cli("top", "box").stdout.splitlines()[1:]
    sleeps = [line.split() for line in top if line.split()[-2:] == ["sleep", "120"]]
    assert len(sleeps) == 1
    host_pid, container_pid = int(sleeps[0][1]), int(sleeps[0][2])
    assert host_pid != container_pid and container_pid > 1


def test_exec_into_stopped_or_paused_containers_fails_clearly(env, box):
    env.cli("pause", "box")
    r = env.cli("exec", "box", "true")
    assert r.returncode == 125 and "cannot exec in a paused container" in r.stderr
    env.cli("unpause", "box")
    env.cli("stop", "-t", "0", "box")
    r = env.cli("exec", "box", "true")
    assert r.returncode == 125 and r.stderr.strip().endswith("cannot exec while exited")
    r = env.cli("exec", "nosuch", "true")
    assert r.returncode == 125 and "no such container: nosuch" in r.stderr


def test_attach_reconnects_and_shares_output(env):
    assert env.cli("run", "-d", "-i", "--name", "talk", "busybox", "sh", "-c",
                   "while read line; do echo got:$line; done").returncode == 0
    p = subprocess.Popen([TUIDOCK, "attach", "talk"], env=env.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         text=True)
    watcher = subprocess.Popen([TUIDOCK, "attach", "--no-stdin", "talk"], env=env.env, stdout=subprocess.PIPE,
                               text=True)
    time.sleep(0.5)
    assert p.stdin is not None and p.stdout is not None and watcher.stdout is not None
    p.stdin.write("hello\n")
    p.stdin.flush()
    assert p.stdout.readline() == "got:hello\n"
    assert watcher.stdout.readline() == "got:hello\n"  # a second client sees the same output
    p.stdin.close()  # the attached stdin ends: the container's stdin ends too
    assert p.wait(10) == 0 and watcher.wait(10) == 0
    assert env.cli("logs", "talk").stdout == "got:hello\n"


def test_attach_to_a_stopped_container_is_refused(env):
    env.cli("run", "--name", "done", "busybox", "true")
    r = env.cli("attach", "done")
    assert r.returncode == 125 and "cannot attach to a container that is exited" in r.stderr
