"""The wire under the registry client: errors, bounded connections, WWW-Authenticate, request bodies.

Name resolution runs in a helper thread so it can be bounded in time (libc's
resolver takes no timeout we can set); connecting tries each address within
``Timeouts.connect``; the socket then times out every read or write after
``Timeouts.read``. With a :class:`~runtime.cancel.Cancel`, every socket is
watched from its creation, so ``set()`` ends a connect, a TLS handshake or a
read at once, and name resolution is waited for in short slices that check
it. Challenges are parsed per RFC 7235, several to a header.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from ..cancel import Cancel as Cancel  # re-exported: the registry client's callers take it from here
from ..cancel import Cancelled as Cancelled
from ..errors import InvalidArgument, TuidockError

Progress = Callable[[int], None]  # bytes transferred so far


CANCEL_POLL = 0.05  # seconds between looks at a Cancel while waiting for something no socket stands for


class RegistryError(TuidockError):
    """A registry could not be reached, refused a request, or answered something malformed."""


class Unauthorized(RegistryError):
    """The registry wants credentials, or refused the ones given."""


class DigestMismatch(RegistryError):
    """Content whose sha256 is not the digest it was asked for by."""


class Unreachable(RegistryError):
    """No answer: name resolution, connection, TLS or the socket failed (``reason`` says which)."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Timeouts:
    connect: float = 10.0  # name resolution, TCP connect, TLS handshake
    read: float = 30.0  # any one socket read or write: a stalled transfer fails after this
    request: float = 120.0  # a whole request without a blob body (ping, token, manifest, upload control)


@dataclass(frozen=True)
class Challenge:
    """One ``WWW-Authenticate`` challenge: ``Bearer realm="...",service="...",scope="..."``."""

    scheme: str  # lowercase: "bearer", "basic"
    params: Mapping[str, str] = field(default_factory=dict)


def parse_challenges(header: str) -> list[Challenge]:
    """RFC 7235 challenges: a scheme, then comma-separated ``key=token`` or ``key="quoted \\"string\\""``.

    Several challenges may share one header (``Bearer realm="a", Basic realm="b"``):
    a token not followed by ``=`` starts the next one.
    """
    out: list[Challenge] = []
    i, n = 0, len(header)

    def skip(chars: str) -> None:
        nonlocal i
        while i < n and header[i] in chars:
            i += 1

    def token() -> str:
        nonlocal i
        start = i
        while i < n and header[i] not in ' \t,="':
            i += 1
        return header[start:i]

    while i < n:
        skip(" \t,")
        scheme = token()
        if not scheme:
            if i < n:
                i += 1  # a stray '=' or '"': skip it rather than loop
            continue
        params: dict[str, str] = {}
        while True:
            skip(" \t,")
            save = i
            key = token()
            skip(" \t")
            if not key or i >= n or header[i] != "=":
                i = save  # the next challenge's scheme (or the end)
                break
            i += 1
            skip(" \t")
            if i < n and header[i] == '"':
                i += 1
                buf = []
                while i < n and header[i] != '"':
                    if header[i] == "\\" and i + 1 < n:
                        i += 1
                    buf.append(header[i])
                    i += 1
                i += 1  # the closing quote
                value = "".join(buf)
            else:
                value = token()
            params[key.lower()] = value
        out.append(Challenge(scheme.lower(), params))
    return out


def error_text(body: bytes) -> str:
    """The distribution spec's error body, as one line: ``manifest unknown``, ``blob unknown to registry``."""
    try:
        errors = json.loads(body).get("errors") or []
        parts = []
        for e in errors[:3]:
            msg = str(e.get("message") or e.get("code") or "").strip()
            if msg:
                parts.append(msg.lower())
        if parts:
            return "; ".join(parts)
    except (ValueError, AttributeError):
        pass
    text = body[:200].decode("utf-8", "replace").strip().splitlines()
    return text[0] if text else ""


