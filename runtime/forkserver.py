"""The fork server: monitors start as forks of one prepared interpreter.

A fresh Python interpreter costs ~15 ms to start and ~3 MB of private memory
to keep. Every container needs a monitor for its whole life, so monitors are
forked from this process instead: it has already imported everything a
monitor runs, has frozen its objects out of the garbage collector
(``gc.freeze()``, so collections do not touch and copy shared pages), and
forks one monitor per request. A monitor is ready in about a millisecond and
shares most of its pages with the server and with every other monitor.

The server holds no container state. Killing it loses nothing: running
monitors are independent processes in their own sessions, and the next
command starts a new server. It listens on a unix socket in the state root's
``run/`` directory (mode 0700, root's only), named after a fingerprint of the
code, so an upgraded tuidock never talks to an old server. It exits after
:data:`IDLE_EXIT` seconds without monitors or requests. Same idea as
``multiprocessing``'s forkserver and Android's zygote.

The same program, started with the role ``netserver``, is the network server:
it also preloads pyroute2 and libnftables, which monitors must not map, and
its forks connect a container to its network or disconnect it
(:func:`runtime.engine.networking.serve_net`), one request each.
"""

from __future__ import annotations

import gc
import os
import select
import signal
import socket
import struct
import sys
import time

from . import _sys, control
from .launch import FORK_SERVER, NET_SERVER, socket_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

IDLE_EXIT = 60.0
IDLE_POLL_MS = 5000
REQUEST_TIMEOUT = 10.0


def _preload(role: str) -> None:
    """Import everything a monitor (or, in the network server, a network call) runs, before any fork."""
    # What a monitor runs for its whole life is imported first, so its
    # objects sit together in a few pages instead of scattered among
    # everything else: a monitor touches (and so copies) fewer pages.
    from . import monitor  # noqa: F401

    import tarfile  # noqa: F401  (layer extraction)

    from . import container, execsession, signals, units  # noqa: F401
    from .cgroups import v1, v2  # noqa: F401
    from .engine import engine, hooks, limits, model, runflags, worker  # noqa: F401
    from .engine.flags import network, resources, volumes  # noqa: F401
    from .images import busybox  # noqa: F401
    from .net import ports  # noqa: F401  (published ports are reserved in the create worker)

    model.resolve_hints()
    if role != NET_SERVER:
        return

    # Networking (pyroute2 is ~180 ms to import and ~15 MB): only in the
    # network server, whose children connect and disconnect containers, so
    # that no monitor maps it. Its message classes compile their tables on
    # first use, and libnftables is loaded, here once rather than per call.
    from .engine import networking  # noqa: F401
    from .errors import NotFound
    from .net import endpoint, nft, rtnl  # noqa: F401

    rtnl.warm_up()
    try:
        nft.load()
    except NotFound:
        pass  # not installed: the first container on a bridge network says so


def _read_request(conn: socket.socket) -> dict[str, Any]:
    conn.settimeout(REQUEST_TIMEOUT)
    reader = control.FrameReader()
    while True:
        data = conn.recv(65536)
        if not data:
            raise ConnectionError("client went away")
        frames = reader.feed(data)
        if frames:
            kind, payload = frames[0]
            if kind != control.REQUEST:
                raise ValueError("expected a request frame")
            request: dict[str, Any] = control.decode(payload)
            return request


def _peer_uid(conn: socket.socket) -> int:
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    uid: int = struct.unpack("3i", creds)[2]
    return uid


