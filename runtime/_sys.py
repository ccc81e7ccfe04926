"""The one door to the kernel calls that Python's standard library lacks.

Everything here is a thin ctypes wrapper: mount(2), umount2(2), pivot_root(2),
unshare(2), setns(2), prctl(2), capget(2)/capset(2), close_range(2), and fork(2)
without CPython's at-fork callbacks. Every
failure raises :class:`SyscallError`, an ``OSError`` whose message names the
operation, the path and the flags, in the style of runc:

    mount /var/lib/tuidock/containers/3f2a.../merged/proc src=proc flags=MS_NOSUID|MS_NODEV: operation not permitted

Callers match on ``errno``, never on the message text.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # the C functions under signal.py's enum wrappers
import ctypes
import os
import platform
from collections.abc import Callable
from typing import Any

_libc = ctypes.CDLL(None, use_errno=True)

# clone(2) / unshare(2) / setns(2) namespace flags.
CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

# mount(2) flags.
MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_SYNCHRONOUS = 0x10
MS_REMOUNT = 0x20
MS_MANDLOCK = 0x40
MS_DIRSYNC = 0x80
MS_NOSYMFOLLOW = 0x100
MS_NOATIME = 0x400
MS_NODIRATIME = 0x800
MS_BIND = 0x1000
MS_MOVE = 0x2000
MS_REC = 0x4000
MS_SILENT = 0x8000
MS_UNBINDABLE = 0x20000
MS_PRIVATE = 0x40000
MS_SLAVE = 0x80000
MS_SHARED = 0x100000
MS_RELATIME = 0x200000
MS_STRICTATIME = 0x1000000
MS_LAZYTIME = 0x2000000

MNT_FORCE = 0x1
MNT_DETACH = 0x2

_MS_NAMES = {
    v: k
    for k, v in globals().items()
    if k.startswith("MS_") and isinstance(v, int)
}

# prctl(2) options.
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_NAME = 15
PR_SET_KEEPCAPS = 8
PR_CAPBSET_READ = 23
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_SET_CHILD_SUBREAPER = 36
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_RAISE = 2
PR_CAP_AMBIENT_CLEAR_ALL = 4

_LINUX_CAPABILITY_VERSION_3 = 0x20080522

# pivot_root(2) has no glibc wrapper; the number depends on the architecture.
_SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "ppc64le": 203, "s390x": 217}
_SYS_CLOSE_RANGE = 436  # the same on every architecture (added in 5.9)


class SyscallError(OSError):
    """A failed system call, with the operation and its arguments in the message."""

    def __init__(self, err: int, what: str) -> None:
        super().__init__(err, os.strerror(err))
        self.what = what

    def __str__(self) -> str:
        return f"{self.what}: {self.strerror.lower() if self.strerror else self.errno}"


def _check(ret: int, what: str) -> int:
    if ret == -1:
        raise SyscallError(ctypes.get_errno(), what)
    return ret


def mount_flags_str(flags: int) -> str:
    """Spell mount flags as runc does in its errors: ``MS_BIND|MS_REC``."""
    names = [name for bit, name in sorted(_MS_NAMES.items()) if flags & bit]
    return "|".join(names) if names else "0"


_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_libc.unshare.argtypes = [ctypes.c_int]
_libc.setns.argtypes = [ctypes.c_int, ctypes.c_int]
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
_libc.syscall.restype = ctypes.c_long


def _b(s: str | None) -> bytes | None:
    return None if s is None else os.fsencode(s)


def mount(source: str | None, target: str, fstype: str | None, flags: int = 0, data: str | None = None) -> None:
    """mount(2). ``target`` may be a ``/proc/self/fd/N`` path of a verified directory."""
    ret = _libc.mount(_b(source), _b(target), _b(fstype), flags, _b(data))
    if ret == -1:
        err = ctypes.get_errno()
        desc = f"mount {target}"
        if source:
            desc += f" src={source}"
        if fstype:
            desc += f" type={fstype}"
        desc += f" flags={mount_flags_str(flags)}"
        if data:
            desc += f" data={data}"
        raise SyscallError(err, desc)


def umount2(target: str, flags: int = 0) -> None:
    _check(_libc.umount2(_b(target), flags), f"umount {target}")


def pivot_root(new_root: str, put_old: str) -> None:
    nr = _SYS_PIVOT_ROOT.get(platform.machine())
    if nr is None:
        raise SyscallError(38, f"pivot_root {new_root}: unsupported architecture {platform.machine()}")
    _check(_libc.syscall(nr, _b(new_root), _b(put_old)), f"pivot_root {new_root} {put_old}")


def unshare(flags: int) -> None:
    _check(_libc.unshare(flags), f"unshare flags={flags:#x}")


def setns(fd: int, nstype: int, what: str = "") -> None:
    _check(_libc.setns(fd, nstype), f"setns {what or fd}")


_PR_NAMES = {v: k for k, v in globals().items() if k.startswith("PR_") and "AMBIENT_" not in k and isinstance(v, int)}


def prctl(option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0, arg5: int = 0) -> int:
    what = f"prctl {_PR_NAMES.get(option, option)}"
    return _check(_libc.prctl(option, arg2, arg3, arg4, arg5), f"{what} {arg2}" if arg2 else what)


# prctl with a string argument needs its own prototype (a second handle on libc).
_prctl_str = ctypes.CDLL(None, use_errno=True).prctl
_prctl_str.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]


def set_name(name: str) -> None:
    """The process's ``comm`` (what ps and top show), at most 15 bytes."""
    _check(_prctl_str(PR_SET_NAME, name.encode()[:15], 0, 0, 0), f"prctl PR_SET_NAME {name}")


