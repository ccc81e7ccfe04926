"""The terminal side of attach: detach keys, and the window sizes sent to the monitor."""

from __future__ import annotations

import fcntl
import os
import signal
import socket
import struct
import termios
import threading

import pytest

from runtime import attach, control
from runtime.errors import InvalidArgument


@pytest.mark.parametrize("spec, keys", [
    ("ctrl-p,ctrl-q", b"\x10\x11"), ("ctrl-a,d", b"\x01d"), ("ctrl-@", b"\x00"), ("ctrl-[", b"\x1b"),
    ("", b""), ("x,y,z", b"xyz"), ("CTRL-P,ctrl-Q", b"\x10\x11"),
])
def test_parse_detach_keys(spec: str, keys: bytes) -> None:
    assert attach.parse_detach_keys(spec) == keys


@pytest.mark.parametrize("spec", ["ctrl-1", "ctrl-", "alt-x", "ab", "ctrl-p,,ctrl-q"])
def test_bad_detach_keys(spec: str) -> None:
    with pytest.raises(InvalidArgument, match="detach keys"):
        attach.parse_detach_keys(spec)


def feed_all(keys: bytes, chunks: list[bytes]) -> tuple[bytes, bool]:
    d = attach.DetachKeys(keys)
    out = b""
    for c in chunks:
        fwd, detached = d.feed(c)
        out += fwd
        if detached:
            return out, True
    return out, False


@pytest.mark.parametrize("chunks, forwarded, detached", [
    ([b"ls\r"], b"ls\r", False),
    ([b"\x10\x11"], b"", True),
    ([b"abc\x10\x11def"], b"abc", True),  # what follows the sequence is not sent
    ([b"\x10", b"\x11"], b"", True),  # split across reads
    ([b"\x10x"], b"\x10x", False),  # a broken sequence is released, in order
    ([b"\x10", b"x"], b"\x10x", False),
    ([b"\x10\x10\x11"], b"\x10", True),  # the first ctrl-p was a real one
    ([b"\x10"], b"", False),  # held until we know
])
def test_detach_key_state_machine(chunks: list[bytes], forwarded: bytes, detached: bool) -> None:
    assert feed_all(b"\x10\x11", chunks) == (forwarded, detached)


def test_three_key_sequence_with_overlap() -> None:
    assert feed_all(b"ab\x01", [b"aab", b"\x01"]) == (b"a", True)
    assert feed_all(b"ab\x01", [b"abab\x01"]) == (b"ab", True)


def test_no_detach_keys_pass_everything() -> None:
    assert feed_all(b"", [b"\x10\x11"]) == (b"\x10\x11", False)


def set_size(fd: int, rows: int, cols: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def test_relay_sends_the_size_first_and_on_every_sigwinch() -> None:
    master, slave = os.openpty()
    set_size(slave, 24, 80)
    ours, monitors = socket.socketpair()
    seen: list[dict[str, int]] = []
    resized = threading.Event()

    def fake_monitor() -> None:
        reader = control.FrameReader()
        while len(seen) < 2:
            data = monitors.recv(4096)
            if not data:
                return
            for kind, payload in reader.feed(data):
                if kind == control.RESIZE:
                    seen.append(control.decode(payload))
                    if len(seen) == 1:
                        set_size(slave, 50, 132)
                        os.kill(os.getpid(), signal.SIGWINCH)
        resized.set()
        monitors.sendall(control.frame(control.STDOUT, b"bye\r\n"))
        monitors.sendall(control.jframe(control.EXIT, {"exitCode": 3}))
        monitors.close()

    t = threading.Thread(target=fake_monitor)
    t.start()
    out_r, out_w = os.pipe()
    result = attach.relay(control.Connection(ours), stdin=True, tty_mode=True, stdin_fd=slave, stdout_fd=out_w)
    t.join(5)
    assert seen == [{"rows": 24, "cols": 80}, {"rows": 50, "cols": 132}]
    assert result.exit_code == 3 and not result.detached
    assert os.read(out_r, 100) == b"bye\r\n"
    # The terminal is back in its old mode (raw mode undone).
    assert termios.tcgetattr(slave)[3] & termios.ICANON
    for fd in (master, slave, out_r, out_w):
        os.close(fd)


def test_relay_detaches_on_the_keys_and_forwards_the_rest() -> None:
    master, slave = os.openpty()
    ours, monitors = socket.socketpair()

    def type_keys() -> None:
        # Typed once the relay has made the terminal raw: in cooked mode the
        # line discipline itself would take ctrl-q (XON).
        for _ in range(200):
            if not termios.tcgetattr(slave)[3] & termios.ICANON:
                break
            threading.Event().wait(0.01)
        os.write(master, b"ls\r\x10\x11")

    threading.Thread(target=type_keys, daemon=True).start()
    result = attach.relay(control.Connection(ours), stdin=True, tty_mode=True, stdin_fd=slave,
                          stdout_fd=os.open(os.devnull, os.O_WRONLY))
    assert result.detached and result.exit_code is None
    monitors.settimeout(2)
    frames = control.FrameReader().feed(monitors.recv(4096))
    assert (control.STDIN, b"ls\r") in frames
    assert all(p != b"\x10" for k, p in frames if k == control.STDIN)
