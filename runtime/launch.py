"""Asking the fork server for a monitor (client side), starting the server when needed."""

from __future__ import annotations

import os
import select
import sys
import zlib

TYPE_CHECKING = False  # the typing module costs milliseconds this command cannot spare
if TYPE_CHECKING:
    from typing import Any

from . import control, fsutil
from .errors import RuntimeFailure

# A start takes ~0.3 s here; under software emulation (tools/cgroup2-vm: a cold
# 9p root, Python ten times slower) importing the engine takes 20 s and more.
# The wait only matters when a server hangs, so it is generous.
SERVER_START_TIMEOUT = 90.0
_fingerprint: str | None = None


def fingerprint() -> str:
    """Identifies this interpreter and this version of the runtime code (paths, sizes, mtimes)."""
    global _fingerprint
    if _fingerprint is None:
        pkg = os.path.dirname(os.path.abspath(__file__))
        parts = [sys.executable, pkg]
        for dirpath, dirnames, filenames in os.walk(pkg):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            for name in sorted(filenames):
                if name.endswith(".py"):
                    st = os.stat(os.path.join(dirpath, name))
                    parts.append(f"{dirpath}/{name}:{st.st_mtime_ns}:{st.st_size}")
        data = "\n".join(parts).encode()
        _fingerprint = f"{zlib.crc32(data):08x}{zlib.adler32(data):08x}"
    return _fingerprint


FORK_SERVER, NET_SERVER = "forkserver", "netserver"  # the two servers of a state root (runtime.forkserver)


def socket_name(fingerprint: str, role: str = FORK_SERVER) -> str:
    return f"{role}-{fingerprint}.sock"


def _connect(run_dir: str, role: str) -> Any:
    dfd = os.open(run_dir, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        s = control.unix_socket()
        try:
            s.connect(f"/proc/self/fd/{dfd}/{socket_name(fingerprint(), role)}")
        except OSError:
            s.close()
            raise
        return s
    finally:
        os.close(dfd)


def _start_server(run_dir: str, role: str) -> None:
    import subprocess

    r, w = os.pipe()
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
    for k in ("PYTHONPATH",):
        if k in os.environ:
            env[k] = os.environ[k]
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "runtime.forkserver", run_dir, fingerprint(), str(w), role],
            pass_fds=(w,), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            cwd="/", env=env, start_new_session=True,
        )
    finally:
        os.close(w)
    try:
        ready, _, _ = select.select([r], [], [], SERVER_START_TIMEOUT)
        data = os.read(r, 16) if ready else b""
    finally:
        os.close(r)
    _, err = proc.communicate(timeout=SERVER_START_TIMEOUT)  # the first process exits at once (it forks)
    if data != b"ok":
        detail = (err or b"").decode(errors="replace").strip().splitlines()
        what = "fork server" if role == FORK_SERVER else "network server"
        raise RuntimeFailure(f"{what} in {run_dir} did not start: {detail[-1] if detail else 'no output'}")


def connect_server(run_dir: str, role: str = FORK_SERVER) -> Any:
    """A connection to the fork server (or the network server) for ``run_dir``, starting one if none listens."""
    try:
        return _connect(run_dir, role)
    except (FileNotFoundError, ConnectionRefusedError):
        pass
    os.makedirs(run_dir, mode=0o700, exist_ok=True)
    with fsutil.locked(os.path.join(run_dir, f"{role}.lock")):
        try:
            return _connect(run_dir, role)
        except (FileNotFoundError, ConnectionRefusedError):
            _start_server(run_dir, role)
        return _connect(run_dir, role)


def spawn_monitor(run_dir: str, request: dict[str, Any]) -> control.Connection:
    """Have the fork server fork a process for ``request`` (a monitor, or an exec session).

    The returned connection is that process's first client.
    """
    s = connect_server(run_dir)
    conn = control.Connection(s)
    conn.request(request.pop("op", "spawn"), **request)
    return conn


def stop_servers(run_dir: str) -> None:
    """End the fork servers of a state root (tests and ``system prune`` use this)."""
    import signal

    try:
        names = os.listdir(run_dir)
    except FileNotFoundError:
        return
    for name in names:
        if name.startswith((f"{FORK_SERVER}-", f"{NET_SERVER}-")) and name.endswith(".pid"):
            try:
                pid = int(fsutil.read_text(os.path.join(run_dir, name)).strip())
                cmdline = fsutil.read_text(f"/proc/{pid}/cmdline")
                if "runtime.forkserver" in cmdline and run_dir in cmdline:
                    os.kill(pid, signal.SIGTERM)
            except (ValueError, ProcessLookupError):
                pass