def close_range(first: int, last: int = 0xFFFFFFFF) -> None:
    """Close every descriptor from ``first`` to ``last`` in one call."""
    if _libc.syscall(_SYS_CLOSE_RANGE, ctypes.c_uint(first), ctypes.c_uint(last), ctypes.c_uint(0)) == -1:
        os.closerange(first, 65536)  # kernels before 5.9


def setdomainname(name: str) -> None:
    raw = name.encode()
    _check(_libc.setdomainname(raw, len(raw)), f"setdomainname {name}")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def capget(pid: int = 0) -> tuple[int, int, int]:
    """Return the (effective, permitted, inheritable) sets of ``pid`` as 64-bit masks."""
    hdr = _CapHeader(_LINUX_CAPABILITY_VERSION_3, pid)
    data = (_CapData * 2)()
    _check(_libc.capget(ctypes.byref(hdr), data), f"capget pid={pid}")
    return (
        data[0].effective | data[1].effective << 32,
        data[0].permitted | data[1].permitted << 32,
        data[0].inheritable | data[1].inheritable << 32,
    )


def capset(effective: int, permitted: int, inheritable: int) -> None:
    hdr = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    for i, shift in enumerate((0, 32)):
        data[i].effective = (effective >> shift) & 0xFFFFFFFF
        data[i].permitted = (permitted >> shift) & 0xFFFFFFFF
        data[i].inheritable = (inheritable >> shift) & 0xFFFFFFFF
    _check(_libc.capset(ctypes.byref(hdr), data), "capset")


def reap_children() -> list[tuple[int, int]]:
    """Every child that has ended, as (pid, wait status), without blocking (for a SIGCHLD handler's loop)."""
    out: list[tuple[int, int]] = []
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return out
        if pid == 0:
            return out
        out.append((pid, status))


# PyDLL keeps the GIL across the call: the child starts holding it, as after os.fork().
_pyapi = ctypes.PyDLL(None, use_errno=True)
_pyapi.fork.restype = ctypes.c_int
_pyapi.PyOS_AfterFork_Child.restype = None


def fork_quiet() -> int:
    """fork(2) without CPython's at-fork callbacks; 0 in the child, as ``os.fork()``.

    ``os.fork()`` runs every ``os.register_at_fork`` callback: threading
    rebuilds its bookkeeping, random reseeds, logging takes and resets its
    locks. In a child of the fork server each of those writes copies shared
    pages, about 0.5 MB per long-lived monitor for work it never needs. Only
    for a process with a single thread (the fork server and the monitors
    are): then the interpreter's own state is as consistent in the child as
    it was in the parent. A child that will run arbitrary code calls
    :func:`after_fork_child` first.
    """
    pid: int = _pyapi.fork()
    if pid < 0:
        raise OSError(ctypes.get_errno(), f"fork: {os.strerror(ctypes.get_errno())}")
    return pid


def after_fork_child() -> None:
    """In a child of :func:`fork_quiet`: what ``os.fork()`` would have done there (locks, threading, random)."""
    _pyapi.PyOS_AfterFork_Child()


def set_handler(sig: int, handler: Callable[[int, Any], None] | int) -> None:
    """``signal.signal`` without its enum conversions, whose Python code would copy pages in a forked monitor."""
    if isinstance(handler, int):  # SIG_DFL or SIG_IGN: the C function knows only its own objects
        handler = _signal.SIG_IGN if handler == _signal.SIG_IGN else _signal.SIG_DFL
    _signal.signal(sig, handler)
