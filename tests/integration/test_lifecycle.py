"""The everyday verbs with docker's names, flags, exit codes and errors."""

from __future__ import annotations

import json
import os
import re
import time

import pytest

from runtime import capabilities

pytestmark = pytest.mark.requires("root", "overlay", "busybox")


def run_d(env, *args: str) -> str:
    r = env.cli("run", "-d", *args)
    assert r.returncode == 0, r.stderr
    assert re.fullmatch(r"[0-9a-f]{64}\n", r.stdout)
    return r.stdout.strip()


def inspect(env, ref: str, fmt: str) -> str:
    r = env.cli("inspect", "-f", fmt, ref)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def wait_status(env, ref: str, status: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if inspect(env, ref, "{{.State.Status}}") == status:
            return
        time.sleep(0.05)
    raise AssertionError(f"{ref} did not become {status}")


def wait_log(env, ref: str, text: str, timeout: float = 10) -> None:
    """Until the container's log has ``text`` (a script says it is ready: its traps are set)."""
    deadline = time.monotonic() + timeout
    while text not in env.cli("logs", ref).stdout:
        if time.monotonic() > deadline:
            raise AssertionError(f"{ref} never logged {text!r}")
        time.sleep(0.05)


def test_detached_run_then_ps(env):
    cid = run_d(env, "--name", "web", "busybox", "sleep", "60")
    r = env.cli("ps")
    header, row = r.stdout.splitlines()
    assert header.split() == ["CONTAINER", "ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
    assert row.startswith(cid[:12]) and row.endswith("web")
    assert '"sleep 60"' in row and re.search(r"Up (Less than a second|\d+ seconds?)", row)
    assert env.cli("ps", "-q").stdout == cid[:12] + "\n"
    assert env.cli("ps", "-q", "--no-trunc").stdout == cid + "\n"


def test_ps_all_shows_exit_status(env):
    env.cli("run", "--name", "seven", "busybox", "sh", "-c", "exit 7")
    assert env.cli("ps", "-q").stdout == ""
    row = env.cli("ps", "-a").stdout.splitlines()[1]
    assert re.search(r"Exited \(7\) (Less than a second|\d+ seconds?) ago", row)


def test_ps_filters(env):
    a = run_d(env, "--name", "alpha", "-l", "tier=front", "busybox", "sleep", "60")
    env.cli("run", "--name", "beta", "-l", "tier=back", "busybox", "sh", "-c", "exit 3")
    q = lambda *f: set(env.cli("ps", "-aq", *[x for flt in f for x in ("--filter", flt)]).stdout.split())  # noqa: E731
    b = env.engine().resolve("beta")[:12]
    assert q("status=running") == {a[:12]}
    assert q("status=exited") == {b}
    assert q("name=alp") == {a[:12]}
    assert q("label=tier") == {a[:12], b}
    assert q("label=tier=back") == {b}
    assert q("id=" + a[:5]) == {a[:12]}
    assert q("exited=3") == {b}
    assert q("ancestor=busybox") == {a[:12], b}
    assert q("status=running", "status=exited") == {a[:12], b}
    bad = env.cli("ps", "--filter", "colour=red")
    assert bad.returncode == 125 and "invalid filter 'colour=red'" in bad.stderr


def test_ps_formats(env):
    cid = run_d(env, "--name", "fmt", "-l", "k=v", "busybox", "sleep", "60")
    lines = env.cli("ps", "--format", "json").stdout.splitlines()
    obj = json.loads(lines[0])
    assert obj["ID"] == cid[:12] and obj["Names"] == "fmt" and obj["State"] == "running"
    assert obj["Labels"] == "k=v" and obj["Image"] == "busybox"
    assert env.cli("ps", "--format", "table {{.Names}}\\t{{.State}}").stdout.split() == ["NAMES", "STATE", "fmt", "running"]
    assert env.cli("ps", "--format", "{{.Names}}:{{.Command}}").stdout == 'fmt:"sleep 60"\n'


def test_names_and_prefixes_address_containers(env):
    cid = run_d(env, "--name", "named", "busybox", "sleep", "60")
    for ref in ("named", "/named", cid, cid[:12], cid[:4]):
        assert inspect(env, ref, "{{.Id}}") == cid
    missing = env.cli("inspect", "nosuch-container")
    assert missing.returncode == 125 and missing.stderr.strip() == "tuidock: no such object: nosuch-container"
    stop = env.cli("stop", "nosuch-container")
    assert stop.returncode == 125 and "no such container: nosuch-container" in stop.stderr


def test_ambiguous_prefix_is_an_error(env):
    eng = env.engine()
    from runtime.engine.runflags import to_options

    by_first: dict[str, str] = {}
    while True:
        cid = eng.create(to_options({}, ["busybox", "true"])).id
        if cid[0] in by_first:
            break
        by_first[cid[0]] = cid
    r = env.cli("rm", cid[0])
    assert r.returncode == 125 and "ambiguous" in r.stderr and cid[0] in r.stderr


def test_name_in_use_and_invalid_names(env):
    run_d(env, "--name", "taken", "busybox", "sleep", "60")
    r = env.cli("run", "--name", "taken", "busybox", "true")
    assert r.returncode == 125
    assert 'container name "/taken" is already in use' in r.stderr and r.stderr.count("\n") == 1
    r = env.cli("run", "--name", "bad name!", "busybox", "true")
    assert r.returncode == 125 and 'invalid container name "bad name!"' in r.stderr
    assert len(env.engine().containers()) == 1  # nothing half-created


def test_environment_workdir_hostname_entrypoint(env, tmp_path):
    envfile = tmp_path / "env"
    envfile.write_text("# comment\nA=1\n\nB=two words\nFROM_HOST\n")
    r = env.cli("run", "--rm", "--env-file", str(envfile), "-e", "C=3", "-e", "D", "-w", "/data/sub",
                "--hostname", "box", "busybox", "sh", "-c", 'echo "$A|$B|$C|${D-unset}|$HOSTNAME|$HOME"; pwd')
    assert r.stdout == "1|two words|3|unset|box|/root\n/data/sub\n"
    r = env.cli("run", "--rm", "--entrypoint", "echo", "busybox", "from", "entrypoint")
    assert r.stdout == "from entrypoint\n"


def test_bad_env_file_is_125_and_creates_nothing(env, tmp_path):
    r = env.cli("run", "--env-file", str(tmp_path / "missing"), "busybox", "true")
    assert r.returncode == 125 and f"env file {tmp_path / 'missing'}: no such file or directory" in r.stderr
    bad = tmp_path / "bad"
    bad.write_text("GOOD=1\nBAD KEY=2\n")
    r = env.cli("run", "--env-file", str(bad), "busybox", "true")
    assert r.returncode == 125 and "line 2" in r.stderr
    assert env.engine().containers() == []


def test_user_by_name_and_number(env):
    assert env.cli("run", "--rm", "-u", "nobody", "busybox", "id").stdout == "uid=65534(nobody) gid=65534(nogroup)\n"
    assert env.cli("run", "--rm", "-u", "1234:5678", "busybox", "id").stdout.startswith("uid=1234 gid=5678")
    r = env.cli("run", "--rm", "-u", "nosuchuser", "busybox", "id")
    assert r.returncode == 125 and "unable to find user nosuchuser" in r.stderr


def test_read_only_root(env):
    r = env.cli("run", "--rm", "--read-only", "busybox", "sh", "-c", "touch /x 2>&1; echo rc=$?; echo ok > /etc/hosts && echo hosts-writable")
    assert "Read-only file system" in r.stdout and "rc=1" in r.stdout


def test_cap_add_and_drop(env):
    r = env.cli("run", "--rm", "--cap-drop", "ALL", "--cap-add", "net_bind_service", "busybox",
                "grep", "CapEff", "/proc/self/status")
    assert int(r.stdout.split()[1], 16) == capabilities.mask(["CAP_NET_BIND_SERVICE"])
    r = env.cli("run", "--rm", "--cap-drop", "CHOWN", "busybox", "grep", "CapEff", "/proc/self/status")
    assert int(r.stdout.split()[1], 16) == capabilities.mask(set(capabilities.DEFAULT) - {"CAP_CHOWN"})
    bad = env.cli("run", "--rm", "--cap-add", "NOT_A_CAP", "busybox", "true")
    assert bad.returncode == 125 and "capability NOT_A_CAP: unknown" in bad.stderr


def test_init_is_pid_1_and_forwards_signals(env):
    r = env.cli("run", "--rm", "--init", "busybox", "sh", "-c", "cat /proc/1/comm; echo $$")
    assert r.stdout.split() == ["docker-init", "2"]
    run_d(env, "--name", "with-init", "--init", "busybox", "sleep", "60")
    assert env.cli("stop", "-t", "10", "with-init").returncode == 0
    # 143 = 128 + SIGTERM: the init passed SIGTERM on and sleep died of it (a SIGKILL after 10 s gives 137)
    assert inspect(env, "with-init", "{{.State.ExitCode}}") == "143"


def test_stop_kills_after_the_timeout_with_137(env):
    run_d(env, "--name", "stubborn", "busybox", "sleep", "60")  # PID 1 without a handler ignores SIGTERM
    t = time.monotonic()
    r = env.cli("stop", "-t", "1", "stubborn")
    took = time.monotonic() - t
    assert r.returncode == 0 and r.stdout == "stubborn\n"
    assert 0.9 < took < 30  # waited the 1 s timeout, then killed (sleep would run 60 s)
    assert inspect(env, "stubborn", "{{.State.Status}} {{.State.ExitCode}}") == "exited 137"


def test_stop_signal_and_stop_timeout(env):
    run_d(env, "--name", "usr1", "--stop-signal", "USR1", "busybox", "sh", "-c",
          'trap "exit 5" USR1; echo ready; while true; do sleep 0.1; done')
    wait_log(env, "usr1", "ready")
    assert env.cli("stop", "usr1").returncode == 0
    assert inspect(env, "usr1", "{{.State.ExitCode}} {{.Config.StopSignal}}") == "5 USR1"
    run_d(env, "--name", "quick", "--stop-timeout", "1", "busybox", "sleep", "60")
    t = time.monotonic()
    env.cli("stop", "quick")
    assert time.monotonic() - t < 8  # killed after its own 1 s, well before the default 10 s
    assert inspect(env, "quick", "{{.State.ExitCode}} {{.Config.StopTimeout}}") == "137 1"


def test_create_start_restart_wait(env):
    cid = env.cli("create", "--name", "later", "busybox", "sh", "-c", "sleep 0.3; exit 4").stdout.strip()
    assert inspect(env, cid, "{{.State.Status}}") == "created"
    assert env.cli("ps", "-a", "--format", "{{.Status}}").stdout == "Created\n"
    assert env.cli("start", "later").stdout == "later\n"
    again = env.cli("start", "later")
    assert again.returncode in (0, 125)
    w = env.cli("wait", "later")
    assert w.stdout == "4\n"
    assert env.cli("restart", "later").returncode == 0
    assert env.cli("wait", "later").stdout == "4\n"


def test_start_of_running_and_rm_of_running_are_refused(env):
    run_d(env, "--name", "busy", "busybox", "sleep", "60")
    r = env.cli("start", "busy")
    assert r.returncode == 125 and "cannot start a container that is running" in r.stderr
    r = env.cli("rm", "busy")
    assert r.returncode == 125 and "cannot remove a running container" in r.stderr
    assert env.cli("rm", "-f", "busy").returncode == 0
    assert env.engine().containers() == []


def test_kill_with_signals(env):
    run_d(env, "--name", "k", "busybox", "sh", "-c", 'trap "exit 42" HUP; echo ready; while true; do sleep 0.1; done')
    wait_log(env, "k", "ready")
    assert env.cli("kill", "-s", "HUP", "k").returncode == 0
    env.cli("wait", "k")
    assert inspect(env, "k", "{{.State.ExitCode}}") == "42"
    bad = env.cli("kill", "-s", "SIGNOPE", "k")
    assert bad.returncode == 125 and "signal SIGNOPE: invalid signal" in bad.stderr
    notrunning = env.cli("kill", "k")
    assert notrunning.returncode == 125 and "is not running" in notrunning.stderr


def test_pause_and_unpause_use_the_freezer(env):
    cid = run_d(env, "--name", "p", "busybox", "sh", "-c", "while true; do date +%s%N > /tmp/t; sleep 0.05; done")
    assert env.cli("pause", "p").returncode == 0
    assert inspect(env, "p", "{{.State.Status}} {{.State.Paused}}") == "paused true"
    assert "(Paused)" in env.cli("ps", "--format", "{{.Status}}").stdout
    pid = int(inspect(env, "p", "{{.State.Pid}}"))
    assert open(f"/proc/{pid}/stat").read().split(") ")[1][0] in ("S", "D")  # frozen in the kernel
    # v1 (and hybrid, whose v2 tree has no controllers) freezes through freezer.state, v2 through cgroup.freeze.
    dirs = env.cgroup_dirs(cid)
    v1 = [os.path.join(d, "freezer.state") for d in dirs if os.path.exists(os.path.join(d, "freezer.state"))]
    states = [open(f).read().strip() for f in v1] or \
        [open(os.path.join(d, "cgroup.freeze")).read().strip() for d in dirs]
    assert states in (["FROZEN"], ["1"])
    twice = env.cli("pause", "p")
    assert twice.returncode == 125 and "already paused" in twice.stderr
    assert env.cli("unpause", "p").returncode == 0
    assert inspect(env, "p", "{{.State.Status}}") == "running"
    assert env.cli("unpause", "p").returncode == 125


def test_restart_policies(env):
    env.cli("run", "--name", "retry", "--restart", "on-failure:2", "busybox", "sh", "-c", "echo go; exit 1")
    deadline = time.monotonic() + 10
    while inspect(env, "retry", "{{.RestartCount}} {{.State.Status}}") != "2 exited" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert inspect(env, "retry", "{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}}") == "2 exited 1"
    assert env.cli("logs", "retry").stdout == "go\ngo\ngo\n"
    run_d(env, "--name", "forever", "--restart", "always", "busybox", "sh", "-c", "sleep 0.2; exit 0")
    deadline = time.monotonic() + 10
    while int(inspect(env, "forever", "{{.RestartCount}}")) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert int(inspect(env, "forever", "{{.RestartCount}}")) >= 2
    env.cli("stop", "forever")
    assert inspect(env, "forever", "{{.State.Status}}") == "exited"
    n = inspect(env, "forever", "{{.RestartCount}}")
    time.sleep(0.6)
    assert inspect(env, "forever", "{{.RestartCount}} {{.State.Status}}") == f"{n} exited"  # a stop is final
    bad = env.cli("run", "--restart", "sometimes", "busybox", "true")
    assert bad.returncode == 125 and "restart policy sometimes" in bad.stderr


def test_rename(env):
    run_d(env, "--name", "old", "busybox", "sleep", "60")
    run_d(env, "--name", "other", "busybox", "sleep", "60")
    assert env.cli("rename", "old", "new").returncode == 0
    assert "new" in env.cli("ps", "--format", "{{.Names}}").stdout.split()
    assert env.cli("inspect", "old").returncode == 125
    clash = env.cli("rename", "new", "other")
    assert clash.returncode == 125 and "already in use" in clash.stderr
    assert env.cli("run", "-d", "--name", "old", "busybox", "true").returncode == 0  # the old name is free again


def test_container_prune_removes_only_stopped(env):
    up = run_d(env, "busybox", "sleep", "60")
    env.cli("run", "busybox", "true")
    env.cli("run", "busybox", "true")
    r = env.cli("container", "prune", "-f")
    assert r.returncode == 0 and r.stdout.startswith("Deleted Containers:\n")
    assert "Total reclaimed space:" in r.stdout
    assert [c.id for c in env.engine().containers()] == [up]


def test_logs_tail_timestamps_since_and_streams(env):
    env.cli("run", "--name", "chatty", "busybox", "sh", "-c", "for i in 1 2 3 4; do echo out$i; done; echo err >&2")
    r = env.cli("logs", "chatty")
    assert (r.stdout, r.stderr) == ("out1\nout2\nout3\nout4\n", "err\n")
    tail = env.cli("logs", "--tail", "2", "chatty")  # the last two lines of both streams together
    assert (tail.stdout, tail.stderr) == ("out4\n", "err\n")
    stamped = env.cli("logs", "-t", "--tail", "2", "chatty").stdout
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z out4\n", stamped)
    assert env.cli("logs", "--since", "1s", "chatty").stdout == "out1\nout2\nout3\nout4\n"
    assert env.cli("logs", "--since", "2099-01-01T00:00:00Z", "chatty").stdout == ""
    bad = env.cli("logs", "--since", "yesterday", "chatty")
    assert bad.returncode == 125 and "invalid time" in bad.stderr


def test_logs_follow_streams_until_the_container_stops(env):
    import subprocess

    from tests.conftest import TUIDOCK

    run_d(env, "--name", "slow", "busybox", "sh", "-c", "for i in 1 2 3; do echo line$i; sleep 0.3; done")
    p = subprocess.Popen([TUIDOCK, "logs", "-f", "slow"], env=env.env, stdout=subprocess.PIPE, text=True)
    assert p.stdout is not None
    first = p.stdout.readline()
    assert first == "line1\n"
    out, _ = p.communicate(timeout=10)
    assert out == "line2\nline3\n" and p.returncode == 0


def test_top_shows_host_and_container_pids(env):
    run_d(env, "--name", "t", "busybox", "sh", "-c", "sleep 60 & sleep 61; true")
    time.sleep(0.3)
    r = env.cli("top", "t")
    rows = [line.split(None, 6) for line in r.stdout.splitlines()]
    assert rows[0] == ["UID", "PID", "CONTAINER", "PID", "PPID", "STIME", "TIME CMD"] or r.stdout.startswith("UID")
    body = [line.split() for line in r.stdout.splitlines()[1:]]
    pid1 = next(b for b in body if b[2] == "1")
    assert int(pid1[1]) == int(inspect(env, "t", "{{.State.Pid}}"))
    assert sorted(int(b[2]) for b in body) == [1, 2, 3] or len(body) == 3
    assert {" ".join(b[6:]) for b in body} >= {"sleep 60", "sleep 61"}


def test_diff_shows_added_changed_deleted(env):
    env.cli("run", "--name", "d", "busybox", "sh", "-c", "mkdir /new; echo x > /new/f; echo y >> /etc/passwd; rm /bin/ls")
    r = env.cli("diff", "d")
    assert r.stdout.splitlines() == ["C /bin", "D /bin/ls", "C /etc", "C /etc/passwd", "A /new", "A /new/f"]


def test_inspect_has_dockers_shape(env):
    cid = run_d(env, "--name", "shape", "-e", "X=1", "busybox", "sleep", "60")
    r = env.cli("inspect", "shape")
    [obj] = json.loads(r.stdout)
    assert obj["Id"] == cid and obj["Name"] == "/shape"
    st = obj["State"]
    assert st["Status"] == "running" and st["Running"] is True and st["Paused"] is False
    assert st["Pid"] > 1 and st["ExitCode"] == 0 and st["OOMKilled"] is False
    assert st["FinishedAt"] == "0001-01-01T00:00:00Z" and st["StartedAt"].endswith("Z")
    assert obj["Config"]["Cmd"] == ["sleep", "60"] and "X=1" in obj["Config"]["Env"]
    assert obj["HostConfig"]["RestartPolicy"] == {"Name": "no", "MaximumRetryCount": 0}
    gd = obj["GraphDriver"]
    assert gd["Name"] == "overlay2" and gd["Data"]["UpperDir"].endswith(f"containers/{cid}/upper")
    assert gd["Data"]["LowerDir"].split(":")[0].endswith(f"containers/{cid}/init")
    assert obj["Mounts"] == [] or isinstance(obj["Mounts"], list)
    assert inspect(env, "shape", "{{.State.Pid}}") == str(st["Pid"])
    assert json.loads(inspect(env, "shape", "{{json .Config}}"))["Image"] == "busybox"
    [img] = json.loads(env.cli("inspect", "busybox").stdout)
    assert img["RootFS"]["Type"] == "layers" and len(img["RootFS"]["Layers"]) == 1
    assert img["Id"] == obj["Image"] and img["RepoTags"] == ["busybox:latest"]
    assert inspect(env, "busybox", "{{index .RootFS.Layers 0}}").startswith("sha256:")


def test_system_info_df_prune(env):
    run_d(env, "--name", "running", "busybox", "sleep", "60")
    env.cli("run", "busybox", "true")
    info = env.cli("system", "info").stdout
    assert re.search(r"Cgroup Version: [12] \((hybrid|unified|legacy)\)", info)
    assert f"Root Dir: {env.root}" in info and "Containers: 2" in info and "Running: 1" in info
    assert json.loads(env.cli("info", "--format", "json").stdout)["ContainersStopped"] == 1
    df = env.cli("system", "df").stdout.splitlines()
    assert df[0].split() == ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]
    assert df[1].split()[:3] == ["Images", "1", "1"] and df[2].split()[:3] == ["Containers", "2", "1"]
    r = env.cli("system", "prune", "-f")
    assert r.returncode == 0 and "Deleted Containers:" in r.stdout
    assert [c.name for c in env.engine().containers()] == ["running"]
    assert env.engine().images.find("busybox") is not None  # in use, and tagged: kept


def test_unknown_verb_and_flag(env):
    r = env.cli("frobnicate")
    assert r.returncode == 125 and "'frobnicate' is not a tuidock command" in r.stderr
    r = env.cli("run", "--frob", "busybox")
    assert r.returncode == 125 and "unknown flag: --frob" in r.stderr
