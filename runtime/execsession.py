"""``exec``: a new process inside a running container, joined to it with setns(2).

As the seed notes describe ``docker exec``: a process opens the container
PID 1's ``/proc/<pid>/ns/*`` links, joins its cgroup, then calls setns(2) for
each namespace (the mount namespace last, since /proc paths of the host stop
resolving after it) and forks, because a new PID namespace applies to
children only. The child is now a process of the container: it gets the
container's environment plus ``-e`` values, its user (or ``-u``), its
capability set and, by the mount namespace, its masked and read-only paths,
then calls execve(2) on a program found in the *container's* PATH. Nothing of
the host runs inside: the joining process makes itself non-dumpable before
the first setns (so container processes cannot read its memory or open
/proc/<pid>/exe), and only descriptors 0, 1 and 2 survive into the program.

The session runs in a process forked from the fork server (everything is
imported already); it relays the program's terminal or pipes to the client
over the monitor protocol (:mod:`runtime.control`), so ``tuidock exec`` is a
thin client like ``run``, and reports the exit code (126/127 when the program
cannot run).
"""

from __future__ import annotations

import dataclasses
import errno
import fcntl
import json
import os
import selectors
import signal
import socket
import struct
import termios
import time
from typing import Any

from . import _sys, cgroups, control, init, procfs
from .control import EXIT, REPLY, REQUEST, RESIZE, STDERR, STDIN, STDIN_EOF, STDOUT
from .errors import Conflict, RuntimeFailure, TuidockError
from .oci import spec as ocispec

NS_ORDER = (("ipc", _sys.CLONE_NEWIPC), ("uts", _sys.CLONE_NEWUTS), ("net", _sys.CLONE_NEWNET),
            ("pid", _sys.CLONE_NEWPID), ("cgroup", _sys.CLONE_NEWCGROUP), ("mnt", _sys.CLONE_NEWNS))


def merge_env(base: tuple[str, ...], extra: list[str]) -> tuple[str, ...]:
    env: dict[str, str] = {}
    for item in list(base) + extra:
        k, sep, v = item.partition("=")
        if sep:
            env[k] = v
    return tuple(f"{k}={v}" for k, v in env.items())


def exec_spec(spec: ocispec.Spec, request: dict[str, Any]) -> ocispec.Spec:
    """The container's process settings, with the exec request's args, env, cwd, user and terminal."""
    tty = bool(request.get("tty"))
    env = merge_env(spec.process.env, list(request.get("env") or []))
    if tty and not any(e.startswith("TERM=") for e in env):
        env += ("TERM=xterm",)
    size = request.get("console_size")
    new = spec.with_process(args=tuple(request["args"]), env=env, terminal=tty,
                            cwd=request.get("workdir") or spec.process.cwd,
                            console_size=(int(size[0]), int(size[1])) if size else None)
    user = request.get("user")
    if user:
        uid = gid = 0
        u, _, g = user.partition(":")
        if u.isdigit() and (not g or g.isdigit()):
            uid, gid = int(u), int(g) if g else 0
        new = dataclasses.replace(new, annotations={**new.annotations, ocispec.ANN_USER: user})
        new = new.with_process(uid=uid, gid=gid, additional_gids=())
    return new


