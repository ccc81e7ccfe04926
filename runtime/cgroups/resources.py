"""Resource limits as one typed value, converted to and from the OCI ``linux.resources``."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any


@dataclass(frozen=True)
class Resources:
    """The limits a container runs under; ``None`` means "not set" (unlimited or the default)."""

    memory: int | None = None  # bytes
    memory_reservation: int | None = None  # bytes (soft limit)
    memory_swap: int | None = None  # memory + swap, bytes; -1 = unlimited swap
    cpu_shares: int | None = None  # v1 relative weight, 2..262144 (1024 is the default)
    nano_cpus: int | None = None  # docker's --cpus in billionths of a CPU; becomes quota/period 100000
    cpu_quota: int | None = None  # microseconds per period; -1 = unlimited
    cpu_period: int | None = None  # microseconds
    cpuset_cpus: str | None = None  # "0-1", "0,2"
    cpuset_mems: str | None = None
    pids_limit: int | None = None  # <= 0: unlimited (set so, e.g. by ``update --pids-limit -1``)
    oom_kill_disable: bool | None = None
    devices: tuple[DeviceRule, ...] | None = None

    @property
    def cpus(self) -> float | None:
        """The CPU limit as docker's ``--cpus`` value (nano-CPUs, or quota / period)."""
        if self.nano_cpus:
            return self.nano_cpus / 1e9
        if self.cpu_quota is None or self.cpu_quota <= 0:
            return None
        return self.cpu_quota / (self.cpu_period or 100_000)

    def folded(self) -> Resources:
        """What the kernel is given: ``nano_cpus`` turned into CFS quota per 100 ms period, as docker does.

        The cgroup backends only know quota and period; ``nano_cpus`` is kept
        in the record so ``inspect`` shows docker's ``NanoCpus``.
        """
        if not self.nano_cpus:
            return self
        period = 100_000
        return replace(self, nano_cpus=None, cpu_period=period, cpu_quota=self.nano_cpus * period // 1_000_000_000)

    def merged(self, other: Resources) -> Resources:
        """These limits with every field set in ``other`` replaced (for ``update``)."""
        changes = {f.name: getattr(other, f.name) for f in fields(other) if getattr(other, f.name) is not None}
        return Resources(**{**{f.name: getattr(self, f.name) for f in fields(self)}, **changes})

    def to_oci(self) -> dict[str, Any]:
        r = self.folded()  # OCI has no nano-CPUs
        out: dict[str, Any] = {}
        mem = {k: v for k, v in (("limit", r.memory), ("reservation", r.memory_reservation),
                                 ("swap", r.memory_swap), ("disableOOMKiller", r.oom_kill_disable))
               if v is not None}
        if mem:
            out["memory"] = mem
        cpu = {k: v for k, v in (("shares", r.cpu_shares), ("quota", r.cpu_quota), ("period", r.cpu_period),
                                 ("cpus", r.cpuset_cpus), ("mems", r.cpuset_mems)) if v is not None}
        if cpu:
            out["cpu"] = cpu
        if r.pids_limit is not None:
            out["pids"] = {"limit": r.pids_limit}
        if r.devices is not None:
            out["devices"] = [d.to_oci() for d in r.devices]
        return out

    @classmethod
    def from_oci(cls, d: dict[str, Any]) -> Resources:
        mem = d.get("memory") or {}
        cpu = d.get("cpu") or {}
        pids = d.get("pids") or {}
        devs = d.get("devices")
        return cls(
            memory=mem.get("limit"),
            memory_reservation=mem.get("reservation"),
            memory_swap=mem.get("swap"),
            oom_kill_disable=mem.get("disableOOMKiller"),
            cpu_shares=cpu.get("shares"),
            cpu_quota=cpu.get("quota"),
            cpu_period=cpu.get("period"),
            cpuset_cpus=cpu.get("cpus"),
            cpuset_mems=cpu.get("mems"),
            pids_limit=pids.get("limit"),
            devices=tuple(DeviceRule.from_oci(x) for x in devs) if devs is not None else None,
        )


@dataclass(frozen=True)
class DeviceRule:
    """One device cgroup rule: ``allow``/``deny``, type ``a``/``c``/``b``, major, minor (-1 = any), access ``rwm``."""

    allow: bool
    type: str = "a"
    major: int = -1
    minor: int = -1
    access: str = "rwm"

    def v1_line(self) -> str:
        maj = "*" if self.major < 0 else str(self.major)
        mnr = "*" if self.minor < 0 else str(self.minor)
        return "a" if self.type == "a" else f"{self.type} {maj}:{mnr} {self.access}"

    def to_oci(self) -> dict[str, Any]:
        d: dict[str, Any] = {"allow": self.allow, "type": self.type, "access": self.access}
        if self.major >= 0:
            d["major"] = self.major
        if self.minor >= 0:
            d["minor"] = self.minor
        return d

    @classmethod
    def from_oci(cls, d: dict[str, Any]) -> DeviceRule:
        major, minor = d.get("major"), d.get("minor")
        return cls(bool(d.get("allow")), d.get("type", "a") or "a",
                   -1 if major is None else int(major), -1 if minor is None else int(minor), d.get("access", "rwm"))


# Docker's default device allowlist (moby oci/defaults.go): the nodes tuidock
# creates in /dev, plus mknod of any char/block device (mknod needs CAP_MKNOD,
# which the default set does not grant), and the pty devices.
DEFAULT_DEVICE_RULES = (
    DeviceRule(False, "a"),
    DeviceRule(True, "c", -1, -1, "m"),
    DeviceRule(True, "b", -1, -1, "m"),
    DeviceRule(True, "c", 1, 3, "rwm"),  # null
    DeviceRule(True, "c", 1, 5, "rwm"),  # zero
    DeviceRule(True, "c", 1, 7, "rwm"),  # full
    DeviceRule(True, "c", 1, 8, "rwm"),  # random
    DeviceRule(True, "c", 1, 9, "rwm"),  # urandom
    DeviceRule(True, "c", 5, 0, "rwm"),  # tty
    DeviceRule(True, "c", 5, 1, "rwm"),  # console
    DeviceRule(True, "c", 5, 2, "rwm"),  # ptmx
    DeviceRule(True, "c", 136, -1, "rwm"),  # pts/*
)
