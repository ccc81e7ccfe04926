"""Sizes, CPU amounts and CPU lists as docker's command line spells them (pure functions).

``-m 512m`` and friends follow go-units' ``RAMInBytes`` (binary multiples:
``k`` is 1024, a trailing ``i`` and ``b`` are optional, a fraction is allowed
and truncated: ``1.5k`` is 1536); ``--cpus`` follows docker's ``NanoCPUs``
(an exact rational number of CPUs, refused if it has more precision than a
nano-CPU); ``--cpuset-cpus`` lists are ``0-3,5``.
"""

from __future__ import annotations

import re

from .errors import InvalidArgument

_SIZE_RE = re.compile(r"^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$")
_MULTIPLIERS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}
_LIST_RE = re.compile(r"^\d+(-\d+)?(,\d+(-\d+)?)*$")


def ram_in_bytes(text: str) -> int:
    """``512m`` -> 536870912, as go-units ``RAMInBytes``; raises InvalidArgument naming the text."""
    m = _SIZE_RE.match(text)
    if m is None:
        raise InvalidArgument(f"invalid size: '{text}'")
    try:
        number = float(m.group(1))  # "1.2.3" matches the pattern and fails here, as in go-units
    except ValueError:
        raise InvalidArgument(f"invalid size: '{text}'") from None
    return int(number * _MULTIPLIERS[(m.group(2) or "").lower()])


def swap_in_bytes(text: str) -> int:
    """``--memory-swap``: a size, or ``-1`` for unlimited swap."""
    return -1 if text.strip() == "-1" else ram_in_bytes(text)


def nano_cpus(text: str) -> int:
    """``--cpus 1.5`` -> 1500000000 nano-CPUs, exactly (docker's ``ParseCPUs``)."""
    from fractions import Fraction

    try:
        cpus = Fraction(text.strip())
    except (ValueError, ZeroDivisionError):
        raise InvalidArgument(f"failed to parse {text} as a rational number") from None
    nano = cpus * 1_000_000_000
    if nano.denominator != 1:
        raise InvalidArgument(f"cpus {text}: value is too precise")
    return int(nano)


def parse_list(text: str) -> frozenset[int]:
    """A kernel CPU or memory-node list (``0-3,5``) as a set; raises ValueError when malformed."""
    t = text.strip()
    if not _LIST_RE.match(t):
        raise ValueError(text)
    out: set[int] = set()
    for part in t.split(","):
        lo, _, hi = part.partition("-")
        first, last = int(lo), int(hi or lo)
        if last < first:
            raise ValueError(text)
        out.update(range(first, last + 1))
    return frozenset(out)