class Session:
    """One exec'd process and the client watching it."""

    def __init__(self, request: dict[str, Any], conn: socket.socket) -> None:
        self.request = request
        self.conn = conn
        self.reader = control.FrameReader()
        self.out = bytearray()
        self.sel = selectors.DefaultSelector()
        self.pid = 0
        self.status: int | None = None
        self.outputs: dict[int, str] = {}
        self.stdin_fd: int | None = None
        self.master: int | None = None
        self.client_gone = False
        self.wake_r, self.wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)

    # ---- starting -------------------------------------------------------------------

    def start(self) -> int:
        from .engine.engine import Engine
        from .engine.model import ContainerStatus

        engine = Engine(self.request["root"], self.request.get("cgroup_parent"))
        info = engine.get(self.request["ref"])
        short = info.record.short_id
        if info.status is ContainerStatus.PAUSED:
            raise Conflict(f"container {short}: cannot exec in a paused container (unpause it first)")
        if info.status is not ContainerStatus.RUNNING or info.state is None:
            raise Conflict(f"container {short}: cannot exec while {info.status.value}")
        st = info.state
        spec = exec_spec(ocispec.load(engine.paths(info.id).config), self.request)
        cgroup_dirs = cgroups.open_cgroup(st.cgroup).dirs() if st.cgroup else []
        tty = spec.process.terminal
        detach = bool(self.request.get("detach"))
        # Descriptors for the child: pipes (or a channel for the pty master), and
        # a close-on-exec pipe that carries an execve failure back (EOF = it ran).
        chan_p, chan_c = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        err_r, err_w = os.pipe2(os.O_CLOEXEC)
        child_io: list[int | None] = [None, None, None]
        mine: dict[int, str] = {}
        if not tty and not detach:
            out_r, out_w = os.pipe2(os.O_CLOEXEC)
            err2_r, err2_w = os.pipe2(os.O_CLOEXEC)
            child_io[1], child_io[2] = out_w, err2_w
            mine = {out_r: "stdout", err2_r: "stderr"}
            if self.request.get("interactive"):
                in_r, in_w = os.pipe2(os.O_CLOEXEC)
                child_io[0] = in_r
                self.stdin_fd = in_w
        _sys.prctl(_sys.PR_SET_CHILD_SUBREAPER, 1)  # the exec'd process is re-parented to us
        c1 = os.fork()
        if c1 == 0:
            code = 1
            try:
                chan_p.close()
                os.close(err_r)
                code = _join_and_fork(st.pid, st.pid_start, cgroup_dirs, spec, chan_c, err_w, child_io)
            except BaseException as e:
                try:
                    chan_c.send(json.dumps(control.error_reply(e)).encode())
                except OSError:
                    pass
            finally:
                os._exit(code)
        chan_c.close()
        os.close(err_w)
        for fd in child_io:
            if fd is not None:
                os.close(fd)
        os.waitpid(c1, 0)
        # Messages: the program's host pid (from the joining process) and, with
        # a terminal, the pty master (from the program, allocated in the
        # container's own devpts); in either order, or an error.
        chan_p.settimeout(30)
        msg: dict[str, Any] = {}
        fds: list[int] = []
        while "pid" not in msg or (tty and not fds):
            try:
                data, got, _, _ = socket.recv_fds(chan_p, 65536, 2)
            except (TimeoutError, OSError):
                data, got = b"", []
            fds += got
            part = json.loads(data) if data else {"error": f"exec: the joining process died", "code": 125}
            msg.update(part)
            if "error" in part:
                break
        chan_p.close()
        if "error" in msg:
            os.close(err_r)
            for fd in list(mine) + fds:
                os.close(fd)
            raise _error(msg, short)
        self.pid = int(msg["pid"])
        if fds:
            self.master = fds[0]
            mine = {self.master: "stdout"}
            self.stdin_fd = self.master
        # The program started, or failed in execve: the close-on-exec pipe says which.
        failure = b""
        while chunk := os.read(err_r, 4096):
            failure += chunk
        os.close(err_r)
        if failure:
            for fd in mine:
                os.close(fd)
            self._reap_blocking()
            raise _error(json.loads(failure), short)
        self.outputs = mine
        return self.pid

    def _reap_blocking(self) -> None:
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass

    # ---- relaying ----------------------------------------------------------------------

    def relay(self) -> None:
        signal.set_wakeup_fd(self.wake_w, warn_on_full_buffer=False)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        self.sel.register(self.wake_r, selectors.EVENT_READ, "wake")
        self.conn.setblocking(False)
        self.sel.register(self.conn, selectors.EVENT_READ, "client")
        for fd in self.outputs:
            os.set_blocking(fd, False)
            self.sel.register(fd, selectors.EVENT_READ, "output")
        if self.stdin_fd is not None and self.stdin_fd not in self.outputs:
            os.set_blocking(self.stdin_fd, False)
        self._reap()
        while self.status is None or self.outputs:
            if self.status is not None:
                # Exited: give the output that is still in flight a moment, no more.
                events = self.sel.select(0.5)
                if not events:
                    break
            else:
                events = self.sel.select()
            for key, ev in events:
                if key.data == "wake":
                    try:
                        while os.read(self.wake_r, 512):
                            pass
                    except BlockingIOError:
                        pass
                    self._reap()
                elif key.data == "output":
                    self._read_output(key.fd)
                elif key.data == "client":
                    if ev & selectors.EVENT_WRITE:
                        self._flush()
                    if ev & selectors.EVENT_READ:
                        self._read_client()
        assert self.status is not None
        code = os.waitstatus_to_exitcode(self.status)
        self._send(control.jframe(EXIT, {"exitCode": 128 - code if code < 0 else code,
                                         "signal": -code if code < 0 else None}))
        deadline = time.monotonic() + 2
        while self.out and not self.client_gone and time.monotonic() < deadline:
            for key, ev in self.sel.select(0.1):
                if key.data == "client":
                    self._flush()

    def _reap(self) -> None:
        for pid, status in _sys.reap_children():
            if pid == self.pid:
                self.status = status

    def _read_output(self, fd: int) -> None:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        except OSError as e:
            if e.errno != errno.EIO:
                raise
            data = b""
        if not data:
            self.sel.unregister(fd)
            stream = self.outputs.pop(fd)
            if fd != self.stdin_fd:
                os.close(fd)
            del stream
            return
        self._send(control.frame(STDOUT if self.outputs[fd] == "stdout" else STDERR, data))

    def _send(self, data: bytes) -> None:
        if self.client_gone:
            return
        self.out += data
        self._flush()

    def _flush(self) -> None:
        try:
            while self.out:
                del self.out[:self.conn.send(self.out)]
        except BlockingIOError:
            pass
        except OSError:
            self._lost_client()
            return
        try:
            self.sel.modify(self.conn, selectors.EVENT_READ | (selectors.EVENT_WRITE if self.out else 0), "client")
        except (KeyError, ValueError):
            pass

    def _lost_client(self) -> None:
        # docker exec: the program goes on without its client; its stdin ends.
        self.client_gone = True
        self.out.clear()
        try:
            self.sel.unregister(self.conn)
        except (KeyError, ValueError):
            pass
        if self.stdin_fd is not None and self.stdin_fd not in self.outputs:
            os.close(self.stdin_fd)
            self.stdin_fd = None

    def _read_client(self) -> None:
        try:
            data = self.conn.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._lost_client()
            return
        for kind, payload in self.reader.feed(data):
            if kind == STDIN and self.stdin_fd is not None:
                _write_all(self.stdin_fd, payload)
            elif kind == STDIN_EOF and self.stdin_fd is not None and self.stdin_fd not in self.outputs:
                os.close(self.stdin_fd)
                self.stdin_fd = None
            elif kind == RESIZE and self.master is not None:
                size = control.decode(payload)
                fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", size["rows"], size["cols"], 0, 0))
            elif kind == REQUEST:
                req = control.decode(payload)
                if req.get("op") == "kill" and self.pid and self.status is None:
                    try:
                        os.kill(self.pid, int(req.get("signal", signal.SIGKILL)))
                    except ProcessLookupError:
                        pass
                    self._send(control.jframe(REPLY, {"ok": True}))


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    deadline = time.monotonic() + 5
    while view and time.monotonic() < deadline:
        try:
            view = view[os.write(fd, view):]
        except BlockingIOError:
            time.sleep(0.001)
        except OSError:
            return


