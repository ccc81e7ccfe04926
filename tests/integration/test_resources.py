"""Resource limits and stats on the real kernel: OOM kills, the pids limit, CPU quotas, update, stats.

These run on cgroup v1 (this machine); those marked ``cgroup2_vm`` (what
differs between the versions) also run on cgroup v2 inside
``../shared/tools/cgroup2-vm``, as ``.ci/run`` does. Every test passes on both;
kernel files are read through :func:`cg_file`, which knows where each version
keeps them. CPU shares are measured from the kernel's own CPU time
(``cpuacct.usage``, ``cpu.stat`` usage_usec) and allow a wide band: the
machine is shared, and the VM emulates its CPUs.
"""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import time

import pytest

from runtime import cgroups
from tests.conftest import TUIDOCK

pytestmark = pytest.mark.requires("root", "overlay", "busybox")
# What differs between the cgroup versions; .ci/run runs these inside cgroup2-vm as well.
v2_too = pytest.mark.cgroup2_vm

MB = 1 << 20


def run_d(env, *args: str) -> str:
    # No network: limits and stats do not depend on it, and a bridge per container costs time.
    r = env.cli("run", "-d", "--network", "none", *args)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def inspect(env, ref: str) -> dict:
    r = env.cli("inspect", ref)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)[0]


def cg_file(env, cid: str, v1: tuple[str, str], v2: str) -> str:
    """A container's cgroup file: ``v1`` is (controller, file), ``v2`` the unified file's name."""
    lay = cgroups.layout()
    path = f"{env.cgroup_parent}/{cid}"
    if lay.version == 2:
        assert lay.unified
        return f"{lay.unified}{path}/{v2}"
    return f"{lay.v1[v1[0]]}{path}/{v1[1]}"


def read(path: str) -> str:
    with open(path) as f:
        return f.read().strip()


def cpu_usage_s(env, cid: str) -> float:
    """Seconds of CPU the container has used, straight from the kernel."""
    if cgroups.layout().version == 2:
        for line in read(cg_file(env, cid, ("cpu", ""), "cpu.stat")).splitlines():
            key, _, value = line.partition(" ")
            if key == "usage_usec":
                return int(value) / 1e6
        raise AssertionError("cpu.stat has no usage_usec")
    return int(read(cg_file(env, cid, ("cpuacct", "cpuacct.usage"), ""))) / 1e9


def share_of_one_cpu(env, cid: str, seconds: float = 2.0) -> float:
    before, t0 = cpu_usage_s(env, cid), time.monotonic()
    time.sleep(seconds)
    after, t1 = cpu_usage_s(env, cid), time.monotonic()
    return (after - before) / (t1 - t0)


BUSY = ("sh", "-c", "while :; do :; done")


# ---- limits -------------------------------------------------------------------------


@v2_too
def test_over_the_memory_limit_the_oom_killer_kills_and_inspect_says_so(env):
    # busybox tail keeps the whole "last line" of /dev/zero (no newline ever) in memory.
    r = env.cli("run", "--network", "none", "--name", "hog", "-m", "16m", "busybox", "tail", "/dev/zero", timeout=120)
    assert r.returncode == 137, r.stderr
    st = inspect(env, "hog")["State"]
    assert (st["OOMKilled"], st["ExitCode"], st["Status"]) == (True, 137, "exited")
    assert env.cli("ps", "-a", "--filter", "name=hog", "--format", "{{.Status}}").stdout.startswith("Exited (137)")


@v2_too
def test_a_fork_bomb_stops_at_the_pids_limit(env):
    cid = run_d(env, "--pids-limit", "20", "--cpus", "0.5", "busybox",
                "sh", "-c", "bomb() { bomb | bomb & }; bomb; sleep 1000")
    current = cg_file(env, cid, ("pids", "pids.current"), "pids.current")
    deadline, peak = time.monotonic() + 2, 0
    while time.monotonic() < deadline:
        peak = max(peak, int(read(current)))
        time.sleep(0.02)
    assert 0 < peak <= 20
    assert read(cg_file(env, cid, ("pids", "pids.max"), "pids.max")) == "20"
    events = dict(line.split() for line in read(cg_file(env, cid, ("pids", "pids.events"), "pids.events")).splitlines())
    assert int(events["max"]) > 0, "no fork was refused"
    # The host is fine: it still forks, and the container goes away on rm -f.
    assert subprocess.run(["true"]).returncode == 0
    assert env.cli("rm", "-f", cid).returncode == 0
    assert not os.path.exists(os.path.dirname(current))


