"""The run dialog's form as ``tuidock run`` arguments: built, checked field by field, and shown.

The dialog is the CLI with boxes: every field becomes the flags a user would
type, which go through the same parser and the same conversion
(:func:`runtime.engine.runflags.to_options`) as ``tuidock run``. So the
dialog accepts exactly what the CLI accepts, shows the equivalent command,
and reports an error next to the field that caused it.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field, fields
from typing import Any

from runtime.engine.model import RunOptions
from runtime.engine.runflags import to_options
from runtime.errors import TuidockError

from ..cli.commands.run import COMMAND
from ..cli.options import UsageError, parse
from ..cli.runflags import client_values


@dataclass(frozen=True)
class RunForm:
    """What the dialog holds; every field is text as typed, or a switch."""

    image: str = "busybox:latest"
    name: str = ""
    command: str = ""
    env: str = ""  # K=V K2=V2
    volumes: str = ""  # -v specs, space separated: data:/data /srv:/srv:ro /cache
    ports: str = ""  # -p specs: 8080:80 127.0.0.1:5353:53/udp 80
    memory: str = ""  # 64m
    cpus: str = ""  # 0.5
    pids: str = ""  # 100
    tty: bool = False
    interactive: bool = False
    rm: bool = False

    def field_args(self, name: str) -> list[str]:
        """The flags one field stands for (raises ValueError on unbalanced quotes)."""
        value = getattr(self, name)
        if name in ("image", "command"):
            return []
        if isinstance(value, bool):
            return [f"--{name}"] if value else []
        text = str(value).strip()
        if not text:
            return []
        flag = {"name": "--name", "memory": "--memory", "cpus": "--cpus", "pids": "--pids-limit"}.get(name)
        if flag:
            return [flag, text]
        each = {"env": "-e", "volumes": "-v", "ports": "-p"}[name]
        return [a for item in shlex.split(text) for a in (each, item)]

    def argv(self) -> list[str]:
        """``tuidock run`` arguments for the whole form."""
        out: list[str] = []
        for f in fields(self):
            if f.name not in ("image", "command"):
                out += self.field_args(f.name)
        return out + [self.image.strip(), *shlex.split(self.command)]

    def command_line(self) -> str:
        try:
            return "tuidock run " + shlex.join(self.argv())
        except ValueError:
            return "tuidock run …"


@dataclass(frozen=True)
class Checked:
    """The form checked: the options when it is valid, else an error per field."""

    options: RunOptions | None
    values: dict[str, Any] = field(default_factory=dict)
    operands: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


def _options(argv: list[str]) -> tuple[RunOptions, dict[str, Any], list[str]]:
    try:
        values, operands = parse(COMMAND, argv)
    except UsageError as e:
        raise TuidockError(str(e)) from None
    values = client_values(values)
    return to_options(values, operands), values, operands


def check(form: RunForm, images: list[str] | None = None) -> Checked:
    """Every field on its own first (so an error lands next to its field), then the whole form."""
    errors: dict[str, str] = {}
    image = form.image.strip()
    if not image:
        errors["image"] = "an image is required"
    elif images is not None and image not in images:
        errors["image"] = f"no such image: {image} (pull it first)"
    try:
        shlex.split(form.command)
    except ValueError as e:
        errors["command"] = f"command: {e}"
    for f in fields(form):
        if f.name in ("image", "command"):
            continue
        try:
            _options(form.field_args(f.name) + ["busybox"])
        except ValueError as e:
            errors[f.name] = f"{f.name}: {e}"
        except TuidockError as e:
            errors[f.name] = str(e)
    if errors:
        return Checked(None, errors=errors)
    try:
        opts, values, operands = _options(form.argv())
    except (TuidockError, ValueError) as e:
        return Checked(None, errors={"form": str(e)})
    return Checked(opts, values, operands)
