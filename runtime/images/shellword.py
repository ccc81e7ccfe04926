"""Variable substitution in Dockerfile words, as docker's shell lexer does it (pure).

``$VAR`` and ``${VAR}`` expand; ``${VAR:-word}`` gives ``word`` when VAR is
unset or empty, ``${VAR-word}`` only when unset; ``${VAR:+word}`` gives
``word`` when VAR is set and non-empty, ``${VAR+word}`` when set;
``${VAR:?msg}`` and ``${VAR?msg}`` fail the build. Single quotes keep
everything literal, double quotes expand but keep whitespace, the escape
character (``\\`` or the one a ``# escape=`` directive chose) makes the next
character literal; the quotes and escapes themselves are removed, as in
moby's ``shell.Lex.ProcessWord``.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import InvalidArgument


class SubstitutionError(InvalidArgument):
    """A word that cannot be expanded."""


def _is_name_start(c: str) -> bool:
    return c.isascii() and (c.isalpha() or c == "_")


def _is_name_char(c: str) -> bool:
    return c.isascii() and (c.isalnum() or c == "_")


class _Lexer:
    def __init__(self, text: str, env: Mapping[str, str], escape: str) -> None:
        self.s = text
        self.i = 0
        self.env = env
        self.esc = escape
        self.used: set[str] = set()

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def next(self) -> str:
        c = self.peek()
        self.i += 1
        return c

    def word(self, stop: str = "") -> str:
        """Read up to ``stop`` (not consumed) or the end; returns the expanded text."""
        out: list[str] = []
        while self.i < len(self.s):
            c = self.peek()
            if stop and c == stop:
                break
            if c == "'":
                out.append(self.single_quoted())
            elif c == '"':
                out.append(self.double_quoted())
            elif c == "$":
                out.append(self.dollar())
            elif c == self.esc:
                self.next()
                if self.i < len(self.s):
                    out.append(self.next())
            else:
                out.append(self.next())
        return "".join(out)

    def single_quoted(self) -> str:
        self.next()
        end = self.s.find("'", self.i)
        if end < 0:
            raise SubstitutionError(f"unexpected end of statement while looking for matching single-quote in {self.s!r}")
        text = self.s[self.i:end]
        self.i = end + 1
        return text

    def double_quoted(self) -> str:
        self.next()
        out: list[str] = []
        while True:
            if self.i >= len(self.s):
                raise SubstitutionError(f"unexpected end of statement while looking for matching double-quote in {self.s!r}")
            c = self.peek()
            if c == '"':
                self.next()
                return "".join(out)
            if c == "$":
                out.append(self.dollar())
            elif c == self.esc:
                self.next()
                nxt = self.peek()
                if nxt in ('"', "$", self.esc) and nxt:
                    out.append(self.next())
                else:
                    out.append(self.esc)
            else:
                out.append(self.next())

    def name(self) -> str:
        start = self.i
        while self.i < len(self.s) and _is_name_char(self.s[self.i]):
            self.i += 1
        return self.s[start:self.i]

    def lookup(self, name: str) -> str | None:
        self.used.add(name)
        return self.env.get(name)

    def dollar(self) -> str:
        self.next()  # $
        c = self.peek()
        if c != "{":
            if not c or not _is_name_start(c):
                return "$"
            return self.lookup(self.name()) or ""
        self.next()  # {
        name = self.name()
        if not name:
            raise SubstitutionError(f"bad substitution in {self.s!r}")
        c = self.next()
        if c == "}":
            return self.lookup(name) or ""
        colon = c == ":"
        if colon:
            c = self.next()
        if c not in ("-", "+", "?"):
            raise SubstitutionError(f"unsupported modifier ({c!r}) in substitution {self.s!r}")
        word = self.word(stop="}")
        if self.next() != "}":
            raise SubstitutionError(f"missing '}}' in substitution {self.s!r}")
        value = self.lookup(name)
        unset = value is None or (colon and value == "")
        if c == "-":
            return word if unset else (value or "")
        if c == "+":
            return "" if unset else word
        if unset:
            raise SubstitutionError(f"{name}: {word or 'is not allowed to be unset'}")
        return value or ""


def expand(text: str, env: Mapping[str, str], escape: str = "\\") -> str:
    """One word: quotes and escapes removed, variables expanded."""
    return _Lexer(text, env, escape).word()


def expand_used(text: str, env: Mapping[str, str], escape: str = "\\") -> tuple[str, set[str]]:
    """:func:`expand`, and the names it looked up."""
    lx = _Lexer(text, env, escape)
    return lx.word(), lx.used


def split(text: str, escape: str = "\\") -> list[str]:
    """Split on whitespace outside quotes; quotes and escapes stay for :func:`expand`."""
    words: list[str] = []
    cur: list[str] = []
    quote = ""
    i = 0
    in_word = False
    while i < len(text):
        c = text[i]
        if quote:
            cur.append(c)
            if c == escape and quote == '"' and i + 1 < len(text):
                cur.append(text[i + 1])
                i += 1
            elif c == quote:
                quote = ""
        elif c == escape and i + 1 < len(text):
            cur += [c, text[i + 1]]
            in_word = True
            i += 1
        elif c in ("'", '"'):
            quote = c
            cur.append(c)
            in_word = True
        elif c.isspace():
            if in_word:
                words.append("".join(cur))
                cur = []
                in_word = False
        else:
            cur.append(c)
            in_word = True
        i += 1
    if quote:
        raise SubstitutionError(f"unmatched {quote} in {text!r}")
    if in_word:
        words.append("".join(cur))
    return words


def expand_words(text: str, env: Mapping[str, str], escape: str = "\\") -> list[str]:
    return [expand(w, env, escape) for w in split(text, escape)]
