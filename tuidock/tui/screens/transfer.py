"""Long image jobs in a modal: a pull with a bar per layer, a build with its log streaming; escape cancels either."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Log, ProgressBar, Static

from runtime.cancel import Cancel, Cancelled
from runtime.engine.build import BuildEvent, BuildOptions, EventKind
from runtime.errors import TuidockError
from runtime.images.distribution import LayerEvent, ProgressEvent, StatusEvent

if TYPE_CHECKING:
    from ..app import TuidockApp

DRAW_SECONDS = 0.1  # the worker's events are collected and drawn at this pace: a burst of Downloading is one redraw


@dataclass
class Progress:
    """What a job's worker thread has reported and the screen has not drawn yet (guarded by ``lock``)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    layers: dict[str, LayerEvent] = field(default_factory=dict)  # the latest event of each layer, in order seen
    lines: list[str] = field(default_factory=list)
    outcome: str | None = None  # set when the job ended: its last line
    failed: bool = False

    def take(self) -> tuple[list[LayerEvent], list[str], str | None, bool]:
        with self.lock:
            lines, self.lines = self.lines, []
            return list(self.layers.values()), lines, self.outcome, self.failed


class JobScreen(ModalScreen[bool]):
    """The frame both jobs share: a title, a status line, a log; escape cancels the job (its worker passes
    ``self.cancel`` to the engine), then closes the screen, dismissed with True when the job succeeded."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel / close")]

    def __init__(self, title: str) -> None:
        super().__init__()
        self.title_text = title
        self.progress = Progress()
        self.cancel = Cancel()
        self.finished = False
        self.succeeded = False

    @property
    def tapp(self) -> TuidockApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog transfer"):
            yield Static(f"[b]{self.title_text}[/b]")
            yield Static("starting…  [dim](escape cancels)[/dim]", id="transfer-status")
            yield VerticalScroll(id="transfer-bars")
            yield Log(id="transfer-log", max_lines=5000)

    def on_mount(self) -> None:
        self.set_interval(DRAW_SECONDS, self._draw)
        self.run_worker(self._work, thread=True, group="job", name=self.title_text)

    def job(self) -> str:
        """Run the job on the worker thread, reporting into ``self.progress``; return the last line."""
        raise NotImplementedError

    def _work(self) -> None:
        try:
            outcome, failed = self.job(), False
        except TuidockError as e:
            outcome, failed = str(e), True
        except Exception as e:  # an engine bug must not take the UI down
            outcome, failed = f"{e.__class__.__name__}: {e}", True
        with self.progress.lock:
            self.progress.outcome, self.progress.failed = outcome, failed
        self.tapp.backend.wake()

    def _draw(self) -> None:
        layers, lines, outcome, failed = self.progress.take()
        self.draw_layers(layers)
        if lines:
            self.query_one("#transfer-log", Log).write_lines(lines)
        if outcome is not None and not self.finished:
            self.finished, self.succeeded = True, not failed
            status = self.query_one("#transfer-status", Static)
            status.update(f"[{'red' if failed else 'green'}]{outcome}[/]  [dim](escape closes)[/dim]")
            self.query_one("#transfer-log", Log).write_line(outcome)
            self.notify(outcome, title=self.title_text, severity="error" if failed else "information")

    def draw_layers(self, layers: list[LayerEvent]) -> None:
        pass

    def action_cancel(self) -> None:
        if self.finished:
            self.dismiss(self.succeeded)
        elif not self.cancel.is_set():
            self.cancel.set()  # the engine raises Cancelled promptly, even from a blocked read or a running RUN
            self.query_one("#transfer-status", Static).update("cancelling…")


class PullScreen(JobScreen):
    """``docker pull`` with a bar for each layer; escape cancels it (the store stays as it was)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"pull {name}")
        self.name_ = name
        self.bars: dict[str, tuple[Label, ProgressBar]] = {}

    def job(self) -> str:
        def progress(event: ProgressEvent) -> None:
            with self.progress.lock:
                if isinstance(event, LayerEvent):
                    self.progress.layers[event.digest] = event
                elif isinstance(event, StatusEvent):
                    self.progress.lines.append(event.text)

        try:
            return self.tapp.engine.pull(self.name_, progress=progress, cancel=self.cancel).status
        except Cancelled:
            raise Cancelled(f"pull {self.name_}: cancelled") from None

    def draw_layers(self, layers: list[LayerEvent]) -> None:
        holder = self.query_one("#transfer-bars", VerticalScroll)
        for ev in layers:
            if ev.digest not in self.bars:
                label, bar = Label(), ProgressBar(show_eta=False)
                row = Horizontal(label, bar, classes="layerbar")
                holder.mount(row)
                self.bars[ev.digest] = (label, bar)
            label, bar = self.bars[ev.digest]
            label.update(f"{ev.short_id} {ev.text}")
            if ev.phase.has_bar and ev.total:
                bar.update(total=ev.total, progress=ev.current)
            elif ev.phase.final or ev.phase.name in ("DOWNLOAD_COMPLETE", "EXTRACTING", "VERIFYING"):
                bar.update(total=1, progress=1)
        if not self.finished:
            done = sum(1 for ev in layers if ev.phase.final)
            self.query_one("#transfer-status", Static).update(
                f"{done} of {len(layers)} layers done  [dim](escape cancels)[/dim]")


class BuildScreen(JobScreen):
    """``docker build`` of a directory, its log streaming; escape cancels it (a running RUN's container goes)."""

    def __init__(self, context: str, tag: str = "", dockerfile: str = "") -> None:
        super().__init__(f"build {context}")
        self.options = BuildOptions(context=os.path.abspath(os.path.expanduser(context)),
                                    dockerfile=dockerfile or None, tags=(tag,) if tag else ())

    def job(self) -> str:
        partial = [""]  # RUN output arrives in chunks: keep an unfinished line until its end comes

        def progress(event: BuildEvent) -> None:
            with self.progress.lock:
                if event.kind is EventKind.OUTPUT:
                    text = partial[0] + event.data.decode("utf-8", "replace")
                    *done, partial[0] = text.split("\n")
                    self.progress.lines.extend(done)
                else:
                    if partial[0]:
                        self.progress.lines.append(partial[0])
                        partial[0] = ""
                    self.progress.lines.append(event.line())

        result = self.tapp.engine.build(self.options, progress=progress, cancel=self.cancel)
        with self.progress.lock:
            if partial[0]:
                self.progress.lines.append(partial[0])
        names = ", ".join(result.tags) or result.image.short_id
        return f"built {names}: {result.steps} steps, {result.cached} cached"