@v2_too
def test_a_busy_loop_under_cpus_half_uses_about_half_a_cpu(env):
    cid = run_d(env, "--cpus", "0.5", "busybox", *BUSY)
    assert read(cg_file(env, cid, ("cpu", "cpu.cfs_quota_us"), "cpu.max")) in ("50000", "50000 100000")
    share = share_of_one_cpu(env, cid)
    assert 0.30 <= share <= 0.70, f"used {share:.0%} of a CPU"
    h = inspect(env, cid)["HostConfig"]
    assert (h["NanoCpus"], h["CpuQuota"], h["CpuPeriod"]) == (500_000_000, 0, 0)


@v2_too
def test_period_100000_and_quota_20000_is_a_fifth_of_a_cpu(env):
    cid = run_d(env, "--cpu-period", "100000", "--cpu-quota", "20000", "busybox", *BUSY)
    share = share_of_one_cpu(env, cid)
    assert 0.10 <= share <= 0.30, f"used {share:.0%} of a CPU"
    # The kernel throttled it, and stats say so.
    [s] = env.engine().stats([cid])
    assert s.cpu.limit_cpus == pytest.approx(0.2)
    assert s.cpu.throttled_periods > 0 and s.cpu.throttled_ns > 0
    assert s.cpu.periods >= s.cpu.throttled_periods


def test_bad_limits_are_refused_before_anything_runs(env):
    r = env.cli("run", "--rm", "-m", "1m", "busybox", "true")
    assert r.returncode == 125 and "minimum memory limit allowed is 6MB" in r.stderr
    r = env.cli("run", "--rm", "--cpus", "0.5", "--cpu-quota", "20000", "busybox", "true")
    assert r.returncode == 125 and "Nano CPUs and CPU Quota cannot both be set" in r.stderr
    assert env.cli("ps", "-aq").stdout == ""


@v2_too
def test_update_changes_a_running_containers_memory_and_keeps_it_across_a_restart(env):
    cid = run_d(env, "--name", "upd", "-m", "64m", "busybox", "sleep", "1000")
    limit = cg_file(env, cid, ("memory", "memory.limit_in_bytes"), "memory.max")
    assert read(limit) == str(64 * MB)
    r = env.cli("update", "-m", "128m", "--memory-swap", "256m", "--pids-limit", "30", "upd")
    assert (r.returncode, r.stdout) == (0, "upd\n"), r.stderr
    assert read(limit) == str(128 * MB)  # now, in the running container
    assert read(cg_file(env, cid, ("pids", "pids.max"), "pids.max")) == "30"
    if cgroups.layout().version == 2:
        assert read(cg_file(env, cid, ("", ""), "memory.swap.max")) == str(128 * MB)  # v2 counts swap alone
    else:
        assert read(cg_file(env, cid, ("memory", "memory.memsw.limit_in_bytes"), "")) == str(256 * MB)
    h = inspect(env, "upd")["HostConfig"]
    assert (h["Memory"], h["MemorySwap"], h["PidsLimit"]) == (128 * MB, 256 * MB, 30)
    assert env.cli("restart", "-t", "0", "upd").returncode == 0
    assert read(limit) == str(128 * MB)  # the record kept it


def test_update_refuses_what_docker_refuses(env):
    run_d(env, "--name", "nano", "--cpus", "0.5", "busybox", "sleep", "1000")
    r = env.cli("update", "--cpu-quota", "20000", "nano")
    assert r.returncode == 125
    assert "CPU Quota cannot be updated as NanoCPUs has already been set" in r.stderr
    assert env.cli("update", "nosuch", "-m", "64m").returncode == 125


# ---- stats --------------------------------------------------------------------------


@v2_too
def test_stats_of_a_running_container(env):
    # PID 1 keeps 20 MB in a shell variable, has a child OOM-killed (tail), then waits on a sleeping one.
    script = "x=$(head -c 20000000 /dev/zero | tr '\\0' x); (tail /dev/zero); sleep 1000 & wait"
    cid = run_d(env, "--name", "st", "-m", "64m", "--pids-limit", "40", "busybox", "sh", "-c", script)
    eng = env.engine()
    deadline = time.monotonic() + 60
    while True:
        [s] = eng.stats(["st"])
        if s.memory.oom_kill >= 1 and s.memory.usage > 19_000_000 and s.pids.current == 2:
            break
        assert time.monotonic() < deadline, s
        time.sleep(0.2)
    assert (s.id, s.name) == (cid, "st")
    assert s.memory.limit == 64 * MB and s.memory.limit_set
    assert s.memory.usage <= s.memory.raw_usage
    assert s.memory.anon is not None and s.memory.anon > 19_000_000
    assert s.memory.percent == pytest.approx(s.memory.usage / (64 * MB) * 100)
    assert (s.pids.current, s.pids.limit) == (2, 40)  # sh and sleep
    assert s.cpu.usage_ns > 0 and s.cpu.online_cpus == os.cpu_count()
    assert s.net is not None and [i.name for i in s.net.interfaces] == ["lo"]  # its own namespace, not the host's
    lay = cgroups.layout()
    assert (s.pressure is not None) == (lay.unified is not None)  # PSI needs a v2 tree (hybrid has one)
    if lay.version == 2:
        assert s.memory.oom is not None and s.memory.oom >= 1
    else:
        assert s.memory.oom is None  # v1 counts kills, not OOM events
        assert s.memory.limit_hits > 0


