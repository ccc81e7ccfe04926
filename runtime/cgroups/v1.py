"""cgroup v1 (and hybrid): one directory per controller hierarchy."""

from __future__ import annotations

import os
import time

from .base import Cgroup, read, read_kv, write
from .resources import Resources


class CgroupV1(Cgroup):
    version = 1

    def __init__(self, dirs: dict[str, str], path: str) -> None:
        self.by_controller = dirs  # controller -> directory
        self.path = path

    def dirs(self) -> list[str]:
        seen: list[str] = []
        for d in self.by_controller.values():
            if d not in seen:
                seen.append(d)
        return seen

    def dir(self, controller: str) -> str | None:
        return self.by_controller.get(controller)

    def create(self) -> None:
        for controller, d in self.by_controller.items():
            if controller == "cpuset":
                self._create_cpuset(d)
            else:
                os.makedirs(d, exist_ok=True)

    def _create_cpuset(self, d: str) -> None:
        # A new cpuset has empty cpus and mems and refuses tasks until they are
        # filled in; copy them from the parent at every level (cpuset(7)).
        missing = []
        p = d
        while not os.path.isdir(p):
            missing.append(p)
            p = os.path.dirname(p)
        for level in reversed(missing):
            os.mkdir(level)
            parent = os.path.dirname(level)
            for f in ("cpuset.cpus", "cpuset.mems"):
                if not read(os.path.join(level, f)):
                    write(os.path.join(level, f), read(os.path.join(parent, f)))

    def apply(self, res: Resources) -> None:
        mem = self.dir("memory")
        if mem:
            if res.memory is not None:
                limit = str(res.memory) if res.memory > 0 else "-1"
                swap = res.memory_swap or None  # docker: 0 means "not set"
                memsw = os.path.join(mem, "memory.memsw.limit_in_bytes")
                has_swap_accounting = os.path.exists(memsw)
                # memsw must stay >= limit at every step: raise it first when growing.
                if has_swap_accounting and swap is not None:
                    current = int(read(os.path.join(mem, "memory.limit_in_bytes"), "0") or 0)
                    if res.memory > current:
                        write(memsw, str(swap) if swap > 0 else "-1")
                        write(os.path.join(mem, "memory.limit_in_bytes"), limit)
                    else:
                        write(os.path.join(mem, "memory.limit_in_bytes"), limit)
                        write(memsw, str(swap) if swap > 0 else "-1")
                else:
                    write(os.path.join(mem, "memory.limit_in_bytes"), limit)
            if res.memory_reservation is not None:
                write(os.path.join(mem, "memory.soft_limit_in_bytes"), str(res.memory_reservation))
            if res.oom_kill_disable is not None:
                write(os.path.join(mem, "memory.oom_control"), "1" if res.oom_kill_disable else "0")
        cpu = self.dir("cpu")
        if cpu:
            if res.cpu_shares is not None:
                write(os.path.join(cpu, "cpu.shares"), str(res.cpu_shares))
            if res.cpu_period is not None:
                write(os.path.join(cpu, "cpu.cfs_period_us"), str(res.cpu_period))
            if res.cpu_quota is not None:
                write(os.path.join(cpu, "cpu.cfs_quota_us"), str(res.cpu_quota if res.cpu_quota > 0 else -1))
        cpuset = self.dir("cpuset")
        if cpuset:
            if res.cpuset_cpus:
                write(os.path.join(cpuset, "cpuset.cpus"), res.cpuset_cpus)
            if res.cpuset_mems:
                write(os.path.join(cpuset, "cpuset.mems"), res.cpuset_mems)
        pids = self.dir("pids")
        if pids and res.pids_limit is not None:
            write(os.path.join(pids, "pids.max"), str(res.pids_limit) if res.pids_limit > 0 else "max")
        devices = self.dir("devices")
        if devices and res.devices is not None:
            for rule in res.devices:
                write(os.path.join(devices, "devices.allow" if rule.allow else "devices.deny"), rule.v1_line())

    def freeze(self, frozen: bool) -> None:
        d = self.dir("freezer")
        if not d:
            from ..errors import RuntimeFailure

            raise RuntimeFailure("cgroup: the freezer controller is not mounted")
        want = "FROZEN" if frozen else "THAWED"
        state_file = os.path.join(d, "freezer.state")
        deadline = time.monotonic() + 5
        while True:
            write(state_file, want)
            if read(state_file) == want or time.monotonic() > deadline:
                return
            time.sleep(0.001)

    def is_frozen(self) -> bool:
        d = self.dir("freezer")
        return d is not None and read(os.path.join(d, "freezer.state")) == "FROZEN"

    def oom_kill_count(self) -> int:
        d = self.dir("memory")
        return read_kv(os.path.join(d, "memory.oom_control")).get("oom_kill", 0) if d else 0
