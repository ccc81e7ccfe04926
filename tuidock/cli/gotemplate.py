"""The part of Go's text/template that ``--format`` needs, as docker users write it.

Supported: ``{{.A.B}}``, ``{{json .Config}}``, ``{{index .Labels "k"}}``,
``{{range .Mounts}}...{{end}}``, ``{{range $k, $v := .Labels}}``,
``{{if .X}}...{{else}}...{{end}}``, ``{{with .X}}``, pipes (``{{.X | json}}``),
parentheses, ``{{- -}}`` trimming, and the functions docker adds (json, join,
lower, upper, title, split, len, index, printf, println, truncate, pad).
Values print as Go prints them (``true``, ``[a b]``, ``map[k:v]``, ``<no value>``).
"""

from __future__ import annotations

import json
import re

from runtime.errors import InvalidArgument

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


class TemplateError(InvalidArgument):
    pass


_ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.S)
_TOKEN = re.compile(r'''\s*(?:("(?:[^"\\]|\\.)*"|`[^`]*`)|(\()|(\))|(\|)|(:=)|(,)|([^\s()|,]+))''')


def go_str(v: Any) -> str:
    if v is None:
        return "<no value>"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, dict):
        return "map[" + " ".join(f"{k}:{go_str(x)}" for k, x in sorted(v.items())) + "]"
    if isinstance(v, (list, tuple)):
        return "[" + " ".join(go_str(x) for x in v) + "]"
    return str(v)


def _truthy(v: Any) -> bool:
    return bool(v) and v != 0


def _index(v: Any, *keys: Any) -> Any:
    for k in keys:
        if isinstance(v, dict):
            v = v.get(k)
        elif isinstance(v, (list, tuple)):
            v = v[int(k)] if -len(v) <= int(k) < len(v) else None
        else:
            return None
    return v


def _printf(fmt: str, *args: Any) -> str:
    py = re.sub(r"%v", "%s", fmt)
    return py % tuple(go_str(a) if isinstance(a, (dict, list, tuple, bool)) or a is None else a for a in args)


FUNCS: dict[str, Callable[..., Any]] = {
    "json": lambda v: json.dumps(v, separators=(",", ":")),
    "join": lambda v, sep: sep.join(go_str(x) for x in (v or [])),
    "lower": lambda s: go_str(s).lower(),
    "upper": lambda s: go_str(s).upper(),
    "title": lambda s: go_str(s).title(),
    "split": lambda s, sep: go_str(s).split(sep),
    "len": lambda v: len(v or ()),
    "index": _index,
    "printf": _printf,
    "print": lambda *a: "".join(go_str(x) for x in a),
    "println": lambda *a: " ".join(go_str(x) for x in a) + "\n",
    "truncate": lambda s, n: go_str(s)[: int(n)],
    "pad": lambda s, left, right: " " * int(left) + go_str(s) + " " * int(right),
    "eq": lambda a, *b: any(a == x for x in b),
    "ne": lambda a, b: a != b,
    "not": lambda a: not _truthy(a),
    "and": lambda *a: next((x for x in a if not _truthy(x)), a[-1] if a else None),
    "or": lambda *a: next((x for x in a if _truthy(x)), a[-1] if a else None),
}


class _Node:
    pass


class _Text(_Node):
    def __init__(self, text: str) -> None:
        self.text = text


class _Action(_Node):
    def __init__(self, pipe: list[list[Any]], decl: list[str]) -> None:
        self.pipe, self.decl = pipe, decl


class _Block(_Node):
    def __init__(self, kind: str, pipe: list[list[Any]], decl: list[str]) -> None:
        self.kind, self.pipe, self.decl = kind, pipe, decl
        self.body: list[_Node] = []
        self.orelse: list[_Node] = []