def describe(e: BaseException) -> str:
    """An exception from the network as our messages spell it."""
    if isinstance(e, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted: {e.verify_message or e.reason}"
    if isinstance(e, ssl.SSLError):
        return f"TLS handshake failed: {e.reason or e}"
    if isinstance(e, (TimeoutError, socket.timeout)):
        return "timed out"
    if isinstance(e, http.client.IncompleteRead):
        return f"connection closed early ({len(e.partial)} bytes read)"
    if isinstance(e, http.client.RemoteDisconnected):
        return "connection closed by the server without a response"
    if isinstance(e, OSError) and e.strerror:
        return e.strerror.lower()
    return str(e) or e.__class__.__name__


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def check_digest(digest: str) -> None:
    algo, _, hexpart = digest.partition(":")
    if algo != "sha256" or len(hexpart) != 64 or any(c not in "0123456789abcdef" for c in hexpart):
        raise InvalidArgument(f"digest {digest!r}: not a sha256 digest")


# ---- connections --------------------------------------------------------------------


def resolve(host: str, port: int, timeout: float, cancel: Cancel | None = None) -> list[tuple[Any, ...]]:
    """getaddrinfo, bounded in time (libc's resolver has no timeout of its own we can set) and cancellable."""
    try:
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
    except socket.gaierror:
        pass
    result: list[list[tuple[Any, ...]]] = []
    error: list[BaseException] = []

    def work() -> None:
        try:
            result.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except BaseException as e:  # handed to the caller
            error.append(e)

    t = threading.Thread(target=work, name=f"resolve {host}", daemon=True)
    t.start()
    deadline = time.monotonic() + timeout
    while t.is_alive() and time.monotonic() < deadline:
        if cancel is not None:
            cancel.check(f"resolve {host}")  # the lookup thread is left to end on its own (a daemon)
        t.join(min(CANCEL_POLL, max(0.0, deadline - time.monotonic())))
    if t.is_alive():
        raise RegistryError(f"cannot resolve {host}: timed out after {timeout:g}s")
    if error:
        e = error[0]
        msg = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        raise RegistryError(f"cannot resolve {host}: {msg.lower()}")
    return result[0]


def dial(addrs: list[tuple[Any, ...]], timeouts: Timeouts, cancel: Cancel | None = None) -> socket.socket:
    """A connected socket to the first address that answers; with ``cancel``, returned watched by it."""
    last: BaseException | None = None
    deadline = time.monotonic() + timeouts.connect
    for family, kind, proto, _, addr in addrs:
        left = deadline - time.monotonic()
        if left <= 0 or (cancel is not None and cancel.is_set()):
            break
        s = socket.socket(family, kind, proto)
        if cancel is not None:
            cancel.watch(s)  # set() now aborts the connect (see runtime.cancel)
        try:
            s.settimeout(left)
            s.connect(addr)
            s.settimeout(timeouts.read)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return s
        except OSError as e:
            if cancel is not None:
                cancel.forget(s)
            s.close()
            last = e
    raise last if last is not None else TimeoutError("connect timed out")


class Conn(http.client.HTTPConnection):
    """One connection whose socket comes from :func:`dial` (bounded resolve and connect), TLS or not.

    With a :class:`Cancel`, the socket is registered with it while open.
    """

    def __init__(self, scheme: str, host: str, port: int, addrs: list[tuple[Any, ...]], timeouts: Timeouts,
                 context: ssl.SSLContext | None, cancel: Cancel | None = None) -> None:
        super().__init__(host, port, timeout=timeouts.read)
        self.cancel = cancel
        self.default_port = 443 if scheme == "https" else 80  # for the Host header
        self.scheme = scheme
        self.addrs = addrs
        self.timeouts = timeouts
        self.tls = context
        self.blocksize = 1 << 16

    def connect(self) -> None:
        sock = dial(self.addrs, self.timeouts, self.cancel)  # watched by self.cancel
        if self.scheme == "https":
            assert self.tls is not None
            sock.settimeout(self.timeouts.connect)
            # Wrapping detaches the plain socket (its fileno becomes -1): the TLS socket is watched
            # instead before the handshake, whose reads a set() then wakes.
            try:
                tls = self.tls.wrap_socket(sock, server_hostname=self.host, do_handshake_on_connect=False)
            except BaseException:
                if self.cancel is not None:
                    self.cancel.forget(sock)
                sock.close()
                raise
            if self.cancel is not None:
                self.cancel.forget(sock)
                self.cancel.watch(tls)
            try:
                tls.do_handshake()
            except BaseException:
                if self.cancel is not None:
                    self.cancel.forget(tls)
                tls.close()
                raise
            tls.settimeout(self.timeouts.read)
            sock = tls
        self.sock = sock

    def close(self) -> None:
        sock = self.sock
        if self.cancel is not None and sock is not None:
            self.cancel.forget(sock)
        super().close()
        if self.cancel is not None and sock is not None and sock.fileno() != -1:
            # A response still reads from it (http.client hands the socket over on
            # "Connection: close"): keep it cancellable until the response closes it.
            self.cancel.watch(sock)


class Slice:
    """``n`` bytes of a file from ``offset``, as a request body that reports progress and can be re-sent."""

    def __init__(self, f: IO[bytes], offset: int, n: int, progress: Progress | None) -> None:
        self.f, self.offset, self.n, self.progress = f, offset, n, progress
        self.pos = 0

    def tell(self) -> int:
        return self.pos

    def seek(self, pos: int) -> None:
        self.pos = pos

    def read(self, size: int = -1) -> bytes:
        left = self.n - self.pos
        if left <= 0:
            return b""
        size = left if size < 0 else min(size, left)
        self.f.seek(self.offset + self.pos)
        data = self.f.read(size)
        if len(data) != size:
            raise RegistryError(f"local blob ended early at byte {self.offset + self.pos + len(data)}")
        self.pos += len(data)
        if self.progress is not None:
            self.progress(self.offset + self.pos)
        return data
