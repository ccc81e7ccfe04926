"""The containers screen: every container with live CPU, memory and pids, and single keys to act on them."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.coordinate import Coordinate
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Static

from runtime.engine.model import ContainerInfo, ContainerStatus

from .. import view
from ..backend import Snapshot
from ..livetable import LiveTable, same
from .listing import cursor_key

if TYPE_CHECKING:
    from ..app import TuidockApp

COLUMN_KEYS = ("name", "image", "status", "cpu", "trend", "memory", "pids", "ip", "ports")


class ContainersScreen(Screen[None]):
    """The first screen: a table of all containers."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "details", "Details", id="details"),
        Binding("n", "new", "New", id="new"),
        Binding("s", "start", "Start", id="start"),
        Binding("x", "stop", "Stop", id="stop"),
        Binding("r", "restart", "Restart", id="restart"),
        Binding("p", "pause", "Pause", id="pause"),
        Binding("d", "delete", "Delete", id="delete"),
        Binding("e", "exec", "Exec", id="exec"),
        Binding("a", "attach", "Attach", id="attach"),
        Binding("l", "logs", "Logs", id="logs"),
        Binding("slash", "filter", "Filter", key_display="/", id="filter"),
        # A priority binding: the focus goes back to the table as the app takes enter, before the next key is
        # handed on (the box's own enter would move it from a Submitted message, maybe after that key went
        # out). check_action passes enter on to the table when the box does not have the focus.
        Binding("enter", "filter_done", "Done", show=False, priority=True),
        Binding("o", "sort", "Sort", id="sort"),
        Binding("O", "sort_reverse", "Reverse", show=False),
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("escape", "clear_filter", "Clear filter", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, view.Row] = {}
        self.infos: dict[str, ContainerInfo] = {}
        self.sort_column = 2  # status: running first, newest first, as `ps` lists them
        self.sort_reverse = False
        self.needle = ""

    @property
    def tapp(self) -> TuidockApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Header()
        table = LiveTable(id="containers", cursor_type="row", zebra_stripes=True)
        for label, key in zip(view.COLUMNS, COLUMN_KEYS, strict=True):
            table.add_column(label, key=key)
        yield table
        with Horizontal(id="filterbar"):
            yield Static("filter /", id="filterlabel")
            yield Input(placeholder="name, image, status or command", id="filter")
        yield Static("", id="summary")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#filterbar").display = False
        self.sub_title = self.tapp.engine.root
        if self.tapp.snapshot is not None:
            self.show_snapshot(self.tapp.snapshot)

    # ---- showing ----------------------------------------------------------------

    def show_snapshot(self, snap: Snapshot) -> None:
        """Update the table in place: changed cells, new rows, gone rows; the cursor stays on its container."""
        try:
            table = self.query_one("#containers", LiveTable)
        except NoMatches:
            return  # not composed yet (on_mount shows the latest snapshot), or being taken down
        now = snap.taken
        infos = {i.id: i for i in snap.containers if view.matches(i, self.needle)}
        rows = {cid: view.container_row(info, snap.stats.get(cid), self.tapp.backend.history.cpu(cid, 10),
                                        snap.endpoints.get(cid), now)
                for cid, info in infos.items()}
        for cid in [c for c in self.rows if c not in rows]:
            table.remove_row(cid)
            del self.rows[cid]
        changed: list[tuple[str, str, str | Text]] = []
        for cid, row in rows.items():
            old = self.rows.get(cid)
            if old is None:
                table.add_row(*row.cells, key=cid)
            else:
                changed += [(cid, key, new) for key, new, was in zip(COLUMN_KEYS, row.cells, old.cells, strict=True)
                            if not same(new, was)]
            self.rows[cid] = row
        if changed:
            table.set_cells(changed)  # one width check per column, one refresh; unchanged cells are not redrawn
        self.infos = infos
        self._sort()
        running = sum(1 for i in snap.containers if i.status is ContainerStatus.RUNNING)
        shown = f"{len(infos)} of {len(snap.containers)}" if self.needle else str(len(snap.containers))
        order = f"sorted by {view.COLUMNS[self.sort_column].lower()}{' (reversed)' if self.sort_reverse else ''}"
        # One line of fixed height: no layout pass for it (a layout every second costs more than the text).
        self.query_one("#summary", Static).update(
            f" {shown} containers, {running} running · {order} · {time.strftime('%H:%M:%S', time.localtime(now))}",
            layout=False)

    def _sort(self) -> None:
        table = self.query_one("#containers", DataTable)
        if not self.rows:
            return
        cursor = self.selected_id()
        order = sorted(self.rows, key=lambda c: (self.rows[c].sort_keys[self.sort_column], c),
                       reverse=self.sort_reverse)
        current = [table.coordinate_to_cell_key(Coordinate(i, 0)).row_key.value for i in range(table.row_count)]
        if order != current:
            # Names are unique, so the name cell identifies the row to the table's sort.
            rank = {self.rows[cid].cells[0]: i for i, cid in enumerate(order)}
            table.sort("name", key=lambda name: rank.get(name, len(rank)))
        if cursor in self.rows:
            table.move_cursor(row=table.get_row_index(cursor), animate=False)

    def selected_id(self) -> str | None:
        return cursor_key(self.query_one("#containers", DataTable))

    def selected(self) -> ContainerInfo | None:
        cid = self.selected_id()
        if cid is None:
            self.notify("no container selected", severity="warning")
            return None
        return self.infos.get(cid)

    # ---- keys -------------------------------------------------------------------

    def action_cursor_down(self) -> None:
        self.query_one("#containers", DataTable).action_cursor_down()

    def action_cursor_up(self) -> None:
        self.query_one("#containers", DataTable).action_cursor_up()

    @on(DataTable.RowSelected, "#containers")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_details()

    @on(DataTable.HeaderSelected, "#containers")
    def _header_selected(self, event: DataTable.HeaderSelected) -> None:
        if event.column_index == self.sort_column:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_column, self.sort_reverse = event.column_index, False
        self._resort()

    def action_sort(self) -> None:
        self.sort_column = (self.sort_column + 1) % len(COLUMN_KEYS)
        self._resort()

    def action_sort_reverse(self) -> None:
        self.sort_reverse = not self.sort_reverse
        self._resort()

    def _resort(self) -> None:
        if self.tapp.snapshot is not None:
            self.show_snapshot(self.tapp.snapshot)
        self.notify(f"sorted by {view.COLUMNS[self.sort_column].lower()}"
                    f"{' (reversed)' if self.sort_reverse else ''}", timeout=1.5)

    def action_details(self, tab: str = "overview") -> None:
        info = self.selected()
        if info is not None:
            from .container import ContainerScreen

            self.app.push_screen(ContainerScreen(info.id, tab))

    def action_logs(self) -> None:
        self.action_details("logs")

    def action_new(self) -> None:
        from .rundialog import RunDialog

        self.app.push_screen(RunDialog())

    def _act(self, verb: str, fn_name: str, *args: Any, ok: str = "") -> None:
        info = self.selected()
        if info is None:
            return
        engine = self.tapp.engine
        fn = getattr(engine, fn_name)
        self.tapp.engine_call(f"{verb} {info.name}", lambda: fn(info.id, *args),
                              lambda _: self.notify(f"{info.name}: {ok or verb}", timeout=2))

    def action_start(self) -> None:
        self._act("start", "start", ok="started")

    def action_stop(self) -> None:
        self._act("stop", "stop", ok="stopped")

    def action_restart(self) -> None:
        self._act("restart", "restart", ok="restarted")

    def action_pause(self) -> None:
        info = self.selected()
        if info is None:
            return
        if info.status is ContainerStatus.PAUSED:
            self._act("unpause", "unpause", ok="unpaused")
        else:
            self._act("pause", "pause", ok="paused")

    def action_delete(self) -> None:
        info = self.selected()
        if info is None:
            return
        from .dialogs import ConfirmDialog

        running = info.status.is_up()
        question = (f"Delete container {info.name} ({info.id[:12]})?"
                    + ("\nIt is running: it will be killed first." if running else ""))

        def answered(yes: bool | None) -> None:
            if yes:
                self.tapp.engine_call(f"delete {info.name}", lambda: self.tapp.engine.remove(info.id, force=running),
                                      lambda _: self.notify(f"{info.name}: deleted", timeout=2))

        self.app.push_screen(ConfirmDialog(question, "Delete"), answered)

    def action_exec(self) -> None:
        info = self.selected()
        if info is None:
            return
        if info.status is not ContainerStatus.RUNNING:
            self.notify(f"{info.name} is {info.status.value}: exec needs a running container", severity="warning")
            return
        self.tapp.handoff("exec", info.id, info.name, ("sh",))

    def action_attach(self) -> None:
        info = self.selected()
        if info is None:
            return
        if not info.status.is_up():
            self.notify(f"{info.name} is {info.status.value}: attach needs a running container", severity="warning")
            return
        self.tapp.handoff("attach", info.id, info.name)

    # ---- the filter -------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "filter_done":
            return self.focused is not None and self.focused.id == "filter"  # elsewhere enter opens the container
        return True

    def action_filter(self) -> None:
        self.query_one("#filterbar").display = True
        # set_focus, not Input.focus(): focus() moves it on a later turn of the loop, and the app may have
        # handed the next key on by then.
        self.set_focus(self.query_one("#filter", Input))

    def action_filter_done(self) -> None:
        """enter in the filter: back to the table with the filter kept (the bar goes if it is empty)."""
        box = self.query_one("#filter", Input)
        self.set_focus(self.query_one("#containers", DataTable))

        def hide_if_empty() -> None:
            if not box.value.strip():
                self.query_one("#filterbar").display = False

        # Characters typed before enter may still be queued for the box: look at its value after them.
        box.call_later(hide_if_empty)

    def action_clear_filter(self) -> None:
        # escape came through the box, after every character typed before it: the box holds them all.
        self.query_one("#filter", Input).value = ""
        self.query_one("#filterbar").display = False
        self.set_focus(self.query_one("#containers", DataTable))

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.needle = event.value.strip()
        if self.tapp.snapshot is not None:
            self.show_snapshot(self.tapp.snapshot)
