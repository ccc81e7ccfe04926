"""The user's settings: ``~/.config/tuidock/config.toml`` (``$XDG_CONFIG_HOME`` respected).

    detach_keys = "ctrl-p,ctrl-q"     # run -it / attach / exec -it, and the TUI's e and a keys
    refresh_interval = 1.0            # seconds between the TUI's stats samples
    theme = "textual-dark"            # any of Textual's themes
    [keys]                            # the TUI's key bindings, action = key
    start = "s"

A missing file means the defaults; a malformed one is a one-line error that
names the file and the line.
"""

from __future__ import annotations

import os

from runtime.errors import InvalidArgument

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

DEFAULTS: dict[str, Any] = {
    "detach_keys": "ctrl-p,ctrl-q",
    "refresh_interval": 1.0,
    "theme": "textual-dark",
    "keys": {},
}


def path() -> str:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "tuidock", "config.toml")


def load(file: str | None = None) -> dict[str, Any]:
    """The settings, defaults filled in; values are checked for type."""
    file = file or path()
    try:
        with open(file, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        return dict(DEFAULTS)
    import tomllib

    try:
        data = tomllib.loads(raw.decode())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise InvalidArgument(f"config {file}: {e}") from None
    out = dict(DEFAULTS)
    for key, value in data.items():
        if key in DEFAULTS and not isinstance(value, type(DEFAULTS[key])) and not (
                isinstance(DEFAULTS[key], float) and isinstance(value, int)):
            raise InvalidArgument(f"config {file}: {key} must be a {type(DEFAULTS[key]).__name__}")
        out[key] = value
    return out


def detach_keys(flag: str | None) -> str:
    """The detach sequence: the flag if given, else the config file's, else ctrl-p,ctrl-q."""
    if flag is not None:
        return flag
    return str(load()["detach_keys"])
