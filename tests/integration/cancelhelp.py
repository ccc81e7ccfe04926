"""Cancelling a long engine job from another thread, as the TUI does, and timing how long it takes to stop."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from runtime.cancel import Cancel


def cancel_when_ready(job: Callable[[], object], cancel: Cancel, ready: Callable[[], object],
                      stop_within: float = 15.0) -> tuple[object, float]:
    """Run ``job()`` on a thread; when ``ready()`` returns (it waits for the phase under test, and may
    assert), ``cancel.set()``. Returns what the job returned or raised, and the seconds from ``set()`` to
    its end (``stop_within`` at the most: a job still running then fails the caller's time check)."""
    outcome: list[object] = []

    def worker() -> None:
        try:
            outcome.append(job())
        except BaseException as e:  # handed to the test thread
            outcome.append(e)

    t = threading.Thread(target=worker)
    t.start()
    try:
        ready()
        start = time.monotonic()
        cancel.set()
        t.join(stop_within)
        took = time.monotonic() - start
    finally:
        cancel.set()  # whatever happened above, the job ends before the test cleans up
        t.join(60)
    assert not t.is_alive() and len(outcome) == 1, outcome
    return outcome[0], took
