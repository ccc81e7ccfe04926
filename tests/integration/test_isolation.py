"""What the seed notes teach, checked from inside a real container.

PID namespace: the command is PID 1 and sees only its own processes. UTS: its
own hostname. Mount namespace: its root is the overlay, the host's mount
table never shows it. Hardening as docker and podman do it: a default
capability set, masked and read-only paths, no descriptor or path of the host.
"""

from __future__ import annotations

import os
import re
import time

import pytest

from runtime import capabilities

pytestmark = pytest.mark.requires("root", "overlay", "busybox")


def run(env, script: str, *flags: str) -> str:
    r = env.cli("run", "--rm", *flags, "busybox", "sh", "-c", script)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_the_command_is_pid_1(env):
    assert run(env, "echo $$") == "1\n"


def test_ps_shows_only_the_containers_processes(env):
    out = run(env, "sleep 30 & ps -o pid,comm; true")
    rows = [line.split() for line in out.strip().splitlines()[1:]]
    assert len(rows) == 3  # sh, its background child, ps: nothing of the host
    assert rows[0] == ["1", "sh"] and rows[-1][1] == "ps"
    assert all(int(pid) < 10 for pid, _ in rows)


def test_hostname_is_the_containers(env):
    out = run(env, "hostname; cat /etc/hostname", "--hostname", "box1")
    assert out == "box1\nbox1\n"
    short = run(env, "hostname").strip()
    assert re.fullmatch(r"[0-9a-f]{12}", short)
    assert short != os.uname().nodename


def test_default_capabilities_are_podmans_eleven(env):
    out = run(env, "grep -E '^Cap(Prm|Eff|Bnd|Inh|Amb)' /proc/1/status")
    caps = dict(line.split(":\t") for line in out.strip().splitlines())
    want = f"{capabilities.mask(capabilities.DEFAULT):016x}"
    assert caps["CapEff"] == caps["CapPrm"] == caps["CapBnd"] == want
    assert caps["CapInh"] == caps["CapAmb"] == "0" * 16


def test_proc_sys_and_sys_are_read_only(env):
    out = run(env, "echo x > /proc/sys/kernel/domainname; echo rc=$?; "
                   "echo 1 > /sys/kernel/mm/ksm/run; echo rc=$?; "
                   "grep -E ' /proc/(sys|sysrq-trigger|bus|fs|irq) ' /proc/self/mountinfo | grep -c ' ro,'")
    lines = out.strip().splitlines()
    assert lines[0] == "rc=1" and lines[1] == "rc=1"
    present = [p for p in ("/proc/sys", "/proc/sysrq-trigger", "/proc/bus", "/proc/fs", "/proc/irq") if os.path.exists(p)]
    assert int(lines[2]) == len(present)


def test_masked_paths_read_empty(env):
    files = [p for p in ("/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug") if os.path.isfile(p)]
    assert files, "this kernel has none of the usual masked files"
    out = run(env, " ".join(f"wc -c < {p};" for p in files) + " ls -A /sys/firmware | wc -l")
    sizes = [int(x) for x in out.split()]
    assert sizes == [0] * (len(files) + 1)


def test_only_fds_0_1_2_reach_the_container(env):
    out = run(env, "ls /proc/1/fd; true")
    assert out.split() == ["0", "1", "2"]


def test_host_paths_and_interpreter_are_unreachable(env):
    import sys

    out = run(env, f"readlink /proc/1/exe; test -e {sys.executable} && echo python-visible; "
                   f"test -e {env.root} && echo root-visible; grep -c . /proc/self/mountinfo")
    lines = out.strip().splitlines()
    assert lines[0] == "/bin/busybox"
    assert "python-visible" not in lines and "root-visible" not in lines


def test_root_is_an_overlay_and_the_host_never_sees_it(env):
    r = env.cli("run", "-d", "busybox", "sleep", "30")
    cid = r.stdout.strip()
    assert r.returncode == 0, r.stderr
    with open("/proc/self/mountinfo") as f:
        host = f.read()
    assert cid not in host
    pid = env.engine().get(cid).pid
    with open(f"/proc/{pid}/mountinfo") as f:
        inside = f.read().splitlines()
    root_line = next(line for line in inside if line.split()[4] == "/")
    assert " - overlay overlay " in root_line
    assert f"containers/{cid}/upper" in root_line and f"containers/{cid}/init" in root_line


def test_namespaces_differ_from_the_hosts(env):
    r = env.cli("run", "-d", "busybox", "sleep", "30")
    cid = r.stdout.strip()
    pid = env.engine().get(cid).pid
    for ns in ("mnt", "uts", "ipc", "net", "pid", "cgroup"):
        assert os.readlink(f"/proc/{pid}/ns/{ns}") != os.readlink(f"/proc/self/ns/{ns}"), ns
    assert os.readlink(f"/proc/{pid}/ns/user") == os.readlink("/proc/self/ns/user")


def test_network_namespace_has_only_loopback_up(env):
    out = run(env, "ls /sys/class/net; cat /sys/class/net/lo/operstate /sys/class/net/lo/flags", "--network", "none")
    assert out.split()[0] == "lo" and out.split()[1] in ("unknown", "up")
    assert int(out.split()[2], 16) & 1  # IFF_UP


def test_cgroup_namespace_and_the_containers_cgroup(env):
    r = env.cli("run", "-d", "busybox", "sleep", "30")
    cid = r.stdout.strip()
    pid = env.engine().get(cid).pid
    inside = run(env, "cat /proc/self/cgroup")
    assert all(line.endswith(":/") for line in inside.strip().splitlines())
    dirs = env.cgroup_dirs(cid)
    assert dirs
    for d in dirs:
        with open(os.path.join(d, "cgroup.procs")) as f:
            assert str(pid) in f.read().split()
    out = run(env, "grep ' /sys/fs/cgroup' /proc/self/mountinfo | grep -vc ' ro,' || true")
    assert out.strip() == "0"


def test_dev_has_only_the_usual_nodes(env):
    out = run(env, "ls /dev")
    want = {"fd", "full", "mqueue", "null", "ptmx", "pts", "random", "shm", "stderr", "stdin", "stdout", "tty",
            "urandom", "zero"}
    if os.path.exists("/proc/kcore"):
        want.add("core")
    assert set(out.split()) == want


def test_output_is_logged_with_timestamps(env):
    r = env.cli("run", "--name", "logged", "busybox", "sh", "-c", "echo one; echo two >&2")
    assert r.returncode == 0
    cid = env.engine().resolve("logged")
    log = (env.root / "containers" / cid / "ctr.log").read_text().splitlines()
    assert [line.split(" ", 3)[1:] for line in log] in (
        [["stdout", "F", "one"], ["stderr", "F", "two"]], [["stderr", "F", "two"], ["stdout", "F", "one"]])
    assert all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z ", line) for line in log)


def test_a_detached_container_outlives_the_command(env):
    r = env.cli("run", "-d", "--name", "outlives", "busybox", "sleep", "30")
    assert r.returncode == 0
    time.sleep(0.2)
    info = env.engine().get("outlives")
    assert info.status.value == "running" and info.pid > 0
    os.kill(info.pid, 0)
