"""Logs: the container's log, followed live, with search, timestamps, wrapping and a jump to the end."""

from __future__ import annotations

import re
import time
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Input, RichLog, Static

from runtime.engine.model import ContainerInfo
from runtime.logs import LogLine, LogReader, read_lines

from ..backend import Snapshot
from .base import DetailTab

KEEP = 10_000  # lines kept in the view (the log file keeps everything)


def render_line(line: LogLine, timestamps: bool, needle: str) -> Text:
    """One log line: stderr in red, an optional timestamp, search hits highlighted."""
    text = Text()
    if timestamps:
        ns = line.time_ns
        text.append(time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns / 1e9)) + f".{ns % 10**9:09d}Z ",
                    style="dim")
    body = line.data.decode(errors="replace").rstrip("\n")
    text.append(body, style="red" if line.stream == "stderr" else "")
    if needle:
        text.highlight_regex(re.compile(re.escape(needle), re.IGNORECASE), style="black on yellow")
    return text


class SearchBox(Input):
    """The search field; escape returns to the log (instead of leaving the container view)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "leave", "Back to the log", show=False)]

    def action_leave(self) -> None:
        self.screen.query_one("#log", RichLog).focus()


class LogsTab(DetailTab):
    """Follows the log file four times a second while shown."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("t", "timestamps", "Timestamps"),
        Binding("w", "wrap", "Wrap"),
        Binding("G,end", "end", "End"),
        Binding("slash", "search", "Search", key_display="/"),
        Binding("n", "next_hit", "Next hit", show=False),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lines: list[LogLine] = []
        self.reader: LogReader | None = None
        self.timestamps = False
        self.wrap = True
        self.needle = ""
        self._hit = -1

    def compose(self) -> ComposeResult:
        yield RichLog(id="log", wrap=True, highlight=False, markup=False, max_lines=KEEP)
        with Horizontal(id="logbar"):
            yield Static(" search / ", id="searchlabel")
            yield SearchBox(placeholder="text to highlight; enter jumps to the next hit", id="search")
            yield Static("", id="logstatus")

    def on_mount(self) -> None:
        self.set_interval(0.25, self._follow)

    def show(self, info: ContainerInfo, snap: Snapshot) -> None:
        if self.reader is None:
            path = self.backend.engine.log_path(info.id)
            self.load(lambda: read_lines(path, tail=KEEP), self._loaded, group="logs-initial")

    def _loaded(self, result: tuple[list[LogLine], LogReader]) -> None:
        self.lines, self.reader = result
        self._redraw()

    def _follow(self) -> None:
        if self.reader is None or not self.display or not self.is_on_screen:
            return
        new = self.reader.read_new()  # a small read of what was appended since the last one
        if not new:
            return
        self.lines = (self.lines + new)[-KEEP:]
        log = self.query_one("#log", RichLog)
        for line in new:
            log.write(render_line(line, self.timestamps, self.needle))
        self._status()

    def _redraw(self) -> None:
        log = self.query_one("#log", RichLog)
        log.clear()
        log.wrap = self.wrap
        for line in self.lines:
            log.write(render_line(line, self.timestamps, self.needle), scroll_end=False)
        log.scroll_end(animate=False)
        self._status()

    def _status(self) -> None:
        hits = sum(1 for ln in self.lines if self.needle and self.needle.lower() in ln.data.decode(
            errors="replace").lower())
        flags = f"{'timestamps ' if self.timestamps else ''}{'wrap' if self.wrap else 'nowrap'}"
        self.query_one("#logstatus", Static).update(
            f" {len(self.lines)} lines{f', {hits} hits' if self.needle else ''} · {flags} ")

    def action_timestamps(self) -> None:
        self.timestamps = not self.timestamps
        self._redraw()

    def action_wrap(self) -> None:
        self.wrap = not self.wrap
        self._redraw()

    def action_end(self) -> None:
        self.query_one("#log", RichLog).scroll_end(animate=False)

    def action_search(self) -> None:
        self.query_one("#search", Input).focus()

    @on(Input.Changed, "#search")
    def _search_changed(self, event: Input.Changed) -> None:
        self.needle = event.value
        self._hit = -1
        self._redraw()

    @on(Input.Submitted, "#search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        self.action_next_hit()

    def action_next_hit(self) -> None:
        """Scroll to the next line with the search text (wrapping around); with wrap on, approximately."""
        if not self.needle:
            return
        hits = [i for i, ln in enumerate(self.lines)
                if self.needle.lower() in ln.data.decode(errors="replace").lower()]
        if not hits:
            self.notify(f"no line contains {self.needle!r}", timeout=2)
            return
        self._hit = next((h for h in hits if h > self._hit), hits[0])
        log = self.query_one("#log", RichLog)
        log.scroll_to(y=self._hit, animate=False)