def _child(conn: socket.socket, listener: socket.socket, wake_r: int, wake_w: int) -> None:
    listener.close()
    os.close(wake_r)
    os.close(wake_w)
    signal.set_wakeup_fd(-1)
    _sys.set_handler(signal.SIGCHLD, signal.SIG_DFL)  # not signal.signal: its enum wrapping copies pages
    _sys.set_handler(signal.SIGTERM, signal.SIG_DFL)
    os.setsid()
    try:
        if _peer_uid(conn) != os.getuid():
            raise PermissionError("peer is not the server's user")
        request = _read_request(conn)
    except (OSError, ValueError) as e:
        try:
            conn.sendall(control.jframe(control.REPLY, {"error": f"fork server: {e}", "code": 125}))
        except OSError:
            pass
        return
    conn.settimeout(None)
    if request.get("op") == "net":
        _net(request, conn)
        return
    if request.get("op") == "exec":
        from . import execsession

        _sys.set_name("tuidock-exec")
        execsession.serve(request, conn)
        return
    from . import monitor

    _sys.set_name("tuidock-monitor")

    monitor.serve(request, conn)


def _net(request: dict[str, Any], conn: socket.socket) -> None:
    """One call of a create worker or a monitor to the network server (runtime.engine.networking)."""
    from .engine import networking

    _sys.after_fork_child()  # short-lived and running library code (pyroute2): the full after-fork set-up
    _sys.set_name("tuidock-net")
    try:
        reply = networking.serve_net(request)
    except Exception as e:
        reply = control.error_reply(e)
    conn.sendall(control.jframe(control.REPLY, reply))


def serve(run_dir: str, fingerprint: str, ready_fd: int, role: str = FORK_SERVER) -> None:
    _preload(role)
    _sys.set_name("tuidock-forksrv" if role == FORK_SERVER else "tuidock-netsrv")
    dfd = os.open(run_dir, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    path = f"/proc/self/fd/{dfd}/{socket_name(fingerprint, role)}"
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    listener.bind(path)
    os.chmod(path, 0o600)
    listener.listen(128)
    with open(os.path.join(run_dir, f"{role}-{fingerprint}.pid"), "w") as f:
        f.write(str(os.getpid()))

    wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    stopping = False

    def _term(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _term)
    for sig in (signal.SIGHUP, signal.SIGINT, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_IGN)

    # Everything imported so far is shared with every monitor: keep the
    # collector's hands off it so it is never copied on write.
    gc.collect()
    gc.freeze()
    os.write(ready_fd, b"ok")
    os.close(ready_fd)
    # Errors before this point reached the starting command on stderr; from
    # now on nobody reads it.
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)

    # The loop does as little as it can: every page it writes after a fork
    # becomes a private copy in that child, so reading and checking the
    # request happen in the child, never here.
    children = 0
    last = time.monotonic()
    poller = select.poll()
    poller.register(listener.fileno(), select.POLLIN)
    poller.register(wake_r, select.POLLIN)
    while not stopping:
        for fd, _ in poller.poll(IDLE_POLL_MS):
            if fd == wake_r:
                try:
                    while os.read(wake_r, 512):
                        pass
                except BlockingIOError:
                    pass
            else:
                try:
                    conn, _ = listener.accept()
                except OSError:
                    continue
                pid = _sys.fork_quiet()
                if pid == 0:
                    try:
                        _child(conn, listener, wake_r, wake_w)
                    finally:
                        os._exit(0)
                children += 1
                conn.close()
                last = time.monotonic()
        while children:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                children = 0
                break
            if pid == 0:
                break
            children -= 1
        if not children and time.monotonic() - last > IDLE_EXIT:
            break
    try:
        if os.path.exists(path):
            os.unlink(path)
        os.unlink(os.path.join(run_dir, f"{role}-{fingerprint}.pid"))
    except OSError:
        pass


def main() -> None:
    run_dir, fingerprint, ready_fd = sys.argv[1], sys.argv[2], int(sys.argv[3])
    role = sys.argv[4] if len(sys.argv) > 4 else FORK_SERVER
    # Detach from the command that started us: it waits only for this first
    # process, and the server is re-parented, never a zombie of a long-lived TUI.
    if os.fork():
        os._exit(0)
    os.setsid()
    serve(run_dir, fingerprint, ready_fd, role)


if __name__ == "__main__":
    main()
