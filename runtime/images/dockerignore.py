"""``.dockerignore``: which files of a build context COPY and ADD may see (pure).

The rules are moby's ``patternmatcher``: one pattern a line, ``#`` starts a
comment line, patterns are cleaned (``./a/`` is ``a``; a leading ``/`` is
dropped), ``*`` matches within one path component, ``?`` one character,
``**`` any number of directories, ``[...]`` a class, ``\\`` escapes; a
pattern that matches a directory excludes everything under it; ``!`` makes
an exception, and the last pattern that matches a path decides.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from ..errors import InvalidArgument


@dataclass(frozen=True)
class Pattern:
    text: str
    exclusion: bool  # a "!" pattern: re-includes what it matches
    regex: re.Pattern[str]


def _compile(pattern: str) -> re.Pattern[str]:
    out = ["^"]
    i = 0
    n = len(pattern)
    while i < n:
        c = pattern[i]
        i += 1
        if c == "*":
            if i < n and pattern[i] == "*":
                i += 1
                if i < n and pattern[i] == "/":
                    i += 1
                out.append(".*" if i >= n else "(.*/)?")
            else:
                out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "\\":
            if i >= n:
                raise InvalidArgument(f".dockerignore: pattern {pattern!r} ends with an escape")
            out.append(re.escape(pattern[i]))
            i += 1
        elif c == "[":
            end = pattern.find("]", i + 1 if i < n and pattern[i] in "!^" else i)
            if end < 0:
                raise InvalidArgument(f".dockerignore: pattern {pattern!r} has an unterminated [")
            body = pattern[i:end]
            if body.startswith("!"):
                body = "^" + body[1:]
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = end + 1
        else:
            out.append(re.escape(c))
    out.append("$")
    return re.compile("".join(out))


def parse(text: str) -> list[Pattern]:
    patterns = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        exclusion = line.startswith("!")
        if exclusion:
            line = line[1:].strip()
            if not line:
                raise InvalidArgument(".dockerignore: an exclusion (!) needs a pattern after it")
        line = posixpath.normpath(line)
        if len(line) > 1 and line.startswith("/"):
            line = line.lstrip("/") or "/"
        if line == ".":
            continue  # "." would exclude the whole context; docker ignores it as well
        patterns.append(Pattern(line, exclusion, _compile(line)))
    return patterns


class Matcher:
    def __init__(self, patterns: list[Pattern]) -> None:
        self.patterns = patterns
        self.has_exclusions = any(p.exclusion for p in patterns)

    @classmethod
    def from_text(cls, text: str) -> Matcher:
        return cls(parse(text))

    def excluded(self, path: str) -> bool:
        """Whether ``path`` (relative to the context, ``/``-separated) is left out."""
        path = posixpath.normpath(path)
        parent = posixpath.dirname(path)
        parents = parent.split("/") if parent else []
        matched = False
        for p in self.patterns:
            hit = p.regex.match(path) is not None
            if not hit:
                for i in range(len(parents)):
                    if p.regex.match("/".join(parents[: i + 1])):
                        hit = True
                        break
            if hit:
                matched = not p.exclusion
        return matched
