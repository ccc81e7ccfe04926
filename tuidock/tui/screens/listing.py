"""The base of the images, volumes and networks screens: a table updated in place, reloaded in a worker."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.coordinate import Coordinate
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static
from textual.widgets.data_table import CellDoesNotExist

from runtime.errors import TuidockError

if TYPE_CHECKING:
    from ..app import TuidockApp

T = TypeVar("T")

SCREENS = (("containers", "1"), ("images", "2"), ("volumes", "3"), ("networks", "4"))
RELOAD_SECONDS = 3.0  # the lists change only through actions (reloaded at once) or other terminals



def cursor_key(table: DataTable[Any]) -> str | None:
    """The key of the row under the table's cursor (None for an empty table)."""
    if not table.row_count:
        return None
    try:
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
    except CellDoesNotExist:
        return None
    return str(key.value) if key.value is not None else None

class ScreenCommands(Provider):
    """The command palette's way to the four screens (``Show images`` and so on)."""

    def _commands(self) -> Iterator[tuple[str, str, Callable[[], Any]]]:
        app = self.app
        for name, key in SCREENS:
            yield f"Show {name}", f"switch to the {name} screen (key: {key})", partial(
                app.run_action, f"switch_screen('{name}')")

    async def discover(self) -> Hits:
        for title, help_text, run in self._commands():
            yield DiscoveryHit(title, run, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, run in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), run, help=help_text)


class ListingScreen(Screen[None], Generic[T]):
    """A table of engine objects (``T``): ``load()`` runs in a worker, ``rows()`` turns the result into cells.

    The table is updated in place so the cursor stays on its row; the list is
    read again after every action and every :data:`RELOAD_SECONDS`.
    """

    COMMANDS = App.COMMANDS | {ScreenCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f5", "reload", "Reload", id="reload"),
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
    ]
    COLUMNS: ClassVar[tuple[tuple[str, str], ...]] = ()  # (label, key)
    TABLE_ID: ClassVar[str] = "listing"
    NOUN: ClassVar[str] = "item"

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[str, T] = {}
        self.cells: dict[str, tuple[Any, ...]] = {}
        self._loading = False
        self._again = False
        self.loaded = 0  # how many loads have completed (tests wait on it)

    @property
    def tapp(self) -> TuidockApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Header()
        table: DataTable[Any] = DataTable(id=self.TABLE_ID, cursor_type="row", zebra_stripes=True,
                                          classes="listing")
        for label, key in self.COLUMNS:
            table.add_column(label, key=key)
        yield table
        yield Static("", id=f"{self.TABLE_ID}-summary", classes="listing-summary")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = self.tapp.engine.root
        self.reload()

    def on_screen_resume(self) -> None:
        if self.loaded:
            self.reload()  # back in front: what happened meanwhile shows at once

    # ---- loading ----------------------------------------------------------------

    def load(self) -> Sequence[tuple[str, T, tuple[Any, ...]]]:
        """(row key, object, cells) for every row; runs in a worker thread."""
        raise NotImplementedError

    def summary(self) -> str:
        return f" {len(self.items)} {self.NOUN}{'' if len(self.items) == 1 else 's'}"

    def reload(self) -> None:
        """Read the list again now (a load already under way is followed by another)."""
        if self._loading:
            self._again = True
            return
        self._loading = True
        self._again = False

        def work() -> None:
            try:
                rows = self.load()
            except TuidockError as e:
                self.app.call_from_thread(self._failed, str(e))
            except Exception as e:  # an engine bug must not take the UI down
                self.app.call_from_thread(self._failed, f"{e.__class__.__name__}: {e}")
            else:
                self.app.call_from_thread(self._show, rows)

        self.run_worker(work, thread=True, group=f"load-{self.TABLE_ID}", name=f"list {self.NOUN}s")

    def _failed(self, message: str) -> None:
        self._loading = False
        self.notify(message, title=f"list {self.NOUN}s", severity="error")
        self._rearm()

    def _rearm(self) -> None:
        if self.is_attached:
            self.set_timer(RELOAD_SECONDS if not self._again else 0.01, self._tick)

    def _tick(self) -> None:
        # Read only while in front (a dialog over it counts): a screen under the layers view waits.
        if self.is_current or self.app.screen.is_modal and self in self.app.screen_stack[-2:]:
            self.reload()
        else:
            self._rearm()

    def _show(self, rows: Sequence[tuple[str, T, tuple[Any, ...]]]) -> None:
        self._loading = False
        try:
            table = self.query_one(f"#{self.TABLE_ID}", DataTable)
        except NoMatches:
            return  # being taken down
        new = {key: cells for key, _, cells in rows}
        for key in [k for k in self.cells if k not in new]:
            table.remove_row(key)
            del self.cells[key]
        for key, cells in new.items():
            old = self.cells.get(key)
            if old is None:
                table.add_row(*cells, key=key)
            else:
                for (_, column), now, was in zip(self.COLUMNS, cells, old, strict=True):
                    if now != was:
                        table.update_cell(key, column, now, update_width=True)
            self.cells[key] = cells
        self.items = {key: item for key, item, _ in rows}
        self.query_one(f"#{self.TABLE_ID}-summary", Static).update(self.summary())
        self.loaded += 1
        self._rearm()

    # ---- the selection ------------------------------------------------------------

    def selected_key(self) -> str | None:
        return cursor_key(self.query_one(f"#{self.TABLE_ID}", DataTable))

    def selected(self) -> T | None:
        key = self.selected_key()
        item = self.items.get(key) if key is not None else None
        if item is None:
            self.notify(f"no {self.NOUN} selected", severity="warning")
        return item

    def select(self, key: str) -> bool:
        """Put the cursor on the row ``key`` (False when there is none)."""
        table = self.query_one(f"#{self.TABLE_ID}", DataTable)
        if key not in self.cells:
            return False
        table.move_cursor(row=table.get_row_index(key), animate=False)
        return True

    def action_cursor_down(self) -> None:
        self.query_one(f"#{self.TABLE_ID}", DataTable).action_cursor_down()

    def action_cursor_up(self) -> None:
        self.query_one(f"#{self.TABLE_ID}", DataTable).action_cursor_up()

    def action_reload(self) -> None:
        self.reload()

    @on(DataTable.RowSelected)
    def _row_chosen(self, event: DataTable.RowSelected) -> None:
        self.chosen()

    def chosen(self) -> None:
        """Enter (or a click) on a row."""

    # ---- acting ---------------------------------------------------------------------

    def act(self, what: str, fn: Callable[[], Any], ok: Callable[[Any], str] | str) -> None:
        """Run ``fn`` in a worker; on success notify ``ok`` (or ``ok(result)``) and read the list again."""

        def done(result: Any) -> None:
            text = ok(result) if callable(ok) else ok
            if text:
                self.notify(text, title=what, timeout=4)
            self.reload()

        self.tapp.engine_call(what, fn, done)


def cell_at(table: DataTable[Any], row: int, column: int) -> str:
    """The text of one cell (tests and the screens' own lookups)."""
    return str(table.get_cell_at(Coordinate(row, column)))
