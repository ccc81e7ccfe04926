"""The client side of attach: relay a terminal or pipes to a container's monitor.

Used by ``tuidock run`` / ``attach`` / ``start -a`` and ``tuidock-runtime run``.
With a terminal, the local tty goes raw, its size is sent before the first
byte and again on every SIGWINCH, and the detach sequence (ctrl-p ctrl-q by
default) ends the session while the container keeps running. Without one,
stdin is forwarded until EOF, which closes the container's stdin.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import selectors
import signal
import struct
import termios
import tty

TYPE_CHECKING = False  # keep typing and dataclasses out of the thin client's imports
if TYPE_CHECKING:
    from collections.abc import Iterator

from . import control
from .control import EXIT, REPLY, RESIZE, STDERR, STDIN, STDIN_EOF, STDOUT
from .errors import InvalidArgument

DEFAULT_DETACH_KEYS = "ctrl-p,ctrl-q"


def parse_detach_keys(spec: str) -> bytes:
    """docker's --detach-keys syntax: ``ctrl-p,ctrl-q``, ``ctrl-a,d``, ``ctrl-@``; empty disables."""
    out = bytearray()
    if not spec:
        return bytes(out)
    for part in spec.split(","):
        part = part.strip()
        if part.lower().startswith("ctrl-") and len(part) == 6:
            ch = part[5].lower()
            if ch == "@":
                out.append(0)
            elif "a" <= ch <= "z":
                out.append(ord(ch) - ord("a") + 1)
            elif ch in "[\\]^_":
                out.append(ord(ch) - 64)
            else:
                raise InvalidArgument(f"detach keys {spec!r}: unknown key {part}")
        elif len(part) == 1:
            out.append(ord(part))
        else:
            raise InvalidArgument(f"detach keys {spec!r}: unknown key {part}")
    return bytes(out)


class DetachKeys:
    """Watches typed bytes for the detach sequence.

    Bytes that might start the sequence are held back; if the sequence breaks
    they are released in order, so nothing typed is lost or reordered.
    """

    def __init__(self, keys: bytes) -> None:
        self.keys = keys
        self.held = bytearray()

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        """Returns (bytes to forward, detached?)."""
        if not self.keys:
            return data, False
        out = bytearray()
        for b in data:
            self.held.append(b)
            if self.keys.startswith(bytes(self.held)):
                if len(self.held) == len(self.keys):
                    self.held.clear()
                    return bytes(out), True
                continue
            # The held prefix failed; emit its first byte and re-check the rest.
            while self.held and not self.keys.startswith(bytes(self.held)):
                out.append(self.held.pop(0))
        return bytes(out), False


class Result:
    """How an attached session ended."""

    __slots__ = ("exit_code", "detached", "oom_killed", "error")

    def __init__(self, exit_code: int | None, detached: bool = False, oom_killed: bool = False,
                 error: str = "") -> None:
        self.exit_code = exit_code  # None when detached or the monitor went away
        self.detached = detached
        self.oom_killed = oom_killed
        self.error = error


def terminal_size(fd: int) -> tuple[int, int] | None:
    try:
        rows, cols, _, _ = struct.unpack("HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8))
    except OSError:
        return None
    return (rows, cols) if rows and cols else None


@contextlib.contextmanager
def raw_terminal(fd: int) -> Iterator[None]:
    """Put a tty in raw mode for the duration (restored even on error)."""
    if not os.isatty(fd):
        yield
        return
    old = termios.tcgetattr(fd)
    try:
        tty.setraw(fd, termios.TCSANOW)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, old)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view):]
        except BlockingIOError:
            sel = selectors.DefaultSelector()
            sel.register(fd, selectors.EVENT_WRITE)
            sel.select(1.0)
            sel.close()


def relay(conn: control.Connection, *, stdin: bool, tty_mode: bool, stdin_fd: int = 0, stdout_fd: int = 1,
          stderr_fd: int = 2, detach_keys: bytes = b"\x10\x11") -> Result:
    """Pump data between local fds and an attached monitor connection until exit or detach.

    Returns when the monitor hangs up (after a final exit and any ``--rm``
    clean-up), at an exit after which the container restarts, or on detach.
    """
    sock = conn.sock
    sock.setblocking(True)
    sel = selectors.DefaultSelector()
    sel.register(sock, selectors.EVENT_READ, "sock")
    if stdin:
        try:
            sel.register(stdin_fd, selectors.EVENT_READ, "stdin")
        except PermissionError:
            # A regular file or /dev/null cannot be polled: it is finite, send it whole.
            try:
                while data := os.read(stdin_fd, 65536):
                    conn.send(STDIN, data)
                conn.send(STDIN_EOF)
            except (BrokenPipeError, ConnectionResetError):
                pass
    is_tty = tty_mode and os.isatty(stdin_fd)
    detacher = DetachKeys(detach_keys if is_tty else b"")
    wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    old_handler = None
    old_wakeup = -1
    if is_tty:
        old_wakeup = signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
        old_handler = signal.signal(signal.SIGWINCH, lambda *_: None)
        sel.register(wake_r, selectors.EVENT_READ, "winch")
        _send_size(conn, stdin_fd)
    result = Result(None)
    done = False

    def handle(frames: list[tuple[int, bytes]]) -> None:
        nonlocal result, done
        for kind, payload in frames:
            if kind == STDOUT:
                _write_all(stdout_fd, payload)
            elif kind == STDERR:
                _write_all(stderr_fd, payload)
            elif kind == EXIT:
                obj = control.decode(payload)
                result = Result(obj.get("exitCode"), False, bool(obj.get("oomKilled")), obj.get("error", ""))
                done = done or bool(obj.get("restarting"))
            elif kind == REPLY:
                obj = control.decode(payload)
                if "error" in obj:
                    result.error = obj["error"]

    try:
        with raw_terminal(stdin_fd) if (is_tty and stdin) else contextlib.nullcontext():
            # Frames that arrived together with the reply to "start" come first.
            handle(conn.pending)
            conn.pending = []
            while not done:
                for key, _ in sel.select():
                    if key.data == "sock":
                        try:
                            data = sock.recv(65536)
                        except ConnectionResetError:
                            data = b""
                        if not data:
                            return result
                        handle(conn.reader.feed(data))
                    elif key.data == "stdin":
                        try:
                            data = os.read(stdin_fd, 65536)
                        except OSError:
                            data = b""
                        try:
                            if not data:
                                sel.unregister(stdin_fd)
                                conn.send(STDIN_EOF)
                                continue
                            fwd, detached = detacher.feed(data)
                            if fwd:
                                conn.send(STDIN, fwd)
                        except (BrokenPipeError, ConnectionResetError):
                            continue  # the monitor is finishing; its last frames are still readable
                        if detached:
                            return Result(None, detached=True)
                    elif key.data == "winch":
                        try:
                            while os.read(wake_r, 64):
                                pass
                        except BlockingIOError:
                            pass
                        _send_size(conn, stdin_fd)
            return result
    finally:
        if old_handler is not None:
            signal.signal(signal.SIGWINCH, old_handler)
            signal.set_wakeup_fd(old_wakeup)
        os.close(wake_r)
        os.close(wake_w)
        sel.close()


def _send_size(conn: control.Connection, fd: int) -> None:
    size = terminal_size(fd)
    if size:
        try:
            conn.send(RESIZE, control.encode({"rows": size[0], "cols": size[1]}))
        except OSError:
            pass
