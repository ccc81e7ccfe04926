"""The per-container monitor: the parent of a container's PID 1 for as long as it lives.

Like Podman's conmon, one small process per running container, and nothing
else running: it owns the container's terminal or its stdout/stderr pipes,
writes every byte of output to the log, serves attached clients on a unix
socket (``ctl.sock``), forwards stdin and window resizes, carries out
``stop`` (the signal, then SIGKILL after the timeout) even if the command
that asked is killed, reaps PID 1, records the exit atomically, and applies
the restart policy and ``--rm``.

It is forked from the fork server (:mod:`runtime.forkserver`) and keeps its
steady state small: creating the container, which runs through a lot of
code, happens in a short-lived worker it forks (:mod:`runtime.container`);
tearing down and ``--rm`` run in the monitor itself at the end of its life,
when the pages they touch no longer cost anything. It is a child subreaper, so PID 1, created
by a worker's child, becomes its child. One epoll loop serves the
output, the clients and the SIGCHLD wakeup pipe.
"""

from __future__ import annotations

import _socket
import errno
import fcntl
import json
import os
import select
import signal
import socket
import struct
import termios
import time
import traceback
from typing import Any

from . import _sys, control, logs, state
from .control import EXIT, REPLY, REQUEST, RESIZE, STDERR, STDIN, STDIN_EOF, STDOUT
from .errors import TuidockError, from_exit_code
from .state import Status

LOG_FILE = "ctr.log"
MONITOR_LOG = "monitor.log"
CLIENT_BUFFER_LIMIT = 4 << 20  # a slow attached client is dropped beyond this
DRAIN_TIMEOUT = 2.0
WORKER_TIMEOUT = 120.0
RESTART_BASE, RESTART_MAX, RESTART_RESET_AFTER = 0.1, 60.0, 10.0  # docker's back-off


READ, WRITE = 1, 2  # the events a registration asks for, as in selectors


class Key:
    __slots__ = ("fd", "events", "data")

    def __init__(self, fd: int, events: int, data: str) -> None:
        self.fd = fd
        self.events = events
        self.data = data


class Poller:
    """What the monitor needs of ``selectors``, on epoll(7) in a few lines of its own.

    ``selectors`` runs several layers of Python per call; in a monitor every
    page that code touches is copied out of what the fork server shares.
    Errors and hang-ups count as both readable and writable, as there, so
    the read or write that follows sees them.
    """

    __slots__ = ("ep", "keys")

    def __init__(self) -> None:
        self.ep = select.epoll()
        self.keys: dict[int, Key] = {}

    def register(self, fileobj: Any, events: int, data: str) -> None:
        fd = _fd(fileobj)
        self.ep.register(fd, _mask(events))
        self.keys[fd] = Key(fd, events, data)

    def modify(self, fileobj: Any, events: int, data: str) -> None:
        fd = _fd(fileobj)
        if fd not in self.keys:
            raise KeyError(fd)
        self.ep.modify(fd, _mask(events))
        self.keys[fd] = Key(fd, events, data)

    def unregister(self, fileobj: Any) -> None:
        fd = _fd(fileobj)
        del self.keys[fd]
        try:
            self.ep.unregister(fd)
        except OSError:
            pass

    def select(self, timeout: float | None = None) -> list[tuple[Key, int]]:
        ready = []
        for fd, ev in self.ep.poll(-1 if timeout is None else timeout, max(len(self.keys), 1)):
            key = self.keys.get(fd)
            if key is not None:
                events = (READ if ev & ~select.EPOLLOUT else 0) | (WRITE if ev & ~select.EPOLLIN else 0)
                ready.append((key, events & key.events))
        return ready


def _fd(fileobj: Any) -> int:
    return fileobj if isinstance(fileobj, int) else int(fileobj.fileno())


def _mask(events: int) -> int:
    return (select.EPOLLIN if events & READ else 0) | (select.EPOLLOUT if events & WRITE else 0)


def _wake(signum: int, frame: Any) -> None:
    """A signal's only job here is to write the wake-up byte (set_wakeup_fd) that ends select()."""


class Client:
    __slots__ = ("sock", "reader", "out", "attached", "stdin", "waiting")

    def __init__(self, sock: socket.socket, attached: bool = False, stdin: bool = False) -> None:
        self.sock = sock
        self.reader = control.FrameReader()
        self.out = bytearray()
        self.attached = attached
        self.stdin = stdin
        self.waiting = 0  # requests (stop, wait) answered at exit


