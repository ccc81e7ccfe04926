"""Signal names as docker and runc accept them."""

from __future__ import annotations

import signal

import pytest

from runtime.errors import InvalidArgument
from runtime.signals import name, parse


@pytest.mark.parametrize("raw, num", [
    ("TERM", signal.SIGTERM),
    ("SIGTERM", signal.SIGTERM),
    ("sigkill", signal.SIGKILL),
    ("kill", signal.SIGKILL),
    (" hup ", signal.SIGHUP),
    ("15", 15),
    ("9", 9),
    ("64", 64),
    (15, 15),
    ("SIGRTMIN", signal.SIGRTMIN),
    ("RTMIN+3", signal.SIGRTMIN + 3),
    ("SIGRTMIN+3", signal.SIGRTMIN + 3),
    ("rtmax-2", signal.SIGRTMAX - 2),
    ("SIGRTMAX-0", signal.SIGRTMAX),
    ("USR1", signal.SIGUSR1),
    ("WINCH", signal.SIGWINCH),
])
def test_parse(raw: str | int, num: int) -> None:
    assert parse(raw) == num


@pytest.mark.parametrize("raw", ["", "FOO", "SIGFOO", "0", "65", "999", "-9", "RTMIN+x", "RTMIN+31",
                                 "RTMAX-31", "RTMIN+-1", "SIG", "9.0"])
def test_parse_invalid(raw: str) -> None:
    with pytest.raises(InvalidArgument, match="signal"):
        parse(raw)


def test_name() -> None:
    assert name(9) == "SIGKILL"
    assert name(signal.SIGTERM) == "SIGTERM"
    assert name(signal.SIGRTMIN + 3) == str(signal.SIGRTMIN + 3)