def _tokens(src: str) -> list[str]:
    out, pos = [], 0
    while pos < len(src):
        if src[pos:].strip() == "":
            break
        m = _TOKEN.match(src, pos)
        if not m or m.end() == pos:
            raise TemplateError(f"template parsing error: unexpected {src[pos:]!r}")
        out.append(next(g for g in m.groups() if g is not None))
        pos = m.end()
    return out


def _split_cmds(toks: list[Any]) -> list[list[Any]]:
    cmds: list[list[Any]] = [[]]
    for t in toks:
        if t == "|":
            cmds.append([])
        else:
            cmds[-1].append(t)
    if any(not c for c in cmds):
        raise TemplateError("template parsing error: missing value for command")
    return cmds


def _parse_pipe(toks: list[str]) -> tuple[list[list[Any]], list[str]]:
    decl: list[str] = []
    if ":=" in toks:
        i = toks.index(":=")
        decl = [t for t in toks[:i] if t != ","]
        toks = toks[i + 1:]
    # Parenthesised sub-pipelines become ("sub", commands) tokens.
    stack: list[list[Any]] = [[]]
    for t in toks:
        if t == "(":
            stack.append([])
        elif t == ")":
            if len(stack) == 1:
                raise TemplateError("template parsing error: unbalanced ')'")
            inner = stack.pop()
            stack[-1].append(("sub", _split_cmds(inner)))
        else:
            stack[-1].append(t)
    if len(stack) != 1:
        raise TemplateError("template parsing error: unclosed '('")
    return _split_cmds(stack[0]), decl


def parse(src: str) -> list[_Node]:
    root: list[_Node] = []
    stack: list[tuple[_Block, bool]] = []  # (block, in_else)
    cur = root
    pos = 0
    for m in _ACTION.finditer(src):
        text = src[pos:m.start()]
        if m.group(1):
            text = text.rstrip()
        if text:
            cur.append(_Text(text))
        pos = m.end()
        if m.group(3):
            rest = src[pos:]
            pos += len(rest) - len(rest.lstrip())
        body = m.group(2).strip()
        if body.startswith("/*"):
            continue
        toks = _tokens(body)
        if not toks:
            raise TemplateError("template parsing error: empty action")
        word = toks[0]
        if word in ("if", "range", "with"):
            pipe, decl = _parse_pipe(toks[1:])
            blk = _Block(word, pipe, decl)
            cur.append(blk)
            stack.append((blk, False))
            cur = blk.body
        elif word == "else":
            if not stack:
                raise TemplateError("template parsing error: unexpected {{else}}")
            blk, _ = stack.pop()
            if len(toks) > 1 and toks[1] == "if":
                pipe, decl = _parse_pipe(toks[2:])
                nested = _Block("if", pipe, decl)
                blk.orelse.append(nested)
                nested.orelse_of = blk  # type: ignore[attr-defined]
                stack.append((blk, True))
                stack.append((nested, False))
                cur = nested.body
                continue
            stack.append((blk, True))
            cur = blk.orelse
        elif word == "end":
            if not stack:
                raise TemplateError("template parsing error: unexpected {{end}}")
            stack.pop()
            # An "else if" chain closes with one {{end}} for all of its parts.
            while stack and stack[-1][1] and stack[-1][0].orelse and isinstance(stack[-1][0].orelse[-1], _Block) \
                    and getattr(stack[-1][0].orelse[-1], "orelse_of", None) is stack[-1][0]:
                stack.pop()
            cur = root if not stack else (stack[-1][0].orelse if stack[-1][1] else stack[-1][0].body)
        else:
            pipe, decl = _parse_pipe(toks)
            cur.append(_Action(pipe, decl))
    if stack:
        raise TemplateError("template parsing error: missing {{end}}")
    if pos < len(src):
        cur.append(_Text(src[pos:]))
    return root


class _Scope:
    def __init__(self, root: Any) -> None:
        self.vars: list[dict[str, Any]] = [{"$": root}]

    def get(self, name: str) -> Any:
        for frame in reversed(self.vars):
            if name in frame:
                return frame[name]
        raise TemplateError(f"template: undefined variable {name}")


