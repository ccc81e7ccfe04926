"""Truth after crashes and races: nothing lost, nothing leaked, the state says what happened."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from runtime import procfs
from tests.conftest import TUIDOCK

pytestmark = pytest.mark.requires("root", "overlay", "busybox")


def status(env, ref: str) -> str:
    return env.cli("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", ref).stdout.strip()


def until(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def test_killing_the_cli_loses_neither_container_nor_log_lines(env):
    p = subprocess.Popen([TUIDOCK, "run", "--name", "survivor", "busybox", "sh", "-c",
                          "for i in $(seq 1 20); do echo line$i; sleep 0.05; done"],
                         env=env.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.stdout is not None
    assert p.stdout.readline() == b"line1\n"
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert status(env, "survivor").startswith("running")
    assert env.cli("wait", "survivor").stdout == "0\n"
    assert env.cli("logs", "survivor").stdout == "".join(f"line{i}\n" for i in range(1, 21))


def test_a_killed_pid_1_is_recorded_by_its_monitor(env):
    env.cli("run", "-d", "--name", "victim", "busybox", "sleep", "60")
    pid = env.engine().get("victim").pid
    os.kill(pid, signal.SIGKILL)
    until(lambda: status(env, "victim") == "exited 137")
    st = env.engine().get("victim").state
    assert st is not None and st.exit_signal == 9 and st.finished_ns > 0


def test_a_killed_monitor_takes_pid_1_with_it_and_shows_as_exited(env):
    env.cli("run", "-d", "--name", "orphan", "busybox", "sleep", "60")
    st = env.engine().get("orphan").state
    assert st is not None
    os.kill(st.monitor_pid, signal.SIGKILL)
    until(lambda: not procfs.is_alive(st.pid, st.pid_start))  # PR_SET_PDEATHSIG
    out = env.cli("ps", "-a", "--format", "{{.Names}} {{.Status}}").stdout
    assert out.startswith("orphan Exited (137)")
    assert "monitor died" in env.cli("inspect", "-f", "{{.State.Error}}", "orphan").stdout
    before = env.cli("inspect", "-f", "{{.State.FinishedAt}}", "orphan").stdout
    assert env.cli("inspect", "-f", "{{.State.FinishedAt}}", "orphan").stdout == before  # recorded once
    assert env.cli("rm", "orphan").returncode == 0
    assert env.leftovers() == []


def test_after_a_simulated_reboot_ps_is_true_and_rm_cleans_up(env):
    names = [f"boot{i}" for i in range(3)]
    for n in names:
        assert env.cli("run", "-d", "--name", n, "busybox", "sleep", "60").returncode == 0
    # A reboot: every monitor and container process gone at once, no chance to record anything.
    victims = []
    for n in names:
        st = env.engine().get(n).state
        assert st is not None
        victims += [st.monitor_pid, st.pid]
    for pid in victims:
        os.kill(pid, signal.SIGKILL)
    until(lambda: not any(procfs.is_alive(p, None) for p in victims))
    rows = env.cli("ps", "-a", "--format", "{{.Names}} {{.State}}").stdout.split("\n")
    assert sorted(r for r in rows if r) == [f"{n} exited" for n in names]
    assert env.cli("rm", *names).returncode == 0
    assert env.leftovers() == [] and env.engine().containers() == []


def test_twenty_racing_runs_for_one_name_leave_one_container(env):
    def go(_: int) -> subprocess.CompletedProcess[str]:
        return env.cli("run", "-d", "--name", "same", "busybox", "sleep", "60")

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(go, range(20)))
    ok = [r for r in results if r.returncode == 0]
    failed = [r for r in results if r.returncode != 0]
    assert len(ok) == 1 and len(failed) == 19
    assert all(r.returncode == 125 and 'container name "/same" is already in use' in r.stderr for r in failed)
    assert [c.name for c in env.engine().containers()] == ["same"]


def test_parallel_runs_with_distinct_names_all_succeed(env):
    with ThreadPoolExecutor(10) as pool:
        results = list(pool.map(lambda i: env.cli("run", "-d", "--name", f"p{i}", "busybox", "sleep", "60"), range(10)))
    assert [r.returncode for r in results] == [0] * 10
    assert sorted(c.name for c in env.engine().containers()) == sorted(f"p{i}" for i in range(10))
    assert all(c.status.value == "running" for c in env.engine().containers())


def test_two_hundred_cycles_leave_nothing_behind(env):
    for i in range(100):
        r = env.cli("run", "--rm", "busybox", "true")
        assert r.returncode == 0, r.stderr
        cid = env.cli("run", "-d", "busybox", "sleep", "60").stdout.strip()
        assert env.cli("rm", "-f", cid).returncode == 0
    assert env.leftovers() == []
    assert os.listdir(env.root / "containers") == [] and os.listdir(env.root / "names") == []
    # No monitor is left: every process of this root but the fork server itself is gone.
    assert not [line for line in env.leftovers() if "tuidock-monitor" in line]
