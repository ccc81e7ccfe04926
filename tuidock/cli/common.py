"""What most verbs share: the engine (set up on first use), errors over many targets, Ctrl-C as a cancel."""

from __future__ import annotations

from runtime.errors import TuidockError

from . import eprint

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import TypeVar

    from runtime.cancel import Cancel
    from runtime.engine.engine import Engine

    T = TypeVar("T")


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


def cancellable(job: Callable[[Cancel], T]) -> T:
    """``job(cancel)`` on a worker thread; Ctrl-C sets ``cancel`` and waits for the job to unwind.

    Python turns SIGINT into KeyboardInterrupt in the main thread only, wherever
    it happens to be: inside a job it could cut a clean-up short (a container
    half removed). Here the main thread only waits; the job sees the cancel at
    its next check or watched socket, cleans up in order and raises
    ``Cancelled``, which the CLI reports with exit code 130.
    """
    import threading

    from runtime.cancel import Cancel

    cancel = Cancel()
    done = threading.Event()
    result: list[T] = []
    error: list[BaseException] = []

    def work() -> None:
        try:
            result.append(job(cancel))
        except BaseException as e:  # re-raised on the main thread
            error.append(e)
        finally:
            done.set()

    threading.Thread(target=work, name="job", daemon=True).start()
    # Not Thread.join(): on Python 3.11 a KeyboardInterrupt inside it marks the thread as
    # ended while it still runs (the bpo-45274 handler in _wait_for_tstate_lock sees the
    # running thread's own lock held, and releases it); Event.wait() is safe to interrupt.
    while not done.is_set():
        try:
            done.wait()
        except KeyboardInterrupt:
            cancel.set()
    if error:
        raise error[0]
    return result[0]
