"""Creating a container's process: the fork dance, and what its PID 1 does before execve.

The monitor forks a child (A) that joins the container's cgroup and calls
unshare(2) for every new namespace. A new PID namespace applies only to the
caller's *children* (pid_namespaces(7)), and unshare(CLONE_NEWPID) works once
per process, so A forks again: that grandchild (B) is PID 1 of the new
namespace. A reports B's host pid and exits; B is re-parented to the monitor,
which is a child subreaper. Then B:

1. waits for the monitor's "go" and sets PR_SET_PDEATHSIG=SIGKILL, so it can
   never outlive its monitor unnoticed;
2. builds its root (:mod:`runtime.rootfs`), sets the hostname, creates its
   terminal inside its own /dev/pts and hands the master to the monitor;
3. resolves the user and the executable inside the new root, reports ready,
   and blocks until ``start``;
4. then drops to the configured user and capabilities, closes every
   descriptor but 0, 1, 2 and calls execve(2). An execve failure comes back
   to the monitor over a close-on-exec pipe (EOF means it worked).
"""

from __future__ import annotations

import array
import errno
import fcntl
import json
import os
import resource
import select
import signal
import socket
import stat
import struct
import termios
from dataclasses import dataclass
from typing import Any, NoReturn

from . import _sys, capabilities, rootfs, users
from .cgroups import Cgroup
from .errors import CannotExecute, CommandNotFound, InvalidArgument, RuntimeFailure, TuidockError
from .errors import reason as errors_reason
from .oci.spec import ANN_CWD_CREATE, ANN_USER, DEFAULT_PATH, Spec

NS_FLAGS = {
    "pid": _sys.CLONE_NEWPID,
    "network": _sys.CLONE_NEWNET,
    "ipc": _sys.CLONE_NEWIPC,
    "uts": _sys.CLONE_NEWUTS,
    "mount": _sys.CLONE_NEWNS,
    "cgroup": _sys.CLONE_NEWCGROUP,
    "user": _sys.CLONE_NEWUSER,
}
SETUP_TIMEOUT = 60.0

TIOCSPTLCK = 0x40045431
TIOCGPTN = 0x80045430
TIOCGPTPEER = 0x5441
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1


@dataclass
class Stdio:
    """The container's standard streams: a terminal, or the child ends of pipes (None = /dev/null)."""

    terminal: bool
    stdin: int | None = None
    stdout: int | None = None
    stderr: int | None = None


@dataclass
class Spawned:
    pid: int
    start_w: int
    exec_r: int
    console: int | None


def _send(sock: socket.socket, obj: dict[str, Any], fds: list[int] | None = None) -> None:
    data = json.dumps(obj).encode()
    if fds:
        socket.send_fds(sock, [data], fds)
    else:
        sock.send(data)


def _recv(sock: socket.socket, what: str) -> tuple[dict[str, Any], list[int]]:
    try:
        data, fds, _, _ = socket.recv_fds(sock, 65536, 4)
    except TimeoutError:
        raise RuntimeFailure(f"container setup timed out waiting for {what}") from None
    if not data:
        raise RuntimeFailure(f"container init exited during setup (waiting for {what})")
    return json.loads(data), fds


def _error_payload(e: BaseException) -> dict[str, Any]:
    if isinstance(e, TuidockError):
        return {"error": str(e), "code": e.exit_code}
    return {"error": str(e), "code": 125}


def reset_signals() -> None:
    """Undo what a Python parent set up: handlers, the wakeup fd, ignored SIGPIPE/SIGXFSZ."""
    try:
        signal.set_wakeup_fd(-1)
    except ValueError:
        pass
    for sig in range(1, signal.NSIG):
        if sig in (signal.SIGKILL, signal.SIGSTOP):
            continue
        try:
            signal.signal(sig, signal.SIG_DFL)
        except (OSError, ValueError):
            pass
    signal.pthread_sigmask(signal.SIG_SETMASK, [])


