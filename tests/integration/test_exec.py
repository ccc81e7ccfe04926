"""exec joins the container with setns(2); attach reconnects to its main process."""

from __future__ import annotations

import os
import select
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

    def sleeps() -> list[list[str]]:
        top = env.cli("top", "box").stdout.splitlines()[1:]
        return [line.split() for line in top if line.split()[-2:] == ["sleep", "120"]]

    deadline = time.monotonic() + 10  # exec -d returns once the process is started, maybe before its execve
    while not sleeps() and time.monotonic() < deadline:
        time.sleep(0.05)
    found = sleeps()
    assert len(found) == 1, found
    host_pid, container_pid = int(found[0][1]), int(found[0][2])
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


class Output:
    """What a client process has printed so far, read without blocking past a deadline."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        self.fd, self.seen = proc.stdout.fileno(), b""

    def has(self, text: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while text.encode() not in self.seen:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                return False
            chunk = os.read(self.fd, 4096)
            if not chunk:
                return False
            self.seen += chunk
        return True


def test_attach_reconnects_and_shares_output(env):
    assert env.cli("run", "-d", "-i", "--name", "talk", "busybox", "sh", "-c",
                   "while read line; do echo got:$line; done").returncode == 0
    p = subprocess.Popen([TUIDOCK, "attach", "talk"], env=env.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    watcher = subprocess.Popen([TUIDOCK, "attach", "--no-stdin", "talk"], env=env.env, stdout=subprocess.PIPE)
    assert p.stdin is not None
    said, seen = Output(p), Output(watcher)

    def say(line: str) -> None:
        assert p.stdin is not None
        p.stdin.write(f"{line}\n".encode())
        p.stdin.flush()

    try:
        # attach shows what comes after it, nothing earlier (as docker's): say lines until the watcher shows
        # one, and both clients are attached (a loaded machine may take a while to start the second).
        for i in range(40):
            say(f"ping{i}")
            assert said.has(f"got:ping{i}\n", 10), said.seen
            if seen.has(f"got:ping{i}\n", 0.25):
                break
        else:
            raise AssertionError(f"the watcher never showed the output: {seen.seen!r}")
        say("hello")
        assert said.has("got:hello\n", 10) and seen.has("got:hello\n", 10)  # both clients see the same output
        p.stdin.close()  # the attached stdin ends: the container's stdin ends too
        assert p.wait(10) == 0 and watcher.wait(10) == 0
    finally:
        for proc in (p, watcher):
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
    assert env.cli("logs", "talk").stdout.endswith("got:hello\n")


def test_attach_to_a_stopped_container_is_refused(env):
    env.cli("run", "--name", "done", "busybox", "true")
    r = env.cli("attach", "done")
    assert r.returncode == 125 and "cannot attach to a container that is exited" in r.stderr
