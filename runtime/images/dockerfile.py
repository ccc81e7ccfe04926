"""Parsing Dockerfiles into instructions, as docker's parser does (pure, no I/O).

- parser directives (``# escape=`` and ``# syntax=``) only at the very top;
- comments are whole lines starting with ``#``, also inside continuations;
- a line ending in the escape character continues on the next one (blank and
  comment lines in between are skipped);
- keywords are case-insensitive; ``--flag=value`` options come first;
- RUN, CMD, ENTRYPOINT, SHELL, COPY, ADD and VOLUME take a JSON array (the
  exec form) or a string (the shell form);
- ENV and LABEL take ``key=value`` pairs (or ENV's old ``key value``), ARG
  ``name[=default]``; FROM takes ``image [AS name]``.

Variables are not expanded here: that depends on build arguments and on the
ENV of earlier steps, and happens in the builder (:mod:`runtime.images.shellword`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from ..errors import InvalidArgument
from . import shellword

KEYWORDS = {
    "FROM", "RUN", "CMD", "ENTRYPOINT", "COPY", "ADD", "ENV", "ARG", "LABEL", "WORKDIR", "USER", "EXPOSE",
    "VOLUME", "STOPSIGNAL", "SHELL", "MAINTAINER", "ONBUILD", "HEALTHCHECK",
}
JSON_FORMS = {"RUN", "CMD", "ENTRYPOINT", "SHELL", "COPY", "ADD", "VOLUME"}
FLAGS = {
    "FROM": {"platform"},
    "COPY": {"from", "chown", "chmod"},
    "ADD": {"chown", "chmod"},
    "RUN": set(),
    "HEALTHCHECK": {"interval", "timeout", "start-period", "start-interval", "retries"},
}
UNSUPPORTED_FLAGS = {
    "RUN": {"mount", "network", "security"},
    "COPY": {"link", "parents", "exclude"},
    "ADD": {"link", "checksum", "keep-git-dir", "exclude"},
}
_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")


class DockerfileError(InvalidArgument):
    """A Dockerfile that does not parse; the message names the line."""


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case
    line: int  # where it starts (1-based)
    original: str  # the instruction as written, continuations joined
    args: tuple[str, ...] = ()  # exec form: the JSON array; shell form: see :func:`parse`
    json: bool = False
    flags: tuple[tuple[str, str], ...] = ()
    pairs: tuple[tuple[str, str | None], ...] = ()  # ENV, LABEL, ARG

    def flag(self, name: str) -> str | None:
        for k, v in self.flags:
            if k == name:
                return v
        return None

    @property
    def text(self) -> str:
        """The argument string of a shell-form instruction."""
        return self.args[0] if self.args else ""


@dataclass(frozen=True)
class Stage:
    base: str  # the FROM image, unexpanded
    name: str  # the AS name, lower case ("" without one)
    index: int
    from_: Instruction
    instructions: tuple[Instruction, ...]


@dataclass(frozen=True)
class Dockerfile:
    instructions: tuple[Instruction, ...]
    escape: str = "\\"
    directives: dict[str, str] = field(default_factory=dict)

    @property
    def meta_args(self) -> tuple[Instruction, ...]:
        """ARG instructions before the first FROM."""
        out = []
        for ins in self.instructions:
            if ins.keyword == "FROM":
                break
            out.append(ins)
        return tuple(out)

    def stages(self) -> list[Stage]:
        stages: list[Stage] = []
        cur: Instruction | None = None
        body: list[Instruction] = []
        for ins in self.instructions:
            if ins.keyword == "FROM":
                if cur is not None:
                    stages.append(_stage(cur, body, len(stages)))
                cur, body = ins, []
            elif cur is None:
                if ins.keyword != "ARG":
                    raise DockerfileError(f"dockerfile line {ins.line}: {ins.keyword} before the first FROM "
                                          "(only ARG may come before FROM)")
            else:
                body.append(ins)
        if cur is None:
            raise DockerfileError("dockerfile: no FROM instruction (a build stage starts with FROM)")
        stages.append(_stage(cur, body, len(stages)))
        return stages


def _stage(from_: Instruction, body: list[Instruction], index: int) -> Stage:
    args = from_.args
    name = ""
    if len(args) == 3 and args[1].lower() == "as":
        name = args[2].lower()
        if not re.fullmatch(r"[a-z][a-z0-9._-]*", name):
            raise DockerfileError(f"dockerfile line {from_.line}: invalid stage name {args[2]!r}")
    elif len(args) != 1:
        raise DockerfileError(f"dockerfile line {from_.line}: FROM requires one argument (an image), "
                              "optionally followed by AS name")
    return Stage(args[0], name, index, from_, tuple(body))


def _logical_lines(text: str) -> tuple[list[tuple[int, str]], str, dict[str, str]]:
    """Join continuations; returns ((first line number, text) ..., escape, directives)."""
    lines = text.splitlines()
    directives: dict[str, str] = {}
    escape = "\\"
    i = 0
    # Directives: only at the very top, before any blank line, comment or instruction.
    while i < len(lines):
        m = _DIRECTIVE.match(lines[i].strip())
        if not m or m.group(1).lower() in directives:
            break
        key, value = m.group(1).lower(), m.group(2)
        if key == "escape":
            if value not in ("\\", "`"):
                raise DockerfileError(f"dockerfile line {i + 1}: invalid escape token {value!r}: must be ` or \\")
            escape = value
        directives[key] = value
        i += 1
    cont = re.compile(re.escape(escape) + r"[ \t]*$")
    out: list[tuple[int, str]] = []
    buf: list[str] = []
    start = 0
    while i < len(lines):
        raw = lines[i]
        i += 1
        stripped = raw.strip()
        if not buf:
            if not stripped or stripped.startswith("#"):
                continue
            start = i
        elif not stripped or stripped.startswith("#"):
            continue  # blank and comment lines inside a continuation
        m = cont.search(raw)
        if m:
            buf.append(raw[:m.start()])
            continue
        buf.append(raw)
        out.append((start, "".join(buf).strip()))
        buf = []
    if buf:
        out.append((start, "".join(buf).strip()))
    return out, escape, directives


def _json_list(rest: str) -> list[str] | None:
    if not rest.startswith("["):
        return None
    try:
        v = json.loads(rest)
    except ValueError:
        return None
    if isinstance(v, list) and all(isinstance(x, str) for x in v):
        return v
    return None


def _flags(keyword: str, words: list[str], line: int) -> tuple[list[tuple[str, str]], int]:
    """Leading ``--name=value`` words; returns them and how many words they took."""
    flags: list[tuple[str, str]] = []
    n = 0
    for w in words:
        if not w.startswith("--"):
            break
        if w == "--":
            n += 1
            break
        name, eq, value = w[2:].partition("=")
        if name in UNSUPPORTED_FLAGS.get(keyword, set()):
            raise DockerfileError(f"dockerfile line {line}: {keyword} --{name} is not supported by tuidock's builder")
        if name not in FLAGS.get(keyword, set()):
            raise DockerfileError(f"dockerfile line {line}: unknown flag: --{name}")
        if not eq:
            raise DockerfileError(f"dockerfile line {line}: flag --{name} needs a value (--{name}=VALUE)")
        flags.append((name, value))
        n += 1
    return flags, n


def _strip_flags(rest: str, count: int, escape: str) -> str:
    """``rest`` without its first ``count`` words (the flags), keeping the remainder as written."""
    s = rest
    for _ in range(count):
        s = s.lstrip()
        m = re.match(r"\S+", s)
        s = s[m.end():] if m else ""
    return s.strip()


def _pairs(keyword: str, rest: str, line: int, escape: str) -> list[tuple[str, str | None]]:
    words = shellword.split(rest, escape)
    if not words:
        raise DockerfileError(f"dockerfile line {line}: {keyword} requires at least one argument")
    if keyword == "ARG":
        out: list[tuple[str, str | None]] = []
        for w in words:
            name, eq, default = w.partition("=")
            if not name:
                raise DockerfileError(f"dockerfile line {line}: ARG names can not be blank")
            out.append((name, default if eq else None))
        return out
    if "=" not in words[0]:
        # The old single-pair form: ENV key value with spaces.
        if keyword == "LABEL" or len(words) < 2:
            raise DockerfileError(f"dockerfile line {line}: {keyword} must have two arguments: key=value or key value"
                                  if keyword == "ENV" else
                                  f"dockerfile line {line}: LABEL: can't find = in {words[0]!r}: must be key=value")
        key = words[0]
        value = rest.lstrip()[len(key):].strip()
        return [(key, value)]
    out = []
    for w in words:
        key, eq, value = w.partition("=")
        if not eq:
            raise DockerfileError(f"dockerfile line {line}: syntax error: can't find = in {w!r}: must be of the form name=value")
        if not key:
            raise DockerfileError(f"dockerfile line {line}: {keyword} names can not be blank")
        out.append((key, value))
    return out


def parse_instruction(text: str, line: int = 1, escape: str = "\\") -> Instruction:
    """One logical line (``docker commit --change`` uses this too)."""
    m = re.match(r"(\S+)\s*(.*)$", text.strip(), re.S)
    if not m:
        raise DockerfileError(f"dockerfile line {line}: empty instruction")
    keyword, rest = m.group(1).upper(), m.group(2).strip()
    if keyword not in KEYWORDS:
        raise DockerfileError(f"dockerfile line {line}: unknown instruction: {m.group(1)}")
    original = f"{keyword} {rest}".strip()
    flags: list[tuple[str, str]] = []
    if keyword in FLAGS or keyword in UNSUPPORTED_FLAGS:
        words = shellword.split(rest, escape) if rest else []
        flags, n = _flags(keyword, words, line)
        if n:
            rest = _strip_flags(rest, n, escape)

    def mk(args: tuple[str, ...] = (), is_json: bool = False,
           pairs: tuple[tuple[str, str | None], ...] = ()) -> Instruction:
        return Instruction(keyword, line, original, args, is_json, tuple(flags), pairs)

    if keyword in ("ENV", "LABEL", "ARG"):
        return mk(pairs=tuple(_pairs(keyword, rest, line, escape)))
    if keyword == "ONBUILD":
        if not rest:
            raise DockerfileError(f"dockerfile line {line}: ONBUILD requires an instruction")
        inner = rest.split(None, 1)[0].upper()
        if inner in ("ONBUILD", "FROM", "MAINTAINER"):
            raise DockerfileError(f"dockerfile line {line}: {inner} isn't allowed as an ONBUILD trigger")
        parse_instruction(rest, line, escape)  # it must parse now
        return mk((rest,))
    if keyword in JSON_FORMS:
        lst = _json_list(rest)
        if lst is not None:
            if keyword == "SHELL" and not lst:
                raise DockerfileError(f"dockerfile line {line}: SHELL requires at least one argument")
            return mk(tuple(lst), True)
        if keyword == "SHELL":
            raise DockerfileError(f"dockerfile line {line}: SHELL requires the arguments to be in JSON form")
        if keyword in ("COPY", "ADD", "VOLUME"):
            words = shellword.split(rest, escape)
            return mk(tuple(words))
        if not rest and keyword == "RUN":
            raise DockerfileError(f"dockerfile line {line}: RUN requires at least one argument")
        return mk((rest,) if rest else ())
    if keyword in ("FROM", "EXPOSE"):
        words = shellword.split(rest, escape)
        if not words:
            raise DockerfileError(f"dockerfile line {line}: {keyword} requires at least one argument")
        return mk(tuple(words))
    if keyword in ("WORKDIR", "USER", "STOPSIGNAL", "MAINTAINER") and not rest:
        raise DockerfileError(f"dockerfile line {line}: {keyword} requires exactly one argument")
    return mk((rest,) if rest else ())


def parse(text: str) -> Dockerfile:
    lines, escape, directives = _logical_lines(text)
    if not lines:
        raise DockerfileError("dockerfile: the file is empty (no instructions)")
    return Dockerfile(tuple(parse_instruction(t, n, escape) for n, t in lines), escape, directives)