def spawn(spec: Spec, plan: rootfs.RootfsPlan, cgroup: Cgroup | None, stdio: Stdio) -> Spawned:
    """Create the container's PID 1, set up and waiting for :func:`start` (monitor side)."""
    parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    start_r, start_w = os.pipe()
    exec_r, exec_w = os.pipe()
    pid_a = os.fork()
    if pid_a == 0:  # A
        code = 1
        try:
            reset_signals()
            parent.close()
            os.close(start_w)
            os.close(exec_r)
            code = _child_a(spec, plan, cgroup, stdio, child, start_r, exec_w)
        except BaseException as e:  # report anything, never unwind into the monitor's code
            try:
                _send(child, _error_payload(e))
            except OSError:
                pass
        finally:
            os._exit(code)
    child.close()
    os.close(start_r)
    os.close(exec_w)
    for fd in (stdio.stdin, stdio.stdout, stdio.stderr):
        if fd is not None:
            os.close(fd)
    parent.settimeout(SETUP_TIMEOUT)
    try:
        msg, _ = _recv(parent, "the init process")
        os.waitpid(pid_a, 0)
        if "error" in msg:
            raise _rebuild(msg)
        pid = int(msg["pid"])
        try:
            _send(parent, {"go": True})
            msg, fds = _recv(parent, "the container's root filesystem")
        except BaseException:
            _kill_and_reap(pid)
            raise
        if "error" in msg:
            _kill_and_reap(pid)
            raise _rebuild(msg)
        return Spawned(pid, start_w, exec_r, fds[0] if fds else None)
    except BaseException:
        os.close(start_w)
        os.close(exec_r)
        raise
    finally:
        parent.close()


