"""What the metadata instructions do to an image's config (pure): ENV, CMD, ENTRYPOINT, ...

Used by ``build`` for every step that changes no files, and by ``commit -c``
and ``import -c`` (docker's ``--change``). The config is docker's ``config``
object (``Env``, ``Cmd``, ``Entrypoint``, ``WorkingDir``, ``User``,
``Labels``, ``ExposedPorts``, ``Volumes``, ``StopSignal``, ``Shell``,
``OnBuild``, ``Healthcheck``). The rules are docker's: a shell-form CMD or
ENTRYPOINT runs through the SHELL (``/bin/sh -c`` by default); an
ENTRYPOINT resets a CMD inherited from the base image (but not one set
earlier in the same stage); a relative WORKDIR is taken from the previous
one; the pairs of one ENV instruction are all expanded against the
environment as it was before it.
"""

from __future__ import annotations

import copy
import json
import posixpath
import re
from collections.abc import Mapping
from typing import Any

from ..errors import InvalidArgument
from . import shellword
from .dockerfile import Instruction

DEFAULT_SHELL = ("/bin/sh", "-c")
CHANGE_KEYWORDS = {"CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "ONBUILD", "USER", "VOLUME", "WORKDIR", "STOPSIGNAL"}
METADATA = {"ENV", "LABEL", "CMD", "ENTRYPOINT", "EXPOSE", "USER", "VOLUME", "WORKDIR", "STOPSIGNAL", "SHELL",
            "ONBUILD", "HEALTHCHECK", "MAINTAINER"}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 1_000_000_000, "m": 60_000_000_000,
          "h": 3_600_000_000_000}


