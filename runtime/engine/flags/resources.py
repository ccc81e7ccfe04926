"""``run`` flags for resources: memory, CPU and pids limits (validated by :mod:`runtime.engine.limits`)."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..model import HostConfig

FLAGS: list[tuple[str, str, str, str]] = [
    ("-m, --memory", "memory", "str", "Memory limit (bytes, or with a unit: 512m, 1.5g)"),
    ("--memory-swap", "memory_swap", "str", "Swap limit equal to memory plus swap: '-1' to enable unlimited swap"),
    ("--memory-reservation", "memory_reservation", "str", "Memory soft limit"),
    ("--cpus", "cpus", "float", "Number of CPUs (0.5 is half of one CPU)"),
    ("--cpu-period", "cpu_period", "int", "Limit CPU CFS (Completely Fair Scheduler) period"),
    ("--cpu-quota", "cpu_quota", "int", "Limit CPU CFS (Completely Fair Scheduler) quota"),
    ("-c, --cpu-shares", "cpu_shares", "int", "CPU shares (relative weight)"),
    ("--cpuset-cpus", "cpuset_cpus", "str", "CPUs in which to allow execution (0-3, 0,1)"),
    ("--cpuset-mems", "cpuset_mems", "str", "MEMs in which to allow execution (0-3, 0,1)"),
    ("--pids-limit", "pids_limit", "int", "Tune container pids limit (set -1 for unlimited)"),
    ("--oom-kill-disable", "oom_kill_disable", "bool", "Disable OOM Killer"),
]
DEFAULTS: dict[str, Any] = {}
CLIENT_PATHS: tuple[str, ...] = ()
# `update` takes these flags too, except the ones docker's update lacks.
UPDATE_EXCLUDE = ("oom_kill_disable",)


def apply(values: dict[str, Any], host: HostConfig) -> HostConfig:
    import dataclasses

    from ..limits import from_flags

    return dataclasses.replace(host, resources=host.resources.merged(from_flags(values)))
