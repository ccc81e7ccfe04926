"""cgroup v2 (unified): one directory, controllers enabled from the root down."""

from __future__ import annotations

import os
import time

from .base import Cgroup, read, read_kv, write
from .resources import Resources

WANTED = ("cpuset", "cpu", "io", "memory", "pids")


def shares_to_weight(shares: int) -> int:
    """Convert v1 cpu.shares (2..262144) to v2 cpu.weight (1..10000), as runc and the kernel docs do."""
    return 1 + ((shares - 2) * 9999) // 262142


class CgroupV2(Cgroup):
    version = 2

    def __init__(self, directory: str, path: str) -> None:
        self.directory = directory
        self.path = path
        self.mount = directory[: len(directory) - len(path)] if path != "/" else directory

    def dirs(self) -> list[str]:
        return [self.directory]

    def create(self) -> None:
        # Enable the controllers in every ancestor's subtree_control so that the
        # container's own directory gets its interface files (cgroup-v2.rst,
        # "Enabling and Disabling"). The ancestors hold no processes of ours.
        parts = [p for p in self.path.split("/") if p]
        cur = self.mount
        for part in parts:
            available = read(os.path.join(cur, "cgroup.controllers")).split()
            enabled = read(os.path.join(cur, "cgroup.subtree_control")).split()
            missing = [c for c in WANTED if c in available and c not in enabled]
            if missing:
                write(os.path.join(cur, "cgroup.subtree_control"), " ".join("+" + c for c in missing))
            cur = os.path.join(cur, part)
            os.makedirs(cur, exist_ok=True)

    def apply(self, res: Resources) -> None:
        d = self.directory
        if res.memory is not None:
            write(os.path.join(d, "memory.max"), str(res.memory) if res.memory > 0 else "max")
            if res.memory_swap and os.path.exists(os.path.join(d, "memory.swap.max")):  # 0: not set
                if res.memory_swap < 0:
                    swap = "max"
                else:
                    swap = str(max(res.memory_swap - res.memory, 0))
                write(os.path.join(d, "memory.swap.max"), swap)
        if res.memory_reservation is not None:
            write(os.path.join(d, "memory.low"), str(res.memory_reservation))
        if res.cpu_shares is not None:
            write(os.path.join(d, "cpu.weight"), str(shares_to_weight(res.cpu_shares)))
        if res.cpu_quota is not None or res.cpu_period is not None:
            cur_quota, _, cur_period = read(os.path.join(d, "cpu.max"), "max 100000").partition(" ")
            quota = res.cpu_quota if res.cpu_quota is not None else (-1 if cur_quota == "max" else int(cur_quota))
            period = res.cpu_period or int(cur_period or 100000)
            write(os.path.join(d, "cpu.max"), f"{quota if quota > 0 else 'max'} {period}")
        if res.cpuset_cpus:
            write(os.path.join(d, "cpuset.cpus"), res.cpuset_cpus)
        if res.cpuset_mems:
            write(os.path.join(d, "cpuset.mems"), res.cpuset_mems)
        if res.pids_limit is not None:
            write(os.path.join(d, "pids.max"), str(res.pids_limit) if res.pids_limit > 0 else "max")
        if res.oom_kill_disable:
            # v2 has no switch to disable the OOM killer; memory.oom.group=0 is the default.
            pass

    def freeze(self, frozen: bool) -> None:
        write(os.path.join(self.directory, "cgroup.freeze"), "1" if frozen else "0")
        deadline = time.monotonic() + 5
        while self.is_frozen() != frozen and time.monotonic() < deadline:
            time.sleep(0.001)

    def is_frozen(self) -> bool:
        return read_kv(os.path.join(self.directory, "cgroup.events")).get("frozen", 0) == 1

    def oom_kill_count(self) -> int:
        return read_kv(os.path.join(self.directory, "memory.events")).get("oom_kill", 0)

    def kill_all(self) -> None:
        kill = os.path.join(self.directory, "cgroup.kill")
        if os.path.exists(kill):
            write(kill, "1")
        else:
            super().kill_all()