class WorkerError(Exception):
    def __init__(self, reply: dict[str, Any]) -> None:
        super().__init__(reply.get("error", "worker failed"))
        self.reply = reply


class Monitor:
    def __init__(self, request: dict[str, Any], first: socket.socket | None) -> None:
        self.request = request
        self.sel = Poller()
        self.clients: dict[int, Client] = {}
        self.first = first
        self.state_dir = ""
        self.log: logs.LogWriter | None = None
        self.listener: socket.socket | None = None
        self.pid = 0  # PID 1 of the container, on the host
        self.cgroup = ""
        self.terminal = False
        self.outputs: dict[int, str] = {}  # fd -> stream name
        self.stdin_fd: int | None = None
        self.stdin_buf = bytearray()
        self.console: int | None = None
        self.start_fds: tuple[int, int] | None = None  # (start pipe, exec-error pipe) of a created container
        self.held: list[int] = []  # sockets holding the container's published host ports (runtime.net.ports)
        self.exit_status: int | None = None
        self.start_error = ""
        self.kill_deadline: float | None = None
        self.backoff = RESTART_BASE
        self.workers: set[int] = set()
        self.early: dict[int, int] = {}  # statuses reaped before we knew the pid was PID 1
        self.wake_r, self.wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)

    # ---- workers ----------------------------------------------------------------

    def in_worker(self, what: str, *args: Any) -> tuple[dict[str, Any], list[int]]:
        """Run ``runtime.container.<what>(*args)`` in a forked child; its report and descriptors."""
        parent, child = _socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)  # no Python wrapper objects
        pid = _sys.fork_quiet()  # the monitor's pages stay as they are; the worker's do not matter
        if pid == 0:
            _sys.after_fork_child()
            parent.close()
            reply: dict[str, Any]
            fds: list[int] = []
            try:
                # Nothing of the monitor's (clients, log, listener, its signal
                # wake-up pipe) is the worker's business; a wake-up byte written
                # to a descriptor number since reused would corrupt a protocol.
                signal.set_wakeup_fd(-1)
                _sys.set_handler(signal.SIGCHLD, signal.SIG_DFL)
                _sys.set_handler(signal.SIGTERM, signal.SIG_DFL)
                _sys.close_range(3, child.fileno() - 1)
                _sys.close_range(child.fileno() + 1)
                from . import container

                reply, fds = getattr(container, what)(*args)
            except BaseException as e:
                reply = control.error_reply(e)
                prepared = getattr(e, "prepared_request", None)
                if prepared is not None:
                    reply["request"] = prepared
                reply["traceback"] = traceback.format_exc()
            try:
                data = control.encode(reply)
                socket.send_fds(child, [data], fds) if fds else child.send(data)  # type: ignore[arg-type]
            finally:
                os._exit(0)
        child.close()
        self.workers.add(pid)
        parent.settimeout(WORKER_TIMEOUT)
        try:
            data, fds, _, _ = socket.recv_fds(parent, 1 << 20, 64)  # type: ignore[arg-type]  # any socket will do
        except (TimeoutError, OSError) as e:
            data, fds = control.encode({"error": f"monitor: {what} worker: {e}", "code": 125}), []
        finally:
            parent.close()
            self._reap()
        reply = control.decode(data) if data else {"error": f"monitor: {what} worker died", "code": 125}
        if "error" in reply:
            for fd in fds:
                os.close(fd)
            raise WorkerError(reply)
        return reply, fds

    # ---- set-up -------------------------------------------------------------------

    def _signals(self) -> None:
        _sys.prctl(_sys.PR_SET_CHILD_SUBREAPER, 1)
        signal.set_wakeup_fd(self.wake_w, warn_on_full_buffer=False)
        # _sys.set_handler, not signal.signal: the wrapper's enum conversions
        # run a lot of Python, and every page it touches is copied.
        _sys.set_handler(signal.SIGCHLD, _wake)
        for sig in (signal.SIGHUP, signal.SIGINT, signal.SIGPIPE, signal.SIGTTOU, signal.SIGTTIN):
            _sys.set_handler(sig, signal.SIG_IGN)
        _sys.set_handler(signal.SIGTERM, _wake)  # handled in the loop: stop the container
        self.sel.register(self.wake_r, READ, "wake")

    def _listen(self) -> None:
        dfd = os.open(self.state_dir, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            path = control.socket_path(dfd)
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC | socket.SOCK_NONBLOCK)
            s.bind(path)
            os.chmod(path, 0o600)
            s.listen(64)
        finally:
            os.close(dfd)
        self.listener = s
        self.sel.register(s, READ, "listen")

    def _adopt(self, report: dict[str, Any], fds: list[int]) -> None:
        """Take over what a create worker made: PID 1 and its descriptors."""
        self.pid = int(report["pid"])
        self.exit_status = self.early.pop(self.pid, None)
        self.early.clear()
        self.cgroup = report["cgroup"]
        self.terminal = bool(report["terminal"])
        named = dict(zip(report["fds"], fds))
        self.held = [fd for name, fd in zip(report["fds"], fds) if name == "hold"]
        self.outputs = {}
        for name in ("stdout", "stderr"):
            if name in named:
                self.outputs[named[name]] = name
        self.console = named.get("console")
        if self.console is not None:
            # One descriptor for both directions; only clients attached with stdin write to it.
            self.outputs[self.console] = "stdout"
        self.stdin_fd = named.get("stdin", self.console)
        if "start" in named:
            self.start_fds = (named["start"], named["exec"])
        for fd in self.outputs:
            os.set_blocking(fd, False)
            self.sel.register(fd, READ, "output")
        if self.stdin_fd is not None and self.stdin_fd not in self.outputs:
            os.set_blocking(self.stdin_fd, False)

    # ---- the life ---------------------------------------------------------------------

    def run(self) -> None:
        self._signals()
        first = None
        if self.first is not None:
            self.first.setblocking(False)
            attach = self.request.get("attach")
            first = Client(self.first, attached=attach is not None, stdin=bool(attach and attach.get("stdin")))
        try:
            report, fds = self.in_worker("create", self.request)
        except WorkerError as e:
            self._failed(first, e.reply)
            return
        self.request = report["request"]
        self.state_dir = self.request["state_dir"]
        self.log = logs.LogWriter(os.path.join(self.state_dir, LOG_FILE))
        self._listen()
        self._adopt(report, fds)
        if first is not None:
            self.clients[first.sock.fileno()] = first
            self.sel.register(first.sock, READ, "client")
            key = "started" if report["started"] else "created"
            extra = {"notice": report["notice"]} if report.get("notice") else {}
            self._reply(first, {key: self.pid, "id": self.request["id"], **extra})
        while True:
            self.loop()
            restart = self._exited()
            if not restart:
                break
            if not self._sleep_unless_stopped(self._next_delay()):
                # Stopped while waiting to restart: that was the last exit.
                st = state.update(self.state_dir, status=Status.STOPPED)
                for c in list(self.clients.values()):
                    for _ in range(c.waiting):
                        self._reply(c, {"exitCode": st.exit_code, "signal": st.exit_signal, "restarting": False})
                    c.waiting = 0
                break
            try:
                prev = state.load(self.state_dir)
                report, fds = self.in_worker("create", {**self.request, "start": True},
                                             (prev.restart_count if prev else 0) + 1)
            except WorkerError as e:
                self._log(e.reply.get("traceback", e.reply["error"]))
                state.update(self.state_dir, status=Status.STOPPED, error=e.reply["error"],
                             exit_code=int(e.reply.get("code", 125)), finished_ns=time.time_ns())
                break
            self._adopt(report, fds)
        self._finish()

    def _next_delay(self) -> float:
        st = state.load(self.state_dir)
        if st and st.started_ns and (st.finished_ns - st.started_ns) / 1e9 > RESTART_RESET_AFTER:
            self.backoff = RESTART_BASE
        delay, self.backoff = self.backoff, min(self.backoff * 2, RESTART_MAX)
        return delay

    def _failed(self, first: Client | None, reply: dict[str, Any]) -> None:
        """Creating failed: record it, tell the first client, clean up (``--rm`` included)."""
        request = reply.get("request")
        if request is not None:
            cid = request["id"][:12]
            if not reply["error"].startswith("container "):
                reply = {**reply, "error": f"container {cid}: {reply['error']}"}
            self.state_dir = request["state_dir"]
            try:
                state.update(self.state_dir, status=Status.STOPPED, exit_code=int(reply.get("code", 125)),
                             error=reply["error"], finished_ns=time.time_ns(), pid=0)
            except OSError:
                pass
            if reply.get("traceback"):
                self._log(reply["traceback"])
        if first is not None:
            self.clients[first.sock.fileno()] = first
            self.sel.register(first.sock, READ, "client")
            self._reply(first, {k: v for k, v in reply.items() if k in ("error", "code")})
            self._flush_all(1.0)
        if request is not None:
            self.request = request
            self._finalize()
        for c in list(self.clients.values()):
            self._drop(c)

    def loop(self) -> None:
        """Serve until PID 1 has exited and its output is drained."""
        while self.exit_status is None:
            timeout = None
            if self.kill_deadline is not None:
                timeout = max(0.0, self.kill_deadline - time.monotonic())
            for key, events in self.sel.select(timeout):
                self._dispatch(key, events)
            if self.kill_deadline is not None and time.monotonic() >= self.kill_deadline:
                self.kill_deadline = None
                self._kill(signal.SIGKILL)
        self._drain(DRAIN_TIMEOUT)

    def _exited(self) -> bool:
        """Record the exit, tear down in a worker, tell the clients; True if a restart follows."""
        status, self.exit_status = self.exit_status, None
        assert status is not None
        code = os.waitstatus_to_exitcode(status)
        sig = -code if code < 0 else None
        st = state.update(self.state_dir, status=Status.STOPPED, exit_code=128 + sig if sig else code,
                          exit_signal=sig, finished_ns=time.time_ns(), error=self.start_error, pid=0)
        self.start_error = ""
        self.pid = 0
        restart = False
        oom = False
        # In this process, not a worker: it is the end of the monitor's life
        # (or of one run), when the pages it touches no longer matter.
        from . import container

        try:
            report, _ = container.teardown(self.request, self.cgroup)
            restart, oom = bool(report["restart"]), bool(report["oom"])
            for error in report["errors"]:
                self._log(error)
        except Exception:
            self._log(traceback.format_exc())
        # The published ports' rules are gone: let the host ports go too.
        for fd in self.held:
            os.close(fd)
        self.held = []
        # "restarting" tells an attached `run` to return now, as docker's does
        # at the first exit; otherwise it waits for the hang-up after --rm.
        result = {"exitCode": st.exit_code, "signal": st.exit_signal, "oomKilled": oom, "restarting": restart,
                  **({"error": st.error} if st.error else {})}
        if restart:
            state.update(self.state_dir, status=Status.RESTARTING)
        for c in list(self.clients.values()):
            if c.attached:
                self._reply(c, result, kind=EXIT)
            for _ in range(c.waiting):
                self._reply(c, result)
            c.waiting = 0
        return restart

    def _finish(self) -> None:
        """Stop listening, run ``--rm`` in a worker, then let the clients go.

        Attached clients stay connected until the very end, so ``run --rm``
        returns only after the container is gone.
        """
        self._flush_all(1.0)
        if self.listener is not None:
            self.sel.unregister(self.listener)
            dfd = os.open(self.state_dir, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                os.unlink(control.socket_path(dfd))
            except FileNotFoundError:
                pass
            finally:
                os.close(dfd)
            self.listener.close()
            self.listener = None
        if self.log is not None:
            self.log.close()
            self.log = None
        self._finalize()
        for c in list(self.clients.values()):
            self._drop(c)

    def _finalize(self) -> None:
        from . import container

        try:
            container.finalize(self.request)
        except Exception:
            self._log(traceback.format_exc())

    # ---- events -----------------------------------------------------------------------

    def _dispatch(self, key: Key, events: int) -> None:
        kind = key.data
        if kind == "wake":
            signals = b""
            try:
                while chunk := os.read(self.wake_r, 512):
                    signals += chunk
            except BlockingIOError:
                pass
            if signal.SIGTERM in signals:
                # Someone asked the monitor itself to end: stop the container
                # the way `stop` would, so its exit is still recorded.
                self.stop(signal.SIGTERM, 10)
            self._reap()
        elif kind == "listen":
            self._accept()
        elif kind == "output":
            self._read_output(key.fd)
        elif kind == "client":
            c = self.clients.get(key.fd)
            if c is None:
                return
            if events & WRITE:
                self._flush(c)
            if events & READ:
                self._read_client(c)

    def _reap(self) -> None:
        for pid, status in _sys.reap_children():
            if pid in self.workers:
                self.workers.discard(pid)
            elif pid == self.pid and self.pid:
                self.exit_status = status
            else:
                # PID 1 can exit before its creating worker has reported it.
                self.early[pid] = status

    def _accept(self) -> None:
        assert self.listener is not None
        while True:
            try:
                s, _ = self.listener.accept()
            except BlockingIOError:
                return
            s.setblocking(False)
            self.clients[s.fileno()] = Client(s)
            self.sel.register(s, READ, "client")

    def _read_output(self, fd: int) -> None:
        stream = self.outputs[fd]
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        except OSError as e:
            if e.errno != errno.EIO:  # EIO: the terminal's last user closed it
                raise
            data = b""
        if not data:
            self.sel.unregister(fd)
            del self.outputs[fd]
            if fd != self.stdin_fd:
                os.close(fd)
            return
        if self.log is not None:
            self.log.write(stream, data)
        frame = control.frame(STDOUT if stream == "stdout" else STDERR, data)
        for c in list(self.clients.values()):
            if c.attached:
                self._queue(c, frame)

    def _drain(self, timeout: float) -> None:
        """After PID 1 exits, read what output is left until every writer is gone."""
        deadline = time.monotonic() + timeout
        while self.outputs and time.monotonic() < deadline:
            for key, events in self.sel.select(max(0.0, deadline - time.monotonic())):
                self._dispatch(key, events)
        for fd in list(self.outputs):
            self.sel.unregister(fd)
            os.close(fd)
        self.outputs = {}
        if self.stdin_fd is not None:
            try:
                os.close(self.stdin_fd)
            except OSError:
                pass
            self.stdin_fd = None
        self.console = None
        if self.start_fds is not None:
            for fd in self.start_fds:
                os.close(fd)
            self.start_fds = None

    # ---- clients ----------------------------------------------------------------------

    def _queue(self, c: Client, data: bytes) -> None:
        c.out += data
        if len(c.out) > CLIENT_BUFFER_LIMIT:
            self._drop(c)
            return
        self._flush(c)

    def _flush(self, c: Client) -> None:
        try:
            while c.out:
                n = c.sock.send(c.out)
                del c.out[:n]
        except BlockingIOError:
            pass
        except OSError:
            self._drop(c)
            return
        want = READ | (WRITE if c.out else 0)
        try:
            self.sel.modify(c.sock, want, "client")
        except (KeyError, ValueError):
            pass

    def _flush_all(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while any(c.out for c in self.clients.values()) and time.monotonic() < deadline:
            for key, events in self.sel.select(max(0.0, deadline - time.monotonic())):
                if key.data == "client":
                    self._dispatch(key, events)

    def _drop(self, c: Client) -> None:
        fd = c.sock.fileno()
        if fd in self.clients:
            del self.clients[fd]
            try:
                self.sel.unregister(c.sock)
            except (KeyError, ValueError):
                pass
        c.sock.close()

    def _reply(self, c: Client | None, obj: dict[str, Any], kind: int = REPLY) -> None:
        if c is not None:
            self._queue(c, control.jframe(kind, obj))

    def _read_client(self, c: Client) -> None:
        try:
            data = c.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            if c.stdin and not self.terminal:
                self._close_stdin()  # docker's StdinOnce: the attached stdin ended
            self._drop(c)
            return
        try:
            frames = c.reader.feed(data)
        except ValueError:
            self._drop(c)
            return
        for kind, payload in frames:
            try:
                self._handle(c, kind, payload)
            except Exception as e:
                self._reply(c, control.error_reply(e))

    def _handle(self, c: Client, kind: int, payload: bytes) -> None:
        if kind == STDIN:
            if c.stdin:
                self._write_stdin(payload)
        elif kind == STDIN_EOF:
            if c.stdin and not self.terminal:
                self._close_stdin()
        elif kind == RESIZE:
            size = control.decode(payload)
            self.resize(int(size["rows"]), int(size["cols"]))
        elif kind == REQUEST:
            self._request(c, control.decode(payload))

    def _request(self, c: Client, req: dict[str, Any]) -> None:
        op = req.get("op")
        cid = self.request["id"][:12]
        if op == "attach":
            c.attached = True
            c.stdin = bool(req.get("stdin")) and self.stdin_fd is not None
            self._reply(c, {"attached": True, "terminal": self.terminal})
        elif op == "start":
            if self.start_fds is None:
                self._reply(c, {"error": f"container {cid}: cannot start a container that is running", "code": 125})
                return
            try:
                self._start()
            except TuidockError as e:
                # PID 1 exits with the execve error's code; the reap records it.
                self.start_error = f"container {cid}: {e}"
                self._reply(c, {**control.error_reply(e), "error": self.start_error})
                return
            self._reply(c, {"started": self.pid})
        elif op == "stop":
            self.stop(int(req.get("signal", signal.SIGTERM)), float(req.get("timeout", 10)))
            c.waiting += 1
        elif op == "kill":
            self._kill(int(req.get("signal", signal.SIGKILL)))
            self._reply(c, {"ok": True})
        elif op == "wait":
            c.waiting += 1
        elif op == "resize":
            self.resize(int(req["rows"]), int(req["cols"]))
            self._reply(c, {"ok": True})
        else:
            self._reply(c, {"error": f"monitor: unknown request {op!r}", "code": 125})

    def _start(self) -> None:
        """Let a created container's PID 1 execve (``tuidock-runtime start``)."""
        assert self.start_fds is not None
        start_w, exec_r = self.start_fds
        self.start_fds = None
        try:
            os.write(start_w, b"s")
        except BrokenPipeError:
            pass
        os.close(start_w)
        os.set_blocking(exec_r, True)
        data = b""
        try:
            while chunk := os.read(exec_r, 4096):
                data += chunk
        finally:
            os.close(exec_r)
        if data:
            err = json.loads(data)
            raise from_exit_code(int(err.get("code", 125)), err["error"])
        state.update(self.state_dir, status=Status.RUNNING, started_ns=time.time_ns())

    def _write_stdin(self, data: bytes) -> None:
        if self.stdin_fd is None:
            return
        self.stdin_buf += data
        try:
            while self.stdin_buf:
                n = os.write(self.stdin_fd, self.stdin_buf)
                del self.stdin_buf[:n]
        except BlockingIOError:
            pass  # the container is not reading; keep it (bounded by the client's frames)
        except OSError:
            self.stdin_buf.clear()

    def _close_stdin(self) -> None:
        if self.stdin_fd is not None and self.stdin_fd not in self.outputs:
            try:
                os.set_blocking(self.stdin_fd, True)
                if self.stdin_buf:
                    os.write(self.stdin_fd, self.stdin_buf)
                os.close(self.stdin_fd)
            except OSError:
                pass
            self.stdin_fd = None

    # ---- operations ---------------------------------------------------------------------

    def resize(self, rows: int, cols: int) -> None:
        if self.console is not None:
            fcntl.ioctl(self.console, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def stop(self, sig: int, timeout: float) -> None:
        """Send the stop signal now and SIGKILL after ``timeout`` seconds."""
        state.update(self.state_dir, stop_requested=True)
        self._kill(sig)
        deadline = time.monotonic() + max(timeout, 0)
        if self.kill_deadline is None or deadline < self.kill_deadline:
            self.kill_deadline = deadline

    def _kill(self, sig: int) -> None:
        if not self.pid or self.exit_status is not None:
            return
        try:
            os.kill(self.pid, sig)
        except ProcessLookupError:
            pass
        if self.cgroup:
            from . import cgroups

            cg = cgroups.open_cgroup(self.cgroup)
            if sig == signal.SIGKILL:
                cg.kill_all()
            if cg.is_frozen():
                cg.freeze(False)  # a frozen process cannot act on a signal
                state.update(self.state_dir, status=Status.RUNNING)

    def _sleep_unless_stopped(self, delay: float) -> bool:
        """Wait out a restart delay, still serving clients; False if a stop came."""
        deadline = time.monotonic() + delay
        while time.monotonic() < deadline:
            for key, events in self.sel.select(max(0.0, deadline - time.monotonic())):
                if key.data in ("listen", "client", "wake"):
                    self._dispatch(key, events)
            st = state.load(self.state_dir)
            if st is None or st.stop_requested:
                return False
        return True

    def _log(self, text: str) -> None:
        if not self.state_dir:
            return
        try:
            with open(os.path.join(self.state_dir, MONITOR_LOG), "a") as f:
                f.write(time.strftime("%Y-%m-%dT%H:%M:%S ") + text.rstrip() + "\n")
        except OSError:
            pass


def serve(request: dict[str, Any], first: socket.socket | None) -> None:
    """Entry point in the freshly forked monitor process."""
    mon = Monitor(request, first)
    try:
        mon.run()
    except Exception:
        mon._log(traceback.format_exc())
        if mon.state_dir:
            try:
                state.update(mon.state_dir, status=Status.STOPPED, error="monitor failed; see monitor.log",
                             finished_ns=time.time_ns())
            except OSError:
                pass
        if mon.pid:
            try:
                os.kill(mon.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