def _field(v: Any, name: str) -> Any:
    if isinstance(v, dict):
        if name in v:
            return v[name]
        low = {k.lower(): x for k, x in v.items()} if isinstance(next(iter(v), ""), str) else {}
        return low.get(name.lower())
    return getattr(v, name, None)


def _arg(tok: Any, dot: Any, scope: _Scope) -> Any:
    if isinstance(tok, tuple):
        return _run_pipe(tok[1], dot, scope)
    if tok.startswith('"'):
        return json.loads(tok)
    if tok.startswith("`"):
        return tok[1:-1]
    if tok in ("true", "false"):
        return tok == "true"
    if tok == "nil":
        return None
    if re.fullmatch(r"-?\d+", tok):
        return int(tok)
    if re.fullmatch(r"-?\d+\.\d*", tok):
        return float(tok)
    if tok.startswith(".") or tok.startswith("$"):
        if tok.startswith("$"):
            name, _, rest = tok.partition(".")
            v = scope.get(name)
            parts = rest.split(".") if rest else []
        else:
            v = dot
            parts = [p for p in tok.split(".") if p]
        for p in parts:
            v = _field(v, p)
        return v
    if tok in FUNCS:
        return FUNCS[tok]()
    raise TemplateError(f'template: function "{tok}" not defined')


def _run_cmd(cmd: list[Any], dot: Any, scope: _Scope, piped: tuple[Any, ...]) -> Any:
    head = cmd[0]
    if isinstance(head, str) and head in FUNCS:
        args = [_arg(t, dot, scope) for t in cmd[1:]] + list(piped)
        try:
            return FUNCS[head](*args)
        except (TypeError, ValueError, KeyError) as e:
            raise TemplateError(f"template: error calling {head}: {e}") from None
    if len(cmd) > 1 or piped:
        raise TemplateError(f"template: can't give argument to non-function {head}")
    return _arg(head, dot, scope)


def _run_pipe(pipe: list[list[Any]], dot: Any, scope: _Scope) -> Any:
    value: tuple[Any, ...] = ()
    for cmd in pipe:
        value = (_run_cmd(cmd, dot, scope, value),)
    return value[0] if value else None


def _exec(nodes: list[_Node], dot: Any, scope: _Scope, out: list[str]) -> None:
    for n in nodes:
        if isinstance(n, _Text):
            out.append(n.text)
        elif isinstance(n, _Action):
            v = _run_pipe(n.pipe, dot, scope)
            if n.decl:
                scope.vars[-1][n.decl[0]] = v
            else:
                out.append(go_str(v))
        elif isinstance(n, _Block):
            v = _run_pipe(n.pipe, dot, scope)
            if n.kind == "if":
                _exec(n.body if _truthy(v) else n.orelse, dot, scope, out)
            elif n.kind == "with":
                if _truthy(v):
                    _exec(n.body, v, scope, out)
                else:
                    _exec(n.orelse, dot, scope, out)
            else:
                items = list(v.items()) if isinstance(v, dict) else list(enumerate(v or []))
                if isinstance(v, dict):
                    items.sort()
                if not items:
                    _exec(n.orelse, dot, scope, out)
                for k, x in items:
                    frame: dict[str, Any] = {}
                    if len(n.decl) == 2:
                        frame[n.decl[0]], frame[n.decl[1]] = k, x
                    elif len(n.decl) == 1:
                        frame[n.decl[0]] = x
                    scope.vars.append(frame)
                    try:
                        _exec(n.body, x, scope, out)
                    finally:
                        scope.vars.pop()


def render(template: str, data: Any) -> str:
    """Execute ``template`` on ``data`` (JSON-shaped dicts and lists)."""
    nodes = parse(template)
    out: list[str] = []
    _exec(nodes, data, _Scope(data), out)
    return "".join(out)
