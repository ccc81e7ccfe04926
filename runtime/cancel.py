"""A cancel switch for one long engine job (a pull, a push, a build), flipped from another thread.

The job checks it between steps and between the reads of long local work
such as a layer's extraction (:meth:`Cancel.check`), and registers the
sockets it blocks on (:meth:`Cancel.watch`); ``set()`` shuts those down, so a
thread blocked on one returns at once instead of after its timeout:
``shutdown(2)`` wakes a thread blocked in ``recv(2)`` on the same socket
(it then sees end of file), and on Linux it also aborts a TCP connect still
waiting for the SYN-ACK (``inet_shutdown`` disconnects a ``SYN_SENT`` socket
and wakes the connecting thread, which gets ``ECONNRESET``). So a job that
watches every socket from its creation to its close can be cancelled in any
phase: connecting, a TLS handshake, waiting for a response, a transfer, a
build's ``RUN`` output.
"""

from __future__ import annotations

import _socket
import threading

from .errors import TuidockError


class Cancelled(TuidockError):
    """The caller cancelled the job (:meth:`Cancel.set`)."""

    exit_code = 130  # as a shell reports a command ended by Ctrl-C (128 + SIGINT)


class Cancel(threading.Event):
    """Set once, from any thread (the TUI's escape key, the CLI's Ctrl-C); the job raises :class:`Cancelled`."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._socks: set[_socket.socket] = set()

    def set(self) -> None:
        super().set()
        # Under the lock: a job forgets its socket (under it too) before closing it, so a descriptor
        # number reused meanwhile is not shut down by mistake. A socket closed without forget() is
        # marked closed (fileno -1) by Python first; shutting it down then fails with EBADF.
        with self._lock:
            for s in self._socks:
                _shutdown(s)

    def check(self, what: str) -> None:
        """Raise :class:`Cancelled` once the switch is set."""
        if self.is_set():
            raise Cancelled(f"{what}: cancelled")

    def watch(self, sock: _socket.socket) -> None:
        """Shut ``sock`` down when the switch is set (at once if it is set already)."""
        with self._lock:
            self._socks = {s for s in self._socks if s.fileno() != -1}  # closed since, without forget()
            self._socks.add(sock)
            if self.is_set():
                _shutdown(sock)

    def forget(self, sock: _socket.socket) -> None:
        """Call before closing a watched socket."""
        with self._lock:
            self._socks.discard(sock)


def _shutdown(sock: _socket.socket) -> None:
    # The plain socket's shutdown (the C type every socket object derives from), also for an
    # SSLSocket: SSLSocket.shutdown() would drop the SSL object under the thread reading with it.
    try:
        _socket.socket.shutdown(sock, _socket.SHUT_RDWR)
    except OSError:
        pass  # closed already, or not connected (an unconnected socket has nothing to wake)
