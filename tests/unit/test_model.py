"""The engine's public types: restart policies, names, JSON round trips, docker statuses."""

from __future__ import annotations

import json

import pytest

from runtime.cgroups.resources import DeviceRule, Resources
from runtime.engine.model import (Config, ContainerRecord, ContainerStatus, HostConfig, MountSpec, PortBinding,
                                  RestartPolicy, RunOptions, check_name)
from runtime.errors import InvalidArgument
from runtime.state import State, Status

# ---- RestartPolicy ---------------------------------------------------------------


@pytest.mark.parametrize("raw, name, retries", [
    ("no", "no", 0),
    ("always", "always", 0),
    ("unless-stopped", "unless-stopped", 0),
    ("on-failure", "on-failure", 0),
    ("on-failure:3", "on-failure", 3),
    ("on-failure:0", "on-failure", 0),
])
def test_restart_policy_parse(raw: str, name: str, retries: int) -> None:
    p = RestartPolicy.parse(raw)
    assert (p.name, p.max_retries) == (name, retries)


@pytest.mark.parametrize("raw, why", [
    ("sometimes", "must be no, on-failure"),
    ("", "must be no, on-failure"),
    ("On-Failure", "must be no, on-failure"),
    ("always:3", "only on-failure takes a retry count"),
    ("no:1", "only on-failure takes a retry count"),
    ("on-failure:x", "must be a number"),
    ("on-failure:-1", "must be a number"),
    ("on-failure:1.5", "must be a number"),
])
def test_restart_policy_errors(raw: str, why: str) -> None:
    with pytest.raises(InvalidArgument, match=why):
        RestartPolicy.parse(raw)


def test_restart_policy_str_round_trips() -> None:
    for raw in ("no", "always", "unless-stopped", "on-failure", "on-failure:5"):
        assert str(RestartPolicy.parse(raw)) == raw


@pytest.mark.parametrize("policy, code, restarts, by_user, expect", [
    ("no", 1, 0, False, False),
    ("always", 0, 0, False, True),
    ("always", 1, 100, False, True),
    ("always", 1, 0, True, False),
    ("unless-stopped", 0, 0, False, True),
    ("unless-stopped", 0, 0, True, False),
    ("on-failure", 0, 0, False, False),
    ("on-failure", 2, 50, False, True),
    ("on-failure:3", 1, 2, False, True),
    ("on-failure:3", 1, 3, False, False),
    ("on-failure:3", 137, 0, True, False),
])
def test_should_restart(policy: str, code: int, restarts: int, by_user: bool, expect: bool) -> None:
    assert RestartPolicy.parse(policy).should_restart(code, restarts, by_user) is expect


# ---- names -----------------------------------------------------------------------


@pytest.mark.parametrize("raw, name", [("web", "web"), ("/web", "web"), ("a", "a"), ("My_app.1-2", "My_app.1-2"),
                                       ("0lead", "0lead"), ("x" * 255, "x" * 255)])
def test_check_name_accepts(raw: str, name: str) -> None:
    assert check_name(raw) == name


@pytest.mark.parametrize("raw", ["", "/", "-web", "_web", ".web", "a b", "a/b", "café", "x" * 256])
def test_check_name_rejects(raw: str) -> None:
    with pytest.raises(InvalidArgument, match="invalid container name"):
        check_name(raw)


def test_check_name_rejects_a_trailing_newline() -> None:
    with pytest.raises(InvalidArgument, match="invalid container name"):
        check_name("web\n")


# ---- JSON round trips ------------------------------------------------------------


def full_host() -> HostConfig:
    return HostConfig(
        auto_remove=False,
        restart=RestartPolicy("on-failure", 3),
        init=True,
        read_only=True,
        cap_add=("CAP_NET_ADMIN",),
        cap_drop=("CAP_CHOWN", "CAP_KILL"),
        resources=Resources(memory=1 << 28, memory_swap=-1, cpu_quota=50000, cpu_period=100000, pids_limit=64,
                            oom_kill_disable=True,
                            devices=(DeviceRule(False), DeviceRule(True, "c", 1, 3, "rw"))),
        network="none",
        ports=(PortBinding(80, "tcp", "127.0.0.1", 8080), PortBinding(53, "udp")),
        mounts=(MountSpec("bind", "/data", "/srv/data", True), MountSpec("tmpfs", "/run", options=("size=64m",)),
                MountSpec("volume", "/var/lib/db", "", anonymous=True)),
        dns=("1.1.1.1",),
    )


def full_record() -> ContainerRecord:
    cfg = Config(image="busybox:latest", cmd=("sh", "-c", "echo hi"), entrypoint=("/init",), env=("PATH=/bin", "A=1"),
                 working_dir="/srv", user="1000:1000", hostname="web", domainname="example.org",
                 labels={"com.example": "x", "empty": ""}, tty=True, open_stdin=True, stop_signal="SIGINT",
                 stop_timeout=3, exposed_ports=("80/tcp",), volumes=("/data",))
    return ContainerRecord("3f2a9c1b7d0e" + "a" * 52, "web", 1_795_000_000_000_000_000, "sha256:" + "b" * 64,
                           ("sha256:" + "c" * 64, "sha256:" + "d" * 64), cfg, full_host())