def _kill_and_reap(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


def _rebuild(msg: dict[str, Any]) -> TuidockError:
    from .errors import from_exit_code

    return from_exit_code(int(msg.get("code", 125)), msg["error"])


def start(sp: Spawned) -> None:
    """Let PID 1 execve; raise the execve error (126/127) if it failed."""
    try:
        os.write(sp.start_w, b"s")
    except BrokenPipeError:
        pass
    os.close(sp.start_w)
    try:
        data = b""
        while chunk := os.read(sp.exec_r, 4096):
            data += chunk
    finally:
        os.close(sp.exec_r)
    if data:
        raise _rebuild(json.loads(data))


# ---- inside the new namespaces ---------------------------------------------


def _child_a(spec: Spec, plan: rootfs.RootfsPlan, cgroup: Cgroup | None, stdio: Stdio,
             chan: socket.socket, start_r: int, exec_w: int) -> int:
    if cgroup is not None:
        cgroup.add_pid(os.getpid())
    # Namespaces given by path are joined (setns); the rest are new (unshare).
    flags = 0
    for ns in spec.namespaces:
        if ns.type not in NS_FLAGS:
            raise InvalidArgument(f"config.json: unknown namespace type {ns.type}")
        if ns.path:
            fd = os.open(ns.path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                _sys.setns(fd, NS_FLAGS[ns.type], ns.path)
            finally:
                os.close(fd)
        else:
            flags |= NS_FLAGS[ns.type]
    _sys.unshare(flags)
    pid_b = os.fork()
    if pid_b == 0:
        _container_init(spec, plan, stdio, chan, start_r, exec_w)
    _send(chan, {"pid": pid_b})
    return 0


def _monitor_gone(chan: socket.socket) -> bool:
    p = select.poll()
    p.register(chan.fileno(), select.POLLHUP)
    return any(ev & (select.POLLHUP | select.POLLERR) for _, ev in p.poll(0))


def _container_init(spec: Spec, plan: rootfs.RootfsPlan, stdio: Stdio,
                    chan: socket.socket, start_r: int, exec_w: int) -> NoReturn:
    """PID 1 of the new PID namespace: build the root, wait for start, execve."""
    ready = False
    try:
        msg, _ = _recv(chan, "go")
        # A has exited, so our parent is now the monitor: die with it.
        _sys.prctl(_sys.PR_SET_PDEATHSIG, signal.SIGKILL)
        if _monitor_gone(chan):
            os._exit(1)
        os.setsid()
        rootfs.prepare(plan)
        if spec.hostname and spec.has_namespace("uts"):
            socket.sethostname(spec.hostname)
        if spec.domainname and spec.has_namespace("uts"):
            _sys.setdomainname(spec.domainname)
        rootfs.pivot(plan.rootfs)
        for key, value in spec.sysctl.items():
            with open("/proc/sys/" + key.replace(".", "/"), "w") as f:
                f.write(value)
        console_fds: list[int] = []
        if spec.process.terminal:
            master = _make_console(spec)
            console_fds = [master]
        else:
            _wire_stdio(stdio)
        rootfs.finish(plan)
        if spec.has_namespace("network"):
            _loopback_up()
        user = resolve_user(spec)
        env = environment(spec, user)
        cwd = spec.process.cwd or "/"
        if spec.annotations.get(ANN_CWD_CREATE) == "true" and not os.path.isdir(cwd):
            os.makedirs(cwd, 0o755, exist_ok=True)
        exe = find_executable(spec.process.args[0], env, cwd)
        _send(chan, {"ready": True}, console_fds)
        for fd in console_fds:
            os.close(fd)
        ready = True
        if os.read(start_r, 1) != b"s":
            os._exit(0)  # the monitor gave up on us (delete before start)
        os.close(start_r)
        become(spec, user, cwd)
        # Only 0, 1, 2 and the close-on-exec error pipe survive into the container.
        _sys.close_range(3, exec_w - 1)
        _sys.close_range(exec_w + 1)
        try:
            os.execve(exe, list(spec.process.args), env)
        except OSError as e:
            raise exec_error(e, spec.process.args[0]) from None
    except BaseException as e:
        err = e
        payload = json.dumps(_error_payload(err)).encode()
        try:
            if ready:
                os.write(exec_w, payload)
            else:
                _send(chan, _error_payload(err))
        except OSError:
            pass
        os._exit(err.exit_code if isinstance(err, TuidockError) else 125)
    os._exit(125)  # not reached


def exec_error(e: OSError, name: str) -> TuidockError:
    """docker's mapping: a missing file (or interpreter) is 127, anything else 126."""
    reason = os.strerror(e.errno).lower() if e.errno is not None else str(e)
    if e.errno in (errno.ENOENT, errno.ENOTDIR):
        return CommandNotFound(f'exec: "{name}": {reason}')
    return CannotExecute(f'exec: "{name}": {reason}')


def _wire_stdio(stdio: Stdio) -> None:
    devnull = os.open("/dev/null", os.O_RDWR)
    for target, fd in ((0, stdio.stdin), (1, stdio.stdout), (2, stdio.stderr)):
        os.dup2(fd if fd is not None else devnull, target, inheritable=True)
    os.close(devnull)


def open_pty(size: tuple[int, int] | None) -> tuple[int, int, str]:
    """A new pty from this mount namespace's /dev/ptmx: (master, slave, slave path).

    Called inside the container (after pivot_root, or after setns into its
    mount namespace), so the pair belongs to the container's own devpts and
    the slave is /dev/pts/N *there*.
    """
    master = os.open("/dev/ptmx", os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    fcntl.ioctl(master, TIOCSPTLCK, struct.pack("i", 0))
    buf = array.array("i", [0])
    fcntl.ioctl(master, TIOCGPTN, buf, True)
    slave_path = f"/dev/pts/{buf[0]}"
    slave = os.open(slave_path, os.O_RDWR | os.O_NOCTTY)
    if size:
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[0], size[1], 0, 0))
    return master, slave, slave_path


def take_terminal(slave: int) -> None:
    """Make ``slave`` this session's controlling terminal and stdin, stdout, stderr (call after setsid)."""
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    for target in (0, 1, 2):
        os.dup2(slave, target, inheritable=True)
    os.close(slave)


def _make_console(spec: Spec) -> int:
    """Allocate the container's terminal in its own devpts; return the master for the monitor."""
    master, slave, slave_path = open_pty(spec.process.console_size)
    # /dev/console is the container's terminal too (runc does the same bind).
    fd = os.open("/dev/console", os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o600)
    os.close(fd)
    _sys.mount(slave_path, "/dev/console", None, _sys.MS_BIND)
    take_terminal(slave)
    return master


def _loopback_up() -> None:
    """Bring ``lo`` up in the new network namespace (one SIOCSIFFLAGS ioctl)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        ifr = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(s.fileno(), SIOCGIFFLAGS, ifr))[1]
        fcntl.ioctl(s.fileno(), SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | IFF_UP))
    finally:
        s.close()


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def resolve_user(spec: Spec) -> users.ExecUser:
    p = spec.process
    named = spec.annotations.get(ANN_USER, "")
    u = users.resolve(named or str(p.uid), _read("/etc/passwd"), _read("/etc/group"), p.uid, p.gid)
    if not named:
        u = users.ExecUser(p.uid, p.gid, u.groups, u.home)
    groups = tuple(dict.fromkeys(u.groups + p.additional_gids))
    return users.ExecUser(u.uid, u.gid, groups, u.home)


def environment(spec: Spec, user: users.ExecUser) -> dict[str, str]:
    env: dict[str, str] = {}
    for item in spec.process.env:
        k, sep, v = item.partition("=")
        if sep:
            env[k] = v
    env.setdefault("HOME", user.home)
    if "PATH" not in env:
        env["PATH"] = DEFAULT_PATH.partition("=")[2]
    return env


def find_executable(name: str, env: dict[str, str], cwd: str = "/") -> str:
    """Look ``name`` up as execvp(3) would, in the container's PATH, with docker's errors."""
    if "/" in name:
        path = name if name.startswith("/") else os.path.join(cwd, name)
        try:
            st = os.stat(path)
        except FileNotFoundError:
            raise CommandNotFound(f'exec: "{name}": stat {name}: no such file or directory') from None
        except NotADirectoryError:
            raise CommandNotFound(f'exec: "{name}": stat {name}: not a directory') from None
        if stat.S_ISDIR(st.st_mode):
            raise CannotExecute(f'exec: "{name}": is a directory')
        if not os.access(path, os.X_OK):
            raise CannotExecute(f'exec: "{name}": permission denied')
        return path
    denied = False
    for d in env.get("PATH", "").split(":"):
        candidate = os.path.join(d or ".", name)
        try:
            st = os.stat(candidate)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode):
            if os.access(candidate, os.X_OK):
                return candidate
            denied = True
    if denied:
        raise CannotExecute(f'exec: "{name}": permission denied')
    raise CommandNotFound(f'exec: "{name}": executable file not found in $PATH')


def become(spec: Spec, user: users.ExecUser, cwd: str) -> None:
    """Switch to the container user and its capability sets (order per capabilities(7))."""
    p = spec.process
    for rl in p.rlimits:
        which = getattr(resource, rl.type, None)
        if which is None:
            raise InvalidArgument(f"rlimit {rl.type}: unknown")
        resource.setrlimit(which, (rl.soft, rl.hard))
    if p.oom_score_adj is not None:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write(str(p.oom_score_adj))
    if p.umask is not None:
        os.umask(p.umask)
    caps = p.capabilities
    # capabilities(7): the bounding set can only shrink with CAP_SETPCAP in
    # the effective set, which setuid to a non-root user clears; so shrink it
    # first, keep the permitted set across setuid (PR_SET_KEEPCAPS), and set
    # the sets explicitly last, as runc does.
    capabilities.drop_bounding(caps.bounding)
    _sys.prctl(_sys.PR_SET_KEEPCAPS, 1)
    os.setgroups(list(user.groups))
    os.setgid(user.gid)
    os.setuid(user.uid)
    _sys.prctl(_sys.PR_SET_KEEPCAPS, 0)
    capabilities.set_sets(caps.effective, caps.permitted, caps.inheritable, caps.ambient)
    if p.no_new_privileges:
        _sys.prctl(_sys.PR_SET_NO_NEW_PRIVS, 1)
    try:
        os.chdir(cwd)
    except OSError as e:
        raise RuntimeFailure(f"chdir to cwd ({cwd}) set in config.json: {errors_reason(e)}") from None
