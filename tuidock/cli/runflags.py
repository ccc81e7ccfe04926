"""``run``/``create`` flags on the client side: parse, then resolve what depends on the caller.

The flag table and the conversion to options live in the engine
(:mod:`runtime.engine.runflags`); this module only turns the table into
parser options and settles what only the calling process knows: the
contents of ``--env-file``, the caller's value for a bare ``-e KEY``.
"""

from __future__ import annotations

import os

from runtime.engine.runflags import CLIENT_ONLY, _sections, all_defaults, all_flags
from runtime.errors import InvalidArgument

from .options import Opt, opt

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def options(exclude: tuple[str, ...] = ()) -> list[Opt]:
    defaults = all_defaults()
    return [opt(names, dest, kind, help, default=defaults.get(dest)) for names, dest, kind, help in all_flags()
            if dest not in exclude]


def read_env_file(path: str) -> list[str]:
    """docker's --env-file: KEY=VALUE lines, ``#`` comments, a bare KEY takes the caller's value."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError as e:
        raise InvalidArgument(f"env file {path}: {e.strerror.lower() if e.strerror else e}") from None
    out = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.lstrip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not key or any(c.isspace() for c in key):
            raise InvalidArgument(f"env file {path}: line {n}: variable {key!r} contains whitespace or is empty")
        out.append(f"{key}={value}" if sep else key)
    return out


def resolve_env(items: list[str]) -> list[str]:
    """``-e KEY`` without a value takes this process's value, or is dropped."""
    out = []
    for item in items:
        if "=" in item:
            out.append(item)
        elif item in os.environ:
            out.append(f"{item}={os.environ[item]}")
    return out


def client_values(values: dict[str, Any]) -> dict[str, Any]:
    """The flags to send to the engine, with caller-dependent values resolved."""
    env: list[str] = []
    for f in values.get("env_file") or []:
        env += read_env_file(f)
    env += values.get("env") or []
    out = {k: v for k, v in values.items() if k not in CLIENT_ONLY}
    out["env"] = resolve_env(env)
    # Host paths are the caller's: make them absolute against its directory.
    for sec in _sections():
        for dest in sec.CLIENT_PATHS:
            if out.get(dest):
                out[dest] = absolute_paths(dest, out[dest])
    return out


def absolute_paths(dest: str, value: Any) -> Any:
    """``./data:/data`` -> ``/home/me/data:/data`` for -v; ``src=./x`` for --mount."""
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if dest == "mount":
            parts = []
            for kv in item.split(","):
                k, sep, v = kv.partition("=")
                if k in ("source", "src") and (v.startswith("./") or v.startswith("../") or v in (".", "..")):
                    v = os.path.abspath(v)
                parts.append(f"{k}{sep}{v}")
            out.append(",".join(parts))
        else:
            # docker's CLI: a -v source starting with "." is a host path (".", "./x", "../x", ".x");
            # a volume name cannot start with one.
            src, sep, rest = item.partition(":")
            if sep and src.startswith("."):
                src = os.path.abspath(src)
            out.append(f"{src}{sep}{rest}")
    return out if isinstance(value, list) else out[0]