def test_container_record_round_trip_through_json() -> None:
    rec = full_record()
    text = json.dumps(rec.to_json())
    back = ContainerRecord.from_json(json.loads(text))
    assert back == rec
    # Nested values come back as their types, not as dicts and lists.
    assert isinstance(back.host.resources, Resources)
    assert isinstance(back.host.resources.devices, tuple)
    assert isinstance(back.host.resources.devices[1], DeviceRule)
    assert isinstance(back.host.restart, RestartPolicy)
    assert isinstance(back.host.ports[0], PortBinding) and isinstance(back.host.mounts, tuple)
    assert isinstance(back.layers, tuple) and isinstance(back.config.cmd, tuple)


def test_defaults_round_trip() -> None:
    rec = ContainerRecord("x", "n", 0, "sha256:" + "0" * 64, (), Config(image="i"), HostConfig())
    back = ContainerRecord.from_json(json.loads(json.dumps(rec.to_json())))
    assert back == rec
    assert back.host.resources.devices is None


def test_from_json_tolerates_missing_fields() -> None:
    d = full_record().to_json()
    del d["host"]["dns"]
    del d["config"]["labels"]
    back = ContainerRecord.from_json(d)
    assert back.host.dns == () and back.config.labels == {}


def test_run_options_round_trip_keeps_empty_entrypoint_apart_from_none() -> None:
    reset = RunOptions(image="nginx", command=("sh",), entrypoint=(), env=("A=1",), labels={"k": "v"},
                       stop_timeout=5, host=full_host())
    back = RunOptions.from_json(json.loads(json.dumps(reset.to_json())))
    assert back == reset and back.entrypoint == ()
    plain = RunOptions(image="nginx")
    back = RunOptions.from_json(json.loads(json.dumps(plain.to_json())))
    assert back == plain and back.entrypoint is None


def test_short_id() -> None:
    assert full_record().short_id == "3f2a9c1b7d0e"


def test_docker_shapes() -> None:
    rec = full_record()
    c = rec.config.to_docker()
    assert c["Cmd"] == ["sh", "-c", "echo hi"] and c["Entrypoint"] == ["/init"]
    assert c["ExposedPorts"] == {"80/tcp": {}} and c["StopTimeout"] == 3
    assert Config(image="i").to_docker()["Cmd"] is None
    h = rec.host.to_docker()
    assert h["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    assert h["PortBindings"] == {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}],
                                 "53/udp": [{"HostIp": "", "HostPort": ""}]}
    assert h["Binds"] == ["/srv/data:/data:ro"]
    assert h["Tmpfs"] == {"/run": "size=64m"}
    # docker keeps --cpus (NanoCpus) apart from --cpu-quota/--cpu-period
    assert (h["NanoCpus"], h["CpuQuota"], h["CpuPeriod"]) == (0, 50000, 100000)
    nano = HostConfig(resources=Resources(nano_cpus=1_500_000_000)).to_docker()
    assert (nano["NanoCpus"], nano["CpuQuota"], nano["CpuPeriod"]) == (1_500_000_000, 0, 0)
    assert h["MemorySwap"] == -1 and h["PidsLimit"] == 64


# ---- ContainerStatus -------------------------------------------------------------


def st(status: Status, started: int = 0) -> State:
    return State("c", "/b", status, started_ns=started)


@pytest.mark.parametrize("state, expect", [
    (None, ContainerStatus.CREATED),
    (st(Status.CREATING), ContainerStatus.CREATED),
    (st(Status.CREATED), ContainerStatus.CREATED),
    (st(Status.RUNNING, 5), ContainerStatus.RUNNING),
    (st(Status.PAUSED, 5), ContainerStatus.PAUSED),
    (st(Status.RESTARTING, 5), ContainerStatus.RESTARTING),
    (st(Status.STOPPED, 5), ContainerStatus.EXITED),
    (st(Status.STOPPED), ContainerStatus.CREATED),  # never started (e.g. the command was not found)
])
def test_container_status_of(state: State | None, expect: ContainerStatus) -> None:
    assert ContainerStatus.of(state) is expect


def test_container_status_rules() -> None:
    S = ContainerStatus
    assert {s for s in S if s.can_start()} == {S.CREATED, S.EXITED}
    assert {s for s in S if s.can_stop()} == {S.RUNNING, S.PAUSED, S.RESTARTING}
    assert {s for s in S if s.can_exec()} == {S.RUNNING}
    assert {s for s in S if s.can_pause()} == {S.RUNNING}
    assert {s for s in S if s.is_up()} == {S.RUNNING, S.PAUSED, S.RESTARTING}