def _error(msg: dict[str, Any], short: str) -> TuidockError:
    from .errors import from_exit_code

    text = msg["error"]
    if not text.startswith("container "):
        text = f"container {short}: {text}"
    return from_exit_code(int(msg.get("code", 125)), text)


def _join_and_fork(pid: int, pid_start: int | None, cgroup_dirs: list[str], spec: ocispec.Spec,
                   chan: socket.socket, err_w: int, child_io: list[int | None]) -> int:
    """In the joining process: cgroup, namespaces, then fork the program's process."""
    init.reset_signals()
    # Before touching the container: nothing in it may read this process's memory.
    _sys.prctl(_sys.PR_SET_DUMPABLE, 0)
    ns_fds = []
    for name, flag in NS_ORDER:
        ns_fds.append((os.open(f"/proc/{pid}/ns/{name}", os.O_RDONLY | os.O_CLOEXEC), flag, name))
    # The descriptors are open: if PID 1 was replaced by another process since
    # we looked, these would be its namespaces. Check that it is still the one.
    if not procfs.is_alive(pid, pid_start):
        raise RuntimeFailure("the container stopped")
    for d in cgroup_dirs:
        with open(os.path.join(d, "cgroup.procs"), "w") as f:
            f.write(str(os.getpid()))
    for fd, flag, name in ns_fds:
        _sys.setns(fd, flag, f"/proc/{pid}/ns/{name}")
        os.close(fd)
    c2 = os.fork()
    if c2 == 0:
        _run_program(spec, chan, err_w, child_io)
    # The host's pid, which only this side of the PID namespace knows.
    chan.send(json.dumps({"pid": c2}).encode())
    return 0


def _run_program(spec: ocispec.Spec, chan: socket.socket, err_w: int, child_io: list[int | None]) -> None:
    """In the container (its PID namespace too): terminal or pipes, user, capabilities, execve."""
    try:
        os.setsid()
        if spec.process.terminal:
            master, slave, _ = init.open_pty(spec.process.console_size)
            socket.send_fds(chan, [json.dumps({"master": True}).encode()], [master])
            os.close(master)
            init.take_terminal(slave)
        else:
            devnull = os.open("/dev/null", os.O_RDWR)
            for target, fd in enumerate(child_io):
                os.dup2(fd if fd is not None else devnull, target, inheritable=True)
            os.close(devnull)
        user = init.resolve_user(spec)
        env = init.environment(spec, user)
        cwd = spec.process.cwd or "/"
        exe = init.find_executable(spec.process.args[0], env, cwd)
        init.become(spec, user, cwd)
        _sys.close_range(3, err_w - 1)
        _sys.close_range(err_w + 1)
        try:
            os.execve(exe, list(spec.process.args), env)
        except OSError as e:
            raise init.exec_error(e, spec.process.args[0]) from None
    except BaseException as e:
        payload = control.error_reply(e)
        try:
            os.write(err_w, json.dumps(payload).encode())
        except OSError:
            pass
        os._exit(int(payload.get("code", 125)))
    os._exit(125)


def serve(request: dict[str, Any], conn: socket.socket) -> None:
    """Entry point in a process forked from the fork server."""
    session = Session(request, conn)
    try:
        pid = session.start()
    except Exception as e:
        try:
            conn.sendall(control.jframe(REPLY, control.error_reply(e)))
        except OSError:
            pass
        return
    conn.sendall(control.jframe(REPLY, {"started": pid}))
    if request.get("detach"):
        return  # the program goes on; the host's init reaps it
    session.relay()
