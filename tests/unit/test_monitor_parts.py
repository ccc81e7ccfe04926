"""The monitor's small parts: the quiet fork and the epoll loop."""

from __future__ import annotations

import os
import signal
import socket

import pytest

from runtime import _sys
from runtime.monitor import READ, WRITE, Poller

CALLED: list[int] = []
os.register_at_fork(after_in_child=lambda: CALLED.append(os.getpid()))


def _child_reports(after: bool) -> bytes:
    r, w = os.pipe()
    pid = _sys.fork_quiet()
    if pid == 0:
        try:
            if after:
                _sys.after_fork_child()
            os.write(w, b"ran" if os.getpid() in CALLED else b"skipped")
        finally:
            os._exit(0)
    os.close(w)
    try:
        return os.read(r, 16)
    finally:
        os.close(r)
        os.waitpid(pid, 0)


def test_a_quiet_fork_skips_the_at_fork_callbacks_until_asked():
    assert _child_reports(after=False) == b"skipped"
    assert _child_reports(after=True) == b"ran"


def test_set_handler_takes_the_signal_module_constants():
    old = signal.getsignal(signal.SIGUSR1)
    try:
        _sys.set_handler(signal.SIGUSR1, signal.SIG_IGN)
        assert signal.getsignal(signal.SIGUSR1) == signal.SIG_IGN
        _sys.set_handler(signal.SIGUSR1, signal.SIG_DFL)
        assert signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL
    finally:
        signal.signal(signal.SIGUSR1, old)


def test_poller_reports_what_was_asked_for():
    a, b = socket.socketpair()
    r, w = os.pipe()
    p = Poller()
    try:
        p.register(a, READ, "client")
        p.register(r, READ, "output")
        assert p.select(0) == []
        b.send(b"x")
        [(key, events)] = p.select(0)
        assert (key.fd, key.data, events) == (a.fileno(), "client", READ)
        p.modify(a, READ | WRITE, "client")
        assert sorted(ev for _, ev in p.select(0)) == [READ | WRITE]
        os.close(w)  # a hang-up reads as readable, so the read that follows sees the end
        ready = {key.data: ev for key, ev in p.select(0)}
        assert ready["output"] == READ
        p.unregister(r)
        with pytest.raises(KeyError):
            p.unregister(r)
        with pytest.raises(KeyError):
            p.modify(r, READ, "output")
    finally:
        os.close(r)
        a.close()
        b.close()