def env_map(env: list[str] | tuple[str, ...] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in env or ():
        k, _, v = item.partition("=")
        out[k] = v
    return out


def set_env(env: list[str], key: str, value: str) -> list[str]:
    out = [e for e in env if e.partition("=")[0] != key]
    # Keep the position of a key that is replaced, as docker does.
    for i, e in enumerate(env):
        if e.partition("=")[0] == key:
            out.insert(i, f"{key}={value}")
            return out
    return out + [f"{key}={value}"]


def shell_of(cfg: Mapping[str, Any]) -> list[str]:
    return list(cfg.get("Shell") or DEFAULT_SHELL)


def command_of(ins: Instruction, cfg: Mapping[str, Any]) -> list[str]:
    """The argv of a RUN, CMD or ENTRYPOINT: the exec form as given, the shell form through SHELL."""
    if ins.json:
        return list(ins.args)
    return shell_of(cfg) + [ins.text] if ins.text else []


def expose_ports(words: list[str]) -> list[str]:
    """``80``, ``80/tcp``, ``8000-8002/udp`` -> ``["80/tcp", "8000/udp", ...]``."""
    out = []
    for w in words:
        port, _, proto = w.partition("/")
        proto = (proto or "tcp").lower()
        if proto not in ("tcp", "udp", "sctp"):
            raise InvalidArgument(f"EXPOSE {w}: invalid protocol {proto!r}")
        lo, dash, hi = port.partition("-")
        if not lo.isdigit() or (dash and not hi.isdigit()):
            raise InvalidArgument(f"EXPOSE {w}: invalid port")
        a, b = int(lo), int(hi) if dash else int(lo)
        if not 0 < a <= b <= 65535:
            raise InvalidArgument(f"EXPOSE {w}: invalid port range")
        out += [f"{p}/{proto}" for p in range(a, b + 1)]
    return out


def duration_ns(text: str, what: str) -> int:
    total, pos = 0.0, 0
    for m in _DURATION.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if not text or pos != len(text):
        raise InvalidArgument(f"HEALTHCHECK --{what}={text}: not a duration (like 30s or 1m30s)")
    return int(total)


def _healthcheck(ins: Instruction) -> dict[str, Any]:
    words = ins.text.split(None, 1)
    if not words:
        raise InvalidArgument("HEALTHCHECK requires an argument: NONE or CMD")
    if words[0].upper() == "NONE":
        if len(words) > 1 or ins.flags:
            raise InvalidArgument("HEALTHCHECK NONE takes no other arguments")
        return {"Test": ["NONE"]}
    if words[0].upper() != "CMD" or len(words) < 2:
        raise InvalidArgument("HEALTHCHECK: the command must be given as CMD ...")
    rest = words[1].strip()
    try:
        lst = json.loads(rest) if rest.startswith("[") else None
    except ValueError:
        lst = None
    test = ["CMD"] + lst if isinstance(lst, list) else ["CMD-SHELL", rest]
    hc: dict[str, Any] = {"Test": test}
    keys = {"interval": "Interval", "timeout": "Timeout", "start-period": "StartPeriod",
            "start-interval": "StartInterval"}
    for name, value in ins.flags:
        if name == "retries":
            if not value.isdigit():
                raise InvalidArgument(f"HEALTHCHECK --retries={value}: not a number")
            hc["Retries"] = int(value)
        else:
            hc[keys[name]] = duration_ns(value, name)
    return hc


def apply(cfg: dict[str, Any], ins: Instruction, env: Mapping[str, str], escape: str = "\\",
          cmd_set: bool = False) -> tuple[dict[str, Any], str]:
    """Apply a metadata instruction; returns (the new config, docker's history text for the step).

    ``env`` is what variables expand against (ENV and ARG values in scope);
    ``cmd_set`` tells whether a CMD came earlier in this stage.
    """
    c = copy.deepcopy(cfg)
    kw = ins.keyword

    def x(word: str) -> str:
        return shellword.expand(word, env, escape)

    if kw in ("ENV", "LABEL"):
        parts = []
        for k, v in ins.pairs:
            key, value = x(k), x(v or "")
            if not key:
                raise InvalidArgument(f"{kw} names can not be blank")
            if kw == "ENV":
                c["Env"] = set_env(list(c.get("Env") or []), key, value)
            else:
                c["Labels"] = {**(c.get("Labels") or {}), key: value}
            parts.append(f"{key}={value}")
        return c, f"{kw} " + " ".join(parts)
    if kw == "CMD":
        c["Cmd"] = command_of(ins, c)
        return c, "CMD " + json.dumps(c["Cmd"])
    if kw == "ENTRYPOINT":
        c["Entrypoint"] = command_of(ins, c) if (ins.json or ins.text) else None
        if not cmd_set:
            c["Cmd"] = None  # an inherited CMD does not survive a new ENTRYPOINT
        return c, "ENTRYPOINT " + json.dumps(c["Entrypoint"])
    if kw == "EXPOSE":
        ports = expose_ports([x(w) for w in ins.args])
        c["ExposedPorts"] = {**(c.get("ExposedPorts") or {}), **{p: {} for p in ports}}
        return c, "EXPOSE " + " ".join(ports)
    if kw == "USER":
        user = x(ins.text)
        if not user:
            raise InvalidArgument("USER requires an argument")
        c["User"] = user
        return c, f"USER {user}"
    if kw == "VOLUME":
        vols = [x(w) if not ins.json else w for w in ins.args]
        if not vols or any(not v.strip() for v in vols):
            raise InvalidArgument("VOLUME specified can not be an empty string")
        c["Volumes"] = {**(c.get("Volumes") or {}), **{v: {} for v in vols}}
        return c, "VOLUME " + json.dumps(vols)
    if kw == "WORKDIR":
        wd = x(ins.text)
        if not wd:
            raise InvalidArgument("WORKDIR requires an argument")
        if not wd.startswith("/"):
            wd = posixpath.join(c.get("WorkingDir") or "/", wd)
        c["WorkingDir"] = posixpath.normpath(wd)
        return c, f"WORKDIR {c['WorkingDir']}"
    if kw == "STOPSIGNAL":
        sig = x(ins.text)
        from ..signals import parse as parse_signal

        parse_signal(sig)
        c["StopSignal"] = sig
        return c, f"STOPSIGNAL {sig}"
    if kw == "SHELL":
        c["Shell"] = list(ins.args)
        return c, "SHELL " + json.dumps(c["Shell"])
    if kw == "ONBUILD":
        c["OnBuild"] = list(c.get("OnBuild") or []) + [ins.text]
        return c, f"ONBUILD {ins.text}"
    if kw == "HEALTHCHECK":
        c["Healthcheck"] = _healthcheck(ins)
        return c, "HEALTHCHECK " + ins.text
    if kw == "MAINTAINER":
        return c, f"MAINTAINER {x(ins.text)}"
    raise InvalidArgument(f"{kw} is not a metadata instruction")


def apply_changes(cfg: dict[str, Any], changes: list[str]) -> dict[str, Any]:
    """``--change 'CMD ["sh"]'`` (commit, import): the instructions docker allows there."""
    from .dockerfile import parse_instruction

    for text in changes:
        ins = parse_instruction(text)
        if ins.keyword not in CHANGE_KEYWORDS:
            raise InvalidArgument(f"--change {text!r}: {ins.keyword} is not supported here "
                                  f"(one of {', '.join(sorted(CHANGE_KEYWORDS))})")
        cfg, _ = apply(cfg, ins, env_map(cfg.get("Env")), cmd_set=True)
    return cfg
