"""The interface both cgroup backends implement, and what they share."""

from __future__ import annotations

import errno
import os
import signal
import time
from abc import ABC, abstractmethod

from ..errors import RuntimeFailure, reason
from .resources import Resources


def write(path: str, value: str) -> None:
    """Write one cgroup control file; errors name the file and the value."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    except OSError as e:
        raise RuntimeFailure(f"cgroup {path}: cannot open: {reason(e)}") from None
    try:
        os.write(fd, value.encode())
    except OSError as e:
        raise RuntimeFailure(f"cgroup write {path} value={value!r}: {reason(e)}") from None
    finally:
        os.close(fd)


def read(path: str, default: str = "") -> str:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return default


def read_kv(path: str) -> dict[str, int]:
    """A flat keyed file (``key value`` per line), as memory.stat and cpu.stat are."""
    out: dict[str, int] = {}
    try:
        with open(path) as f:
            for line in f:
                k, _, v = line.partition(" ")
                try:
                    out[k] = int(v)
                except ValueError:
                    continue
    except OSError:
        pass
    return out


class Cgroup(ABC):
    """One container's cgroup. ``path`` is relative to the hierarchy root, e.g. ``/tuidock/3f2a...``."""

    version: int
    path: str

    @abstractmethod
    def dirs(self) -> list[str]:
        """The directories that make up this cgroup (one on v2, one per hierarchy on v1)."""

    @abstractmethod
    def create(self) -> None:
        """Create the cgroup (and its parents), ready to receive processes."""

    @abstractmethod
    def apply(self, res: Resources) -> None:
        """Write the limits that are set in ``res``."""

    @abstractmethod
    def freeze(self, frozen: bool) -> None:
        """Pause (freeze) or resume every process in the cgroup, and wait until it is done."""

    @abstractmethod
    def is_frozen(self) -> bool: ...

    @abstractmethod
    def oom_kill_count(self) -> int:
        """How many processes the OOM killer killed in this cgroup."""

    def exists(self) -> bool:
        return os.path.isdir(self.dirs()[0])

    def add_pid(self, pid: int) -> None:
        for d in self.dirs():
            write(os.path.join(d, "cgroup.procs"), str(pid))

    def pids(self) -> list[int]:
        out: set[int] = set()
        for d in self.dirs():
            try:
                with open(os.path.join(d, "cgroup.procs")) as f:
                    out.update(int(x) for x in f.read().split())
            except FileNotFoundError:
                continue
        return sorted(out)

    def kill_all(self) -> None:
        for pid in self.pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def destroy(self, timeout: float = 5.0) -> None:
        """Remove the cgroup, killing stragglers; waits for exiting processes to leave."""
        deadline = time.monotonic() + timeout
        for d in self.dirs():
            delay = 0.001
            while True:
                try:
                    os.rmdir(d)
                    break
                except FileNotFoundError:
                    break
                except OSError as e:
                    if e.errno != errno.EBUSY:
                        raise RuntimeFailure(f"cgroup {d}: cannot remove: {reason(e)}") from None
                    if time.monotonic() > deadline:
                        raise RuntimeFailure(f"cgroup {d}: still busy after {timeout:g}s") from None
                    self.kill_all()
                    if self.is_frozen():
                        self.freeze(False)  # frozen processes cannot die
                    time.sleep(delay)
                    delay = min(delay * 2, 0.05)
