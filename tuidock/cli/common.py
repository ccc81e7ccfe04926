"""What most verbs share: the engine (set up on first use), errors over many targets."""

from __future__ import annotations

from runtime.errors import TuidockError

from . import eprint

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from runtime.engine.engine import Engine


def engine() -> Engine:
    """The engine for this command's root; the first command on a new root builds busybox."""
    from runtime.engine.engine import Engine

    eng = Engine()
    notice = eng.setup()
    if notice:
        eprint(notice)
    return eng


def each(targets: Iterable[str], action: Callable[[str], object], echo: bool = True) -> int:
    """Apply ``action`` to every target as docker does: report each failure, go on, fail at the end."""
    failed = 0
    for t in targets:
        try:
            action(t)
        except TuidockError as e:
            eprint(str(e))
            failed = e.exit_code
            continue
        if echo:
            print(t, flush=True)
    return failed