@v2_too
def test_cpu_percent_is_one_core_for_a_busy_loop(env):
    cid = run_d(env, "--cpus", "1", "busybox", *BUSY)
    eng = env.engine()
    [s] = eng.stats([cid], interval=1.0)
    assert s.cpu.percent is not None and 50 <= s.cpu.percent <= 110, s.cpu
    assert s.cpu.limit_cpus == pytest.approx(1.0)


def test_network_counters_come_from_the_containers_namespace(env):
    # Traffic on the container's own loopback (busybox serving itself a copy of busybox):
    # a fresh namespace counts only that.
    script = ("httpd -p 127.0.0.1:8080 -h /bin; sleep 0.2; wget -q -O /dev/null http://127.0.0.1:8080/busybox; "
              "sleep 1000")
    cid = run_d(env, "busybox", "sh", "-c", script)
    size = os.path.getsize("/bin/busybox")  # the image's busybox is the host's
    deadline = time.monotonic() + 30
    while True:
        [s] = env.engine().stats([cid])
        assert s.net is not None
        lo = {i.name: i for i in s.net.interfaces}["lo"]
        if lo.rx_bytes >= size:
            break
        assert time.monotonic() < deadline, s.net
        time.sleep(0.2)
    assert [i.name for i in s.net.interfaces] == ["lo"]  # its own namespace: the host has more
    assert lo.rx_packets > 0 and lo.tx_bytes == lo.rx_bytes
    assert (s.net.rx_bytes, s.net.tx_bytes) == (0, 0)  # docker leaves loopback out of NET I/O
    assert env.engine().stats([run_d(env, "--network", "host", "busybox", "sleep", "1000")])[0].net is None


def test_stats_no_stream_prints_dockers_table(env):
    run_d(env, "--name", "one", "-m", "32m", "busybox", "sleep", "1000")
    run_d(env, "--name", "two", "busybox", *BUSY)
    r = env.cli("stats", "--no-stream")
    assert r.returncode == 0, r.stderr
    header, *rows = r.stdout.splitlines()
    assert re.split(r"\s{2,}", header) == ["CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %",
                                           "NET I/O", "BLOCK I/O", "PIDS"]
    cells = {re.split(r"\s{2,}", row)[1]: re.split(r"\s{2,}", row) for row in rows}
    assert set(cells) == {"one", "two"}
    assert re.fullmatch(r"[\d.]+[KMG]?i?B / 32MiB", cells["one"][3])
    assert float(cells["two"][2].rstrip("%")) > 20  # busy, measured over the half second between readings
    j = json.loads(env.cli("stats", "--no-stream", "--format", "json", "one").stdout)
    assert j["Name"] == "one" and j["Container"] == "one" and j["PIDs"] == "1" and j["MemUsage"].endswith("/ 32MiB")
    assert env.cli("stats", "--no-stream", "--format", "{{.Name}}:{{.PIDs}}", "one").stdout == "one:1\n"


def test_stats_streams_in_place_until_interrupted(env):
    run_d(env, "--name", "live", "busybox", "sleep", "1000")
    p = subprocess.Popen([TUIDOCK, "stats"], env=env.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.stdout is not None
    # Wait for three tables (the command starts slowly under emulation), then interrupt it.
    seen, deadline = b"", time.monotonic() + 60
    while seen.count(b"\033[J") < 3 and time.monotonic() < deadline and p.poll() is None:
        if select.select([p.stdout], [], [], 1.0)[0]:
            seen += os.read(p.stdout.fileno(), 65536)
    p.send_signal(signal.SIGINT)
    rest, err = p.communicate(timeout=30)
    out = (seen + rest).decode()
    assert out.startswith("\033[2J"), (out[:40], err)
    frames = out.split("\033[H")[1:]
    assert len(frames) >= 2, out
    assert all("live" in f and f.endswith("\033[J") for f in frames)
