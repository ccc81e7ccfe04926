"""A docker-style command-line parser (pflag semantics), small and quick to import.

Why not argparse: docker's CLI stops reading options at the first operand of
``run``/``exec`` (``tuidock run busybox ls -l`` hands ``-l`` to ``ls``),
combines short flags with a trailing value (``-dit``, ``-de K=V``), takes
``--rm=false`` and repeats list flags; matching that with argparse takes
more code than this module, and argparse (with dataclasses and typing, which
this module also avoids) costs tens of milliseconds of every container start.
"""

from __future__ import annotations

from runtime.errors import InvalidArgument

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any


class UsageError(InvalidArgument):
    """A malformed command line."""


class HelpRequested(Exception):
    pass


class Opt:
    """One flag: ``names`` like ("-e", "--env"); ``kind`` bool, str, int, float or list."""

    __slots__ = ("names", "dest", "kind", "help", "metavar", "default", "convert")

    def __init__(self, names: tuple[str, ...], dest: str, kind: str = "bool", help: str = "", metavar: str = "",
                 default: Any = None, convert: Callable[[str], Any] | None = None) -> None:
        self.names = names
        self.dest = dest
        self.kind = kind
        self.help = help
        self.metavar = metavar
        self.default = default
        self.convert = convert

    @property
    def takes_value(self) -> bool:
        return self.kind != "bool"


def opt(names: str, dest: str | None = None, kind: str = "bool", help: str = "", metavar: str = "",
        default: Any = None, convert: Callable[[str], Any] | None = None) -> Opt:
    ns = tuple(n.strip() for n in names.split(","))
    d = dest or next(n for n in ns if n.startswith("--"))[2:].replace("-", "_")
    if default is None:
        default = {"bool": False, "list": []}.get(kind)
    return Opt(ns, d, kind, help, metavar or {"list": "list", "int": "int", "float": "decimal"}.get(kind, "string"),
               default, convert)


class Command:
    def __init__(self, name: str, usage: str, help: str, options: list[Opt] | None = None, min_args: int = 0,
                 max_args: int | None = None, interspersed: bool = True, aliases: tuple[str, ...] = ()) -> None:
        self.name = name
        self.usage = usage  # "[OPTIONS] IMAGE [COMMAND] [ARG...]"
        self.help = help
        self.options = options or []
        self.min_args = min_args
        self.max_args = max_args
        self.interspersed = interspersed  # False: the first operand ends the options (run, exec)
        self.aliases = aliases

    def find(self, name: str) -> Opt | None:
        for o in self.options:
            if name in o.names:
                return o
        return None

    def format_help(self, prog: str = "tuidock") -> str:
        lines = [f"Usage:  {prog} {self.name} {self.usage}".rstrip(), "", self.help]
        if self.aliases:
            lines += ["", "Aliases:", "  " + ", ".join(f"{prog} {a}" for a in (self.name,) + self.aliases)]
        if self.options:
            lines += ["", "Options:"]
            rows = []
            for o in self.options:
                short = [n for n in o.names if not n.startswith("--")]
                long = [n for n in o.names if n.startswith("--")]
                left = (short[0] + ", " if short else "    ") + (long[0] if long else "")
                if o.takes_value:
                    left += f" {o.metavar}"
                rows.append((left, o.help))
            width = max(len(r[0]) for r in rows)
            lines += [f"  {a.ljust(width)}   {b}" for a, b in rows]
        return "\n".join(lines) + "\n"


def _set(values: dict[str, Any], o: Opt, raw: str | None) -> None:
    if o.kind == "bool":
        if raw is None or raw.lower() in ("true", "1", "yes"):
            values[o.dest] = True
        elif raw.lower() in ("false", "0", "no"):
            values[o.dest] = False
        else:
            raise UsageError(f'invalid argument "{raw}" for "{o.names[-1]}" flag: expected true or false')
        return
    assert raw is not None
    try:
        if o.convert is not None:
            v: Any = o.convert(raw)
        elif o.kind == "int":
            v = int(raw)
        elif o.kind == "float":
            v = float(raw)
        else:
            v = raw
    except ValueError:
        raise UsageError(f'invalid argument "{raw}" for "{o.names[-1]}" flag') from None
    if o.kind == "list":
        values[o.dest] = values[o.dest] + [v]
    else:
        values[o.dest] = v


def parse(cmd: Command, argv: Sequence[str]) -> tuple[dict[str, Any], list[str]]:
    """Returns (option values by dest, operands)."""
    values: dict[str, Any] = {o.dest: (list(o.default) if isinstance(o.default, list) else o.default)
                              for o in cmd.options}
    operands: list[str] = []
    i = 0
    args = list(argv)
    while i < len(args):
        a = args[i]
        i += 1
        if a == "--":
            operands += args[i:]
            break
        if a in ("-h", "--help") and not cmd.find(a):
            raise HelpRequested()
        if a.startswith("--") and len(a) > 2:
            name, eq, raw = a.partition("=")
            o = cmd.find(name)
            if o is None:
                if name == "--help":
                    raise HelpRequested()
                raise UsageError(f"unknown flag: {name}")
            if o.takes_value and not eq:
                if i >= len(args):
                    raise UsageError(f"flag needs an argument: {name}")
                raw = args[i]
                i += 1
            _set(values, o, raw if (eq or o.takes_value) else None)
        elif a.startswith("-") and len(a) > 1:
            j = 1
            while j < len(a):
                name = "-" + a[j]
                o = cmd.find(name)
                if o is None:
                    raise UsageError(f"unknown shorthand flag: '{a[j]}' in {a}")
                if o.takes_value:
                    rest = a[j + 1:]
                    if rest.startswith("="):
                        rest = rest[1:]
                    if not rest:
                        if i >= len(args):
                            raise UsageError(f"flag needs an argument: '{a[j]}' in {a}")
                        rest = args[i]
                        i += 1
                    _set(values, o, rest)
                    break
                if a[j + 1:].startswith("="):  # -d=false
                    _set(values, o, a[j + 2:])
                    break
                _set(values, o, None)
                j += 1
        else:
            operands.append(a)
            if not cmd.interspersed:
                operands += args[i:]
                break
    if len(operands) < cmd.min_args:
        raise UsageError(f'"{cmd.name}" requires at least {cmd.min_args} argument{"s" if cmd.min_args > 1 else ""}')
    if cmd.max_args is not None and len(operands) > cmd.max_args:
        raise UsageError(f'"{cmd.name}" accepts at most {cmd.max_args} argument{"s" if cmd.max_args != 1 else ""}')
    return values, operands
