"""The wire protocol between clients and a container's monitor, and a small client.

Each container's monitor listens on a unix socket (``ctl.sock`` in the
container's state directory). A frame is a one-byte type, a four-byte length
and a payload; requests and replies are JSON, streams are raw bytes:

    client -> monitor   REQUEST {"op": "start" | "attach" | "stop" | "kill" | "wait" | "resize", ...}
                        STDIN bytes, STDIN_EOF, RESIZE {"rows", "cols"}
    monitor -> client   REPLY {...} (or {"error", "code"}), STDOUT / STDERR bytes, EXIT {...}

Structured payloads are dicts of plain values in Python's ``marshal``
format: both ends are the same interpreter (the fork server is named after a
fingerprint of it), the sockets are root's only, and ``marshal`` is built in,
where ``json`` would cost a ``tuidock run`` some ten milliseconds of imports
(``re``, ``enum``, ``functools``) on a slow machine.

Several clients may attach at once; each receives the output from the moment
it attached (earlier output is in the log). The socket is reached through
``/proc/self/fd/N`` of the opened state directory, so state roots of any
length work despite the 108-byte limit of unix socket paths.
"""

from __future__ import annotations

import _socket
import marshal
import os
import struct

TYPE_CHECKING = False  # keep typing out of the thin client's imports
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

from .errors import NotFound, RuntimeFailure, TuidockError, from_exit_code

HEADER = struct.Struct("!BI")
REQUEST, REPLY, STDIN, STDIN_EOF, STDOUT, STDERR, EXIT, RESIZE = range(1, 9)
MAX_FRAME = 1 << 20
SOCKET_NAME = "ctl.sock"


def frame(kind: int, payload: bytes = b"") -> bytes:
    return HEADER.pack(kind, len(payload)) + payload


def _plain(obj: Any) -> Any:
    """Plain built-in types only: marshal refuses subclasses such as ``signal.Signals``."""
    if obj is None or type(obj) in (str, bytes, bool, int, float):
        return obj
    if isinstance(obj, bool):
        return bool(obj)
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, str):
        return str(obj)
    if isinstance(obj, dict):
        return {_plain(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(x) for x in obj]
    raise ValueError(f"cannot send {type(obj).__name__} to a monitor")


def encode(obj: Any) -> bytes:
    try:
        return marshal.dumps(obj)
    except ValueError:
        return marshal.dumps(_plain(obj))


def decode(payload: bytes) -> Any:
    try:
        return marshal.loads(payload)
    except (EOFError, ValueError, TypeError) as e:
        raise ValueError(f"malformed control payload: {e}") from None


def jframe(kind: int, obj: Any) -> bytes:
    """A frame carrying a structured payload."""
    return frame(kind, encode(obj))


class FrameReader:
    """Incremental decoder: feed bytes, get complete (kind, payload) frames."""

    def __init__(self) -> None:
        self.buf = bytearray()

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        self.buf += data
        out = []
        while len(self.buf) >= HEADER.size:
            kind, length = HEADER.unpack_from(self.buf)
            if length > MAX_FRAME:
                raise ValueError(f"frame of {length} bytes is too large")
            end = HEADER.size + length
            if len(self.buf) < end:
                break
            out.append((kind, bytes(self.buf[HEADER.size:end])))
            del self.buf[:end]
        return out


def socket_path(dir_fd: int) -> str:
    return f"/proc/self/fd/{dir_fd}/{SOCKET_NAME}"


def unix_socket() -> _socket.socket:
    """A unix stream socket (the C module's: the socket module would import enum)."""
    return _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM | _socket.SOCK_CLOEXEC)


def connect(state_dir: str, timeout: float | None = 30.0) -> _socket.socket:
    """Connect to the monitor of the container whose state lives in ``state_dir``."""
    dfd = os.open(state_dir, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        s = unix_socket()
        s.settimeout(timeout)
        try:
            s.connect(socket_path(dfd))
        except (FileNotFoundError, ConnectionRefusedError):
            s.close()
            raise NotFound(f"{state_dir}: no monitor is running") from None
        return s
    finally:
        os.close(dfd)


class Connection:
    """A client connection to a monitor: requests with replies, or an attached stream."""

    def __init__(self, sock: _socket.socket) -> None:
        self.sock = sock
        self.reader = FrameReader()
        self.pending: list[tuple[int, bytes]] = []

    @classmethod
    def open(cls, state_dir: str, timeout: float | None = 30.0) -> Connection:
        return cls(connect(state_dir, timeout))

    def close(self) -> None:
        self.sock.close()

    def drain(self, timeout: float) -> None:
        """Read and drop whatever comes until the monitor hangs up (or ``timeout``)."""
        self.sock.settimeout(timeout)
        try:
            while self.sock.recv(65536):
                pass
        except OSError:
            pass

    def send(self, kind: int, payload: bytes = b"") -> None:
        self.sock.sendall(frame(kind, payload))

    def request(self, op: str, **args: Any) -> None:
        try:
            self.sock.sendall(jframe(REQUEST, {"op": op, **args}))
        except (BrokenPipeError, ConnectionResetError):
            raise RuntimeFailure("the container's monitor has finished") from None

    def frames(self) -> Iterator[tuple[int, bytes]]:
        """Frames as they arrive, until the monitor closes the connection."""
        while True:
            while self.pending:
                yield self.pending.pop(0)
            try:
                data = self.sock.recv(65536)
            except ConnectionResetError:
                return
            if not data:
                return
            self.pending.extend(self.reader.feed(data))

    def reply(self) -> dict[str, Any]:
        """Wait for the next REPLY (or EXIT) frame; raise if it carries an error."""
        for kind, payload in self.frames():
            if kind in (REPLY, EXIT):
                obj: dict[str, Any] = decode(payload)
                raise_for(obj)
                return obj
        raise RuntimeFailure("the container's monitor closed the connection without replying")

    def call(self, op: str, **args: Any) -> dict[str, Any]:
        self.request(op, **args)
        return self.reply()


def raise_for(obj: dict[str, Any]) -> None:
    if "error" in obj:
        raise from_exit_code(int(obj.get("code", 125)), obj["error"])


def error_reply(e: BaseException) -> dict[str, Any]:
    if isinstance(e, TuidockError):
        return {"error": str(e), "code": e.exit_code}
    return {"error": str(e), "code": 125}
