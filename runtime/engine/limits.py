"""Resource flags (``-m``, ``--cpus``, ``--pids-limit`` ...) to :class:`Resources`, with docker's rules.

The rules are the docker daemon's (``verifyPlatformContainerResources``,
``adaptContainerSettings`` and ``UpdateContainer`` in moby), messages
lowercased to the house style:

- a memory limit is at least 6 MB; ``--memory-swap`` (memory *plus* swap) needs
  ``--memory`` and is at least as large; without it the swap allowance is
  twice the memory, as docker sets it;
- ``--cpus`` is an exact number of CPUs, at most the number online, and
  excludes ``--cpu-period``/``--cpu-quota`` (which have docker's 1 ms .. 1 s bounds);
- ``--pids-limit`` 0 or negative means unlimited;
- ``update`` changes only what is given, and refuses what docker refuses
  (``--cpus`` over an existing quota and vice versa, a memory limit above the
  swap limit already set).

Values arrive as the CLI parsed them (strings for sizes); ``values`` maps the
flag table's dests to them, ``None`` meaning "not given".
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

from .. import units
from ..cgroups.resources import Resources
from ..errors import Conflict, InvalidArgument

MIN_MEMORY = 6 * 1024 * 1024  # moby's linuxMinMemory
MIN_SHARES, MAX_SHARES = 2, 262144
CPU_ONLINE = "/sys/devices/system/cpu/online"
NODE_ONLINE = "/sys/devices/system/node/online"


def _size(values: dict[str, Any], dest: str, flag: str, swap: bool = False) -> int | None:
    raw = values.get(dest)
    if raw is None or raw == "":
        return None
    try:
        return units.swap_in_bytes(str(raw)) if swap else units.ram_in_bytes(str(raw))
    except InvalidArgument as e:
        raise InvalidArgument(f'invalid argument "{raw}" for "{flag}" flag: {e}') from None


def _online(path: str, fallback: str) -> frozenset[int]:
    try:
        with open(path) as f:
            return units.parse_list(f.read())
    except (OSError, ValueError):
        return units.parse_list(fallback)


def _check_cpuset(value: str | None, flag: str, what: str, online_path: str) -> str | None:
    if value is None or value == "":
        return None
    try:
        wanted = units.parse_list(value)
    except ValueError:
        raise InvalidArgument(f"invalid value {value} for {flag}") from None
    available = _online(online_path, "0")
    if not wanted <= available:
        raise InvalidArgument(f"requested {what} are not available - requested {value}, "
                              f"available: {_list_text(available)}")
    return value.strip()


def _list_text(ids: frozenset[int]) -> str:
    """{0, 1, 2, 5} -> "0-2,5", as the kernel prints lists."""
    runs: list[list[int]] = []
    for i in sorted(ids):
        if runs and runs[-1][1] == i - 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    return ",".join(f"{a}-{b}" if b > a else str(a) for a, b in runs)


def from_flags(values: dict[str, Any], *, update: bool = False, ncpu: int | None = None,
               cpu_online: str = CPU_ONLINE, node_online: str = NODE_ONLINE) -> Resources:
    """The limits asked for on a command line (``run``/``create``, or ``update`` with ``update=True``).

    For ``update`` every field left ``None`` means "unchanged"; for ``run``
    it means "not limited".
    """
    memory = _size(values, "memory", "--memory") or None  # 0: not set
    swap = _size(values, "memory_swap", "--memory-swap", swap=True) or None
    reservation = _size(values, "memory_reservation", "--memory-reservation") or None
    if memory is not None and memory < MIN_MEMORY:
        raise InvalidArgument("minimum memory limit allowed is 6MB")
    if reservation is not None and reservation < MIN_MEMORY:
        raise InvalidArgument("minimum memory reservation allowed is 6MB")
    if not update:
        if swap is not None and swap > 0 and memory is None:
            raise InvalidArgument("you should always set the memory limit when using memoryswap limit, see usage")
        if memory is not None and swap is None:
            swap = 2 * memory  # docker's default: as much swap as memory
    if memory is not None and swap is not None and 0 < swap < memory:
        raise InvalidArgument("minimum memoryswap limit should be larger than memory limit, see usage")
    if memory is not None and reservation is not None and reservation > memory:
        raise InvalidArgument("minimum memory limit can not be less than memory reservation limit, see usage")

    nano = None
    cpus = values.get("cpus")
    if cpus is not None and cpus != "":
        nano = units.nano_cpus(str(cpus)) or None
    period = values.get("cpu_period") or None
    quota = values.get("cpu_quota") or None
    if nano is not None:
        if period is not None:
            raise InvalidArgument("conflicting options: Nano CPUs and CPU Period cannot both be set")
        if quota is not None:
            raise InvalidArgument("conflicting options: Nano CPUs and CPU Quota cannot both be set")
        n = ncpu or os.cpu_count() or 1
        if nano < 0 or nano > n * 1_000_000_000:
            raise InvalidArgument(f"range of CPUs is from 0.01 to {n}.00, as there are only {n} CPUs available")
    if period is not None and not 1000 <= period <= 1_000_000:
        raise InvalidArgument("CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)")
    if quota is not None and 0 < quota < 1000:
        raise InvalidArgument("CPU cfs quota can not be less than 1ms (i.e. 1000)")
    shares = values.get("cpu_shares") or None
    if shares is not None:
        if shares < 0:
            raise InvalidArgument(f"invalid --cpu-shares {shares}: must not be negative")
        shares = min(max(shares, MIN_SHARES), MAX_SHARES)  # docker clamps (with a warning)

    pids = values.get("pids_limit")
    if pids is not None and pids <= 0:
        # docker: 0 and negatives mean unlimited; create records "no limit",
        # update records an explicit unlimited (written to the kernel as "max").
        pids = 0 if update else None
    return Resources(
        memory=memory,
        memory_reservation=reservation,
        memory_swap=swap,
        cpu_shares=shares,
        nano_cpus=nano,
        cpu_quota=quota,
        cpu_period=period,
        cpuset_cpus=_check_cpuset(values.get("cpuset_cpus"), "--cpuset-cpus", "CPUs", cpu_online),
        cpuset_mems=_check_cpuset(values.get("cpuset_mems"), "--cpuset-mems", "memory nodes", node_online),
        pids_limit=pids,
        oom_kill_disable=True if values.get("oom_kill_disable") else None,
    )


def updated(current: Resources, change: Resources, short_id: str) -> Resources:
    """The container's limits after ``update`` (docker's rules); raises Conflict naming the container."""
    def refuse(msg: str) -> Conflict:
        return Conflict(f"container {short_id}: cannot update: conflicting options: {msg}")

    if change.nano_cpus and (current.cpu_period or 0) > 0:
        raise refuse("CPU Period cannot be updated as NanoCPUs has already been set")
    if change.nano_cpus and (current.cpu_quota or 0) > 0:
        raise refuse("CPU Quota cannot be updated as NanoCPUs has already been set")
    if (change.cpu_period or 0) > 0 and current.nano_cpus:
        raise refuse("CPU Period cannot be updated as NanoCPUs has already been set")
    if (change.cpu_quota or 0) > 0 and current.nano_cpus:
        raise refuse("CPU Quota cannot be updated as NanoCPUs has already been set")
    if change.memory is not None and change.memory_swap is None:
        # The kernel keeps memory <= memory+swap; docker asks for both at once
        # when the new memory would pass the swap limit already set.
        if (current.memory_swap or 0) > 0 and change.memory > (current.memory_swap or 0):
            raise refuse("memory limit should be smaller than already set memoryswap limit, "
                         "update the memoryswap at the same time")
    if change.memory_swap is not None and change.memory_swap > 0 and (change.memory or current.memory) is None:
        raise InvalidArgument("you should always set the memory limit when using memoryswap limit, see usage")
    merged = current.merged(change)
    if merged.memory and merged.memory_swap and 0 < merged.memory_swap < merged.memory:
        raise InvalidArgument("minimum memoryswap limit should be larger than memory limit, see usage")
    if merged.memory and merged.memory_reservation and merged.memory_reservation > merged.memory:
        raise InvalidArgument("minimum memory limit can not be less than memory reservation limit, see usage")
    return merged


def cgroup_changes(merged: Resources, change: Resources) -> Resources:
    """What to write to a running container's cgroup for ``change`` (already folded for the kernel).

    Memory and swap travel together (the v1 backend orders the two writes so
    memory never exceeds memory+swap; v2 derives memory.swap.max from both),
    and so do CPU quota and period.
    """
    out = replace(change, devices=None)
    if change.memory is not None or change.memory_swap is not None:
        out = replace(out, memory=merged.memory, memory_swap=merged.memory_swap)
    if change.nano_cpus or change.cpu_quota is not None or change.cpu_period is not None:
        folded = merged.folded()
        out = replace(out, nano_cpus=None, cpu_quota=folded.cpu_quota, cpu_period=folded.cpu_period)
    return out
