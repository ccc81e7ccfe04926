"""Linux capabilities: names, the default set, --cap-add/--cap-drop, and applying them.

The default set is Podman's eleven (docker adds AUDIT_WRITE, MKNOD and
NET_RAW). A container process gets the set as bounding, permitted and
effective; inheritable and ambient stay empty, so an exec'd binary without
file capabilities keeps nothing it was not given (capabilities(7)).
"""

from __future__ import annotations

from collections.abc import Iterable

from . import _sys
from .errors import InvalidArgument

# capability(7) numbers, in order.
NAMES = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK",
    "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
    "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
)
NUMBERS = {name: i for i, name in enumerate(NAMES)}

DEFAULT = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
    "CAP_NET_BIND_SERVICE", "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID",
    "CAP_SYS_CHROOT",
)


def last_cap(proc: str = "/proc") -> int:
    """The highest capability this kernel knows."""
    try:
        with open(f"{proc}/sys/kernel/cap_last_cap") as f:
            return int(f.read())
    except OSError:
        return len(NAMES) - 1


def normalize(name: str) -> str:
    """``net_admin`` / ``NET_ADMIN`` / ``CAP_NET_ADMIN`` → ``CAP_NET_ADMIN``."""
    up = name.strip().upper()
    if up == "ALL":
        return up
    if not up.startswith("CAP_"):
        up = "CAP_" + up
    if up not in NUMBERS:
        raise InvalidArgument(f"capability {name}: unknown capability")
    return up


def resolve(add: Iterable[str] = (), drop: Iterable[str] = (), base: Iterable[str] = DEFAULT) -> list[str]:
    """The set docker computes for --cap-add/--cap-drop: ``ALL`` works on both sides."""
    add_n = {normalize(c) for c in add}
    drop_n = {normalize(c) for c in drop}
    if "ALL" in add_n:
        # Everything, minus what is dropped by name (docker's TweakCapabilities).
        caps = set(NAMES[: last_cap() + 1]) - drop_n
    elif "ALL" in drop_n:
        caps = add_n - {"ALL"}
    else:
        caps = (set(base) - drop_n) | add_n
    return sorted(caps, key=NUMBERS.__getitem__)


def mask(names: Iterable[str]) -> int:
    m = 0
    for n in names:
        num = NUMBERS.get(n)
        if num is not None:
            m |= 1 << num
    return m


def names_of(m: int) -> list[str]:
    return [name for i, name in enumerate(NAMES) if m & (1 << i)]


def drop_bounding(keep: Iterable[str]) -> None:
    """Shrink the bounding set to ``keep``; needs CAP_SETPCAP, so before dropping to the user."""
    mask_keep = mask(keep)
    for cap in range(last_cap() + 1):
        if not mask_keep & (1 << cap):
            _sys.prctl(_sys.PR_CAPBSET_DROP, cap)


def set_sets(effective: Iterable[str], permitted: Iterable[str], inheritable: Iterable[str],
             ambient: Iterable[str]) -> None:
    """Set this process's capability sets (after setuid, just before execve)."""
    inheritable = list(inheritable)
    permitted = list(permitted)
    _sys.capset(mask(effective), mask(permitted), mask(inheritable))
    _sys.prctl(_sys.PR_CAP_AMBIENT, _sys.PR_CAP_AMBIENT_CLEAR_ALL)
    for name in ambient:
        # The kernel raises an ambient capability only if it is both permitted
        # and inheritable; like runc, skip the ones that are not (``runc spec``
        # lists ambient capabilities with an empty inheritable set).
        if name in NUMBERS and name in inheritable and name in permitted:
            _sys.prctl(_sys.PR_CAP_AMBIENT, _sys.PR_CAP_AMBIENT_RAISE, NUMBERS[name])
