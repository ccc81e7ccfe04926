"""The engine's error hierarchy: messages that name the object, and docker's exit codes.

Messages are lowercase with no trailing period and start with the object they
are about (``container 3f2a9c1b7d0e: cannot exec while exited``). The CLI
prints them on one line and exits with :attr:`TuidockError.exit_code`; the TUI
shows them as notifications. Nothing here formats tracebacks.
"""

from __future__ import annotations


class TuidockError(Exception):
    """Base class: an error meant for the person at the keyboard."""

    exit_code = 125  # docker's "error in the runtime or the command"


class NotFound(TuidockError):
    """No such container, image, volume, network or file."""


class Conflict(TuidockError):
    """The object exists or is in the wrong state: name in use, container running, image in use."""


class InvalidArgument(TuidockError):
    """A malformed flag, name, reference or file."""


class RuntimeFailure(TuidockError):
    """The kernel refused: a mount, a cgroup write, a namespace operation."""


class CannotExecute(TuidockError):
    """The container command exists but cannot be executed (docker's 126)."""

    exit_code = 126


class CommandNotFound(TuidockError):
    """The container command does not exist (docker's 127)."""

    exit_code = 127


def reason(e: OSError) -> str:
    """``no such file or directory``: an OSError's text as our messages spell it."""
    return (e.strerror or str(e)).lower()


_BY_CODE: dict[int, type[TuidockError]] = {126: CannotExecute, 127: CommandNotFound}


def from_exit_code(code: int, message: str) -> TuidockError:
    """Rebuild an error that crossed a process boundary as (code, message)."""
    return _BY_CODE.get(code, RuntimeFailure)(message)
