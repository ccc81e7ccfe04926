"""Resource flags: docker's parsing and rules for ``run``/``create`` and ``update``, and what reaches the kernel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from runtime.cgroups.resources import Resources
from runtime.engine import limits
from runtime.engine.model import HostConfig
from runtime.engine.runflags import to_options
from runtime.errors import Conflict, InvalidArgument
from tuidock.cli.commands.run import COMMAND as RUN
from tuidock.cli.commands.update import COMMAND as UPDATE
from tuidock.cli.options import parse
from tuidock.cli.runflags import client_values

MB = 1 << 20


def run_flags(*argv: str) -> Resources:
    """The command line as the thin client parses and sends it, converted where the engine converts it."""
    values, operands = parse(RUN, [*argv, "busybox"])
    return to_options(client_values(values), operands).host.resources


def from_flags(values: dict[str, Any], **kw: Any) -> Resources:
    return limits.from_flags(values, ncpu=2, **kw)


# ---- run / create -------------------------------------------------------------------


def test_no_flags_no_limits() -> None:
    assert run_flags() == Resources()


def test_memory_gets_docker_default_swap_of_twice_the_memory() -> None:
    r = run_flags("-m", "64m")
    assert (r.memory, r.memory_swap) == (64 * MB, 128 * MB)


def test_memory_flags_with_units() -> None:
    r = run_flags("--memory=1g", "--memory-swap", "1.5g", "--memory-reservation", "512m")
    assert (r.memory, r.memory_swap, r.memory_reservation) == (1 << 30, 3 << 29, 512 * MB)


def test_unlimited_swap() -> None:
    assert run_flags("-m", "64m", "--memory-swap", "-1").memory_swap == -1


@pytest.mark.parametrize("argv, message", [
    (("-m", "5m"), "minimum memory limit allowed is 6MB"),
    (("--memory-reservation", "1m"), "minimum memory reservation allowed is 6MB"),
    (("--memory-swap", "1g"), "you should always set the memory limit when using memoryswap limit"),
    (("-m", "1g", "--memory-swap", "512m"), "minimum memoryswap limit should be larger than memory limit"),
    (("-m", "64m", "--memory-reservation", "128m"), "memory limit can not be less than memory reservation limit"),
    (("-m", "lots"), "invalid argument \"lots\" for \"--memory\" flag: invalid size: 'lots'"),
    (("--cpus", "0.5", "--cpu-period", "50000"), "Nano CPUs and CPU Period cannot both be set"),
    (("--cpus", "0.5", "--cpu-quota", "50000"), "Nano CPUs and CPU Quota cannot both be set"),
    (("--cpu-period", "999"), "CPU cfs period can not be less than 1ms"),
    (("--cpu-period", "1000001"), "or larger than 1s"),
    (("--cpu-quota", "999"), "CPU cfs quota can not be less than 1ms"),
    (("-c", "-5"), "invalid --cpu-shares -5"),
])
def test_docker_refuses(argv: tuple[str, ...], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        run_flags(*argv)


def test_cpus_beyond_the_machine() -> None:
    with pytest.raises(InvalidArgument, match="range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs"):
        from_flags({"cpus": 2.5})
    assert from_flags({"cpus": 2.0}).nano_cpus == 2_000_000_000


def test_cpus_stay_nano_cpus_and_fold_into_quota_per_100ms() -> None:
    r = from_flags({"cpus": 0.5})
    assert (r.nano_cpus, r.cpu_quota, r.cpu_period) == (500_000_000, None, None)
    assert r.cpus == 0.5
    k = r.folded()
    assert (k.nano_cpus, k.cpu_quota, k.cpu_period) == (None, 50_000, 100_000)
    assert r.to_oci()["cpu"] == {"quota": 50_000, "period": 100_000}


def test_period_and_quota_as_the_seed_notes_use_them() -> None:
    r = run_flags("--cpu-period", "100000", "--cpu-quota", "20000")
    assert (r.cpu_period, r.cpu_quota, r.nano_cpus) == (100_000, 20_000, None)
    assert r.cpus == pytest.approx(0.2)


@pytest.mark.parametrize("shares, kept", [(1, 2), (2, 2), (512, 512), (500000, 262144)])
def test_cpu_shares_are_clamped_as_docker_does(shares: int, kept: int) -> None:
    assert run_flags("-c", str(shares)).cpu_shares == kept


@pytest.mark.parametrize("value, kept", [("100", 100), ("0", None), ("-1", None)])
def test_pids_limit_zero_or_negative_is_no_limit(value: str, kept: int | None) -> None:
    assert run_flags("--pids-limit", value).pids_limit == kept


def test_oom_kill_disable() -> None:
    assert run_flags("--oom-kill-disable").oom_kill_disable is True
    assert run_flags().oom_kill_disable is None


def test_cpuset_against_the_online_cpus(tmp_path: Path) -> None:
    online = tmp_path / "online"
    online.write_text("0-1\n")
    nodes = tmp_path / "nodes"
    nodes.write_text("0\n")
    r = from_flags({"cpuset_cpus": "0,1", "cpuset_mems": "0"}, cpu_online=str(online), node_online=str(nodes))
    assert (r.cpuset_cpus, r.cpuset_mems) == ("0,1", "0")
    with pytest.raises(InvalidArgument, match="requested CPUs are not available - requested 0-3, available: 0-1"):
        from_flags({"cpuset_cpus": "0-3"}, cpu_online=str(online))
    with pytest.raises(InvalidArgument, match="requested memory nodes are not available - requested 1"):
        from_flags({"cpuset_mems": "1"}, node_online=str(nodes))
    with pytest.raises(InvalidArgument, match="invalid value 0-x for --cpuset-cpus"):
        from_flags({"cpuset_cpus": "0-x"}, cpu_online=str(online))


def test_no_numa_file_means_node_zero(tmp_path: Path) -> None:
    r = from_flags({"cpuset_mems": "0"}, node_online=str(tmp_path / "missing"))
    assert r.cpuset_mems == "0"


def test_inspect_shows_docker_fields() -> None:
    h = HostConfig(resources=run_flags("-m", "64m", "--cpus", "1.5", "--pids-limit", "50", "-c", "512")).to_docker()
    assert (h["Memory"], h["MemorySwap"], h["NanoCpus"], h["CpuQuota"], h["CpuPeriod"]) == (
        64 * MB, 128 * MB, 1_500_000_000, 0, 0)
    assert (h["PidsLimit"], h["CpuShares"], h["OomKillDisable"]) == (50, 512, False)
    h = HostConfig(resources=run_flags("--cpu-period", "100000", "--cpu-quota", "20000")).to_docker()
    assert (h["NanoCpus"], h["CpuQuota"], h["CpuPeriod"], h["PidsLimit"]) == (0, 20_000, 100_000, None)


# ---- update --------------------------------------------------------------------------


def update_flags(*argv: str) -> Resources:
    values, _ = parse(UPDATE, [*argv, "c"])
    return limits.from_flags(values, update=True, ncpu=2)


def test_update_changes_only_what_is_given() -> None:
    cur = run_flags("-m", "64m", "--pids-limit", "10", "-c", "512")
    change = update_flags("-m", "100m")
    assert change == Resources(memory=100 * MB)  # no default swap on update
    new = limits.updated(cur, change, "abc")
    assert (new.memory, new.memory_swap, new.pids_limit, new.cpu_shares) == (100 * MB, 128 * MB, 10, 512)


def test_update_memory_past_the_swap_limit_needs_the_swap_too() -> None:
    cur = run_flags("-m", "64m")  # swap 128m
    with pytest.raises(Conflict, match="container abc: cannot update: conflicting options: memory limit should be "
                                       "smaller than already set memoryswap limit"):
        limits.updated(cur, update_flags("-m", "256m"), "abc")
    new = limits.updated(cur, update_flags("-m", "256m", "--memory-swap", "512m"), "abc")
    assert (new.memory, new.memory_swap) == (256 * MB, 512 * MB)


def test_update_memory_of_an_unlimited_container() -> None:
    new = limits.updated(Resources(), update_flags("-m", "256m"), "abc")
    assert (new.memory, new.memory_swap) == (256 * MB, None)


def test_update_swap_below_memory_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="minimum memoryswap limit should be larger than memory limit"):
        limits.updated(run_flags("-m", "64m"), update_flags("--memory-swap", "32m"), "abc")


@pytest.mark.parametrize("created, change, message", [
    (("--cpus", "0.5"), ("--cpu-quota", "20000"), "CPU Quota cannot be updated as NanoCPUs has already been set"),
    (("--cpus", "0.5"), ("--cpu-period", "50000"), "CPU Period cannot be updated as NanoCPUs has already been set"),
    (("--cpu-quota", "20000"), ("--cpus", "1"), "CPU Quota cannot be updated as NanoCPUs has already been set"),
])
def test_update_keeps_cpus_and_quota_apart(created: tuple[str, ...], change: tuple[str, ...], message: str) -> None:
    with pytest.raises(Conflict, match=message):
        limits.updated(run_flags(*created), update_flags(*change), "abc")


def test_update_pids_limit_minus_one_is_an_explicit_unlimited() -> None:
    change = update_flags("--pids-limit", "-1")
    assert change.pids_limit == 0
    assert limits.updated(run_flags("--pids-limit", "10"), change, "abc").pids_limit == 0


def test_update_has_no_oom_kill_disable() -> None:
    with pytest.raises(InvalidArgument, match="unknown flag: --oom-kill-disable"):
        parse(UPDATE, ["--oom-kill-disable", "c"])


def test_cgroup_changes_carry_memory_with_swap_and_quota_with_period() -> None:
    cur = run_flags("-m", "64m", "--cpus", "0.5", "--pids-limit", "10")
    change = update_flags("-m", "100m", "--cpus", "1.5")
    merged = limits.updated(cur, change, "abc")
    out = limits.cgroup_changes(merged, change)
    assert out == Resources(memory=100 * MB, memory_swap=128 * MB, cpu_quota=150_000, cpu_period=100_000)
    # nothing about pids: the kernel keeps what it has
    swap = update_flags("--memory-swap", "1g")
    assert limits.cgroup_changes(limits.updated(merged, swap, "abc"), swap) == Resources(
        memory=100 * MB, memory_swap=1 << 30)
