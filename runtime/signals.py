"""Signal names as docker and runc accept them: ``TERM``, ``SIGTERM``, ``15``, ``SIGRTMIN+3``."""

from __future__ import annotations

import signal

from .errors import InvalidArgument


def parse(value: str | int) -> int:
    if isinstance(value, int):
        if 0 < value < signal.NSIG:
            return value
        raise InvalidArgument(f"signal {value}: out of range")
    v = value.strip().upper()
    if v.isdigit():
        n = int(v)
        if 0 < n < signal.NSIG:
            return n
        raise InvalidArgument(f"signal {value}: out of range")
    if not v.startswith("SIG"):
        v = "SIG" + v
    if v.startswith("SIGRTMIN+") or v.startswith("SIGRTMAX-"):
        base = signal.SIGRTMIN if v.startswith("SIGRTMIN") else signal.SIGRTMAX
        try:
            off = int(v[9:])
        except ValueError:
            raise InvalidArgument(f"signal {value}: invalid") from None
        n = base + off if v.startswith("SIGRTMIN") else base - off
        if signal.SIGRTMIN <= n <= signal.SIGRTMAX:
            return n
        raise InvalidArgument(f"signal {value}: out of range")
    try:
        return int(signal.Signals[v])
    except KeyError:
        raise InvalidArgument(f"signal {value}: invalid signal") from None


def name(n: int) -> str:
    try:
        return signal.Signals(n).name
    except ValueError:
        return str(n)
