"""Area plots in block characters, on fixed axes, with an optional limit line.

Each column is one sample, drawn as a bar of eighth blocks (``▁`` to ``█``),
so a plot H cells high has 8H levels; block elements are in every monospace
font, so the plot looks the same in any terminal and in the SVG screenshots.
The y axis is fixed (a limit, a quota, or a "nice" ceiling that only grows),
so a plot never rescales under the reader's eyes. A limit is drawn as a
dashed line across the empty part of its row.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from rich.text import Text
from textual.widget import Widget

EIGHTHS = " ▁▂▃▄▅▆▇█"
LIMIT = "╌"


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten that is at least ``value`` (and positive)."""
    if value <= 0:
        return 1.0
    exp = math.floor(math.log10(value))
    for m in (1, 2, 5, 10):
        top = m * 10 ** exp
        if top >= value * (1 - 1e-9):
            return float(top)
    return float(10 ** (exp + 1))


def render(values: Sequence[float], width: int, height: int, top: float,
           limit: float | None = None) -> list[str]:
    """The plot as ``height`` strings of ``width`` cells; the newest value in the right-most column."""
    levels = height * 8
    pts = list(values)[-width:]
    heights = [0] * (width - len(pts)) + [
        max(0, min(levels, round(v / top * levels))) if top > 0 else 0 for v in pts]
    limit_row = None
    if limit is not None and 0 < limit <= top:
        limit_row = height - 1 - min(height - 1, int(limit / top * levels) // 8)
    rows = []
    for r in range(height):
        base = (height - 1 - r) * 8  # the level at the bottom of this row
        line = []
        for h in heights:
            fill = max(0, min(8, h - base))
            line.append(LIMIT if fill == 0 and r == limit_row else EIGHTHS[fill])
        rows.append("".join(line))
    return rows


class Plot(Widget):
    """A titled plot; ``update`` gives it values, the axis top, an optional limit and the current figure."""

    DEFAULT_CSS = """
    Plot { height: 8; border: round $primary 40%; padding: 0 1; }
    """

    def __init__(self, title: str, fmt: Callable[[float], str], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.title = title
        self.fmt = fmt
        self.values: list[float] = []
        self.top = 1.0
        self.limit: float | None = None
        self.current = ""
        self.border_title = title

    def update(self, values: Sequence[float], top: float, limit: float | None = None, current: str = "") -> None:
        self.values, self.top, self.limit, self.current = list(values), top, limit, current
        self.border_subtitle = current
        self.refresh()

    def render(self) -> Text:
        inner = self.content_size  # inside the border and padding
        width = max(1, inner.width - 8)
        height = max(1, inner.height)
        lines = render(self.values, width, height, self.top, self.limit)
        text = Text(no_wrap=True, overflow="crop")
        for i, line in enumerate(lines):
            label = self.fmt(self.top) if i == 0 else (self.fmt(0) if i == height - 1 else "")
            text.append(f"{label:>7} ", style="dim")
            for run in _runs(line):
                text.append(run, style="yellow" if run[0] == LIMIT else "green")
            if i < height - 1:
                text.append("\n")
        return text


def _runs(line: str) -> list[str]:
    """The line cut where it changes between bars and the limit line (for colouring)."""
    out: list[str] = []
    for ch in line:
        if out and (ch == LIMIT) == (out[-1][0] == LIMIT):
            out[-1] += ch
        else:
            out.append(ch)
    return out
