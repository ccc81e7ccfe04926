"""What every tab of the container view is: a widget fed each new snapshot while it is on screen."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.widget import Widget

from runtime.engine.model import ContainerInfo
from runtime.errors import TuidockError

from ..backend import Backend, Snapshot


class DetailTab(Widget):
    """A tab of one container's view.

    ``show`` runs on the event loop for every snapshot while the tab is the
    active one (and once when it becomes active), so it must be quick: slow
    reads (files, /proc walks, layer trees) go through :meth:`load`, which
    runs them in a thread and hands the result back on the event loop.
    """

    DEFAULT_CSS = """
    DetailTab { height: 1fr; }
    """

    def __init__(self, backend: Backend, cid: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.backend = backend
        self.cid = cid

    def show(self, info: ContainerInfo, snap: Snapshot) -> None:
        """Bring the tab up to date with ``info`` (the container in ``snap``)."""

    def focus_content(self) -> None:
        """Give the keyboard to the tab's first focusable widget, so its own keys work at once."""
        for widget in self.query("*"):
            if widget.focusable:
                widget.focus()
                return

    def load(self, read: Callable[[], Any], done: Callable[[Any], None], group: str = "") -> None:
        """Run ``read`` in a worker thread, then ``done(result)`` on the event loop; engine errors notify."""

        def work() -> None:
            try:
                result = read()
            except (TuidockError, OSError) as e:
                self.app.call_from_thread(self.app.notify, str(e), title="tuidock", severity="error")
                return
            self.app.call_from_thread(done, result)

        self.run_worker(work, thread=True, exclusive=True, group=group or f"load-{id(self)}")
