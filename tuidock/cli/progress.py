"""Pull and push progress as docker draws it: one line per layer, redrawn in place on a terminal.

On a terminal each layer keeps its line (``3c4d76e9fbe6: Downloading [=====>    ]  1.2MB/3.4MB``)
and is redrawn with cursor-up / erase-line / cursor-down, as docker's
``jsonmessage`` does; byte counts are redrawn at most ten times a second per
layer. Anywhere else (a pipe, a log file, CI) every phase change is one plain
line and byte counts are left out, also as docker does.
"""

from __future__ import annotations

import os
import time

from .format import human_size

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TextIO

    from runtime.images.distribution import ProgressEvent

REDRAW_INTERVAL = 0.1


def bar(current: int, total: int, columns: int = 80) -> str:
    """``[=========>                ]  1.2MB/3.4MB`` (docker's 50-cell bar, narrower on a narrow terminal)."""
    if total <= 0:
        return f"{human_size(current):>8}" if current > 0 else ""
    cells = max(10, min(50, columns - 60))
    filled = min(cells, current * cells // total)
    numbers = f"{human_size(current):>8}/{human_size(total)}" if current <= total else f"{human_size(current):>8}"
    return f"[{'=' * filled}>{' ' * (cells - filled)}] {numbers}"


class Renderer:
    """A progress callback for the engine's pull and push that writes docker's output."""

    def __init__(self, out: TextIO, tty: bool | None = None) -> None:
        self.out = out
        self.tty = out.isatty() if tty is None else tty
        self.rows: dict[str, int] = {}  # layer digest -> its line, counted from the first line written
        self.lines = 0
        self.drawn: dict[str, float] = {}
        self.phase: dict[str, object] = {}
        try:
            self.columns = os.get_terminal_size(out.fileno()).columns if self.tty else 80
        except (OSError, ValueError, AttributeError):
            self.columns = 80

    def __call__(self, event: ProgressEvent) -> None:
        from runtime.images.distribution import LayerEvent

        if not isinstance(event, LayerEvent):
            self._newline(event.text)
            return
        if not self.tty:
            if not event.phase.has_bar and self.phase.get(event.digest) is not event.phase:
                self.phase[event.digest] = event.phase
                self._newline(f"{event.short_id}: {event.text}")
            return
        now = time.monotonic()
        if (event.phase.has_bar and event.current < event.total and self.phase.get(event.digest) is event.phase
                and now - self.drawn.get(event.digest, 0.0) < REDRAW_INTERVAL):
            return
        self.phase[event.digest] = event.phase
        self.drawn[event.digest] = now
        text = f"{event.short_id}: {event.text}"
        if event.phase.has_bar:
            text += " " + bar(event.current, event.total, self.columns)
        text = text[: max(20, self.columns - 1)]
        row = self.rows.get(event.digest)
        if row is None:
            self.rows[event.digest] = self.lines
            self._newline(text)
            return
        up = self.lines - row
        # Up to the layer's line, erase it, write, and back down to where the next line goes.
        self.out.write(f"\x1b[{up}A\x1b[2K\r{text}\x1b[{up}B\r")
        self.out.flush()

    def _newline(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()
        self.lines += 1
