"""A DataTable whose cells are rendered again only when their own content changed.

Textual's ``DataTable`` keys every render cache (cells, rows, lines) on one
update counter that each ``update_cell`` bumps, so a single changed cell
anywhere makes it render every visible cell again through Rich (padding,
styling, line splitting): with fifty containers that full repaint, once a
second, was most of the app's idle CPU. :class:`LiveTable` keeps caches of
its own, of rendered cells and of rows' lines, keyed by what the picture
depends on (row and column, position, style, width, cursor and hover) and
checked against the cell values themselves instead of the counter, so after
an update only the cells whose value changed go through Rich and only their
rows are joined again. It overrides two private methods of ``DataTable``
(``_render_cell``, ``_render_line_in_row``; textual is pinned below 9, and
tests/tui/test_livetable.py fails if a new version bypasses them).
:meth:`LiveTable.set_cells` updates a batch of cells with one width check
per column.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.cache import LRUCache
from textual.coordinate import Coordinate
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowKey

CACHE_SIZE = 20_000  # rendered cells kept: several screens' worth of a 200-row, 9-column table

Cell = str | Text
RowLines = tuple[list[list[Segment]], list[list[Segment]]]  # one line of a row: fixed cells, scrollable cells


def same(a: object, b: object) -> bool:
    """Whether two cell values draw the same (rich's ``Text ==`` ignores the base style)."""
    if isinstance(a, Text) and isinstance(b, Text):
        return a.plain == b.plain and a.style == b.style and a.spans == b.spans
    return type(a) is type(b) and a == b


def width_of(value: object) -> int:
    """Terminal cells a one-line value takes."""
    if isinstance(value, Text):
        return value.cell_len
    return cell_len(str(value))


class LiveTable(DataTable[Any]):
    """A ``DataTable`` for values that change in place every second (the containers screen).

    Cell values are replaced, never changed in place: a ``Text`` is recognised by identity.
    """

    def __init__(self, **kwargs: Any) -> None:
        # key -> (the value drawn, its lines); the value is compared on lookup, by identity for
        # renderables (an id alone could be reused by a new object) and by equality for strings.
        # Made first: DataTable's __init__ sets reactives whose watchers clear the caches.
        self._drawn: LRUCache[tuple[Any, ...], tuple[object, list[list[Segment]]]] = LRUCache(CACHE_SIZE)
        # The same for a whole row's line: key -> (the row's values, its fixed and scrollable segments).
        self._lines: LRUCache[tuple[Any, ...], tuple[list[object], RowLines]] = LRUCache(CACHE_SIZE // 10)
        super().__init__(**kwargs)

    def set_cells(self, changes: Iterable[tuple[str, str, Cell]]) -> int:
        """Write ``(row key, column key, value)`` changes; widths are measured once per column.

        A column is widened (never narrowed, as ``DataTable`` does) when a new
        value is wider than it; the table is refreshed once. Returns how many
        cells were written.
        """
        widest: dict[str, tuple[int, str, Cell]] = {}
        n = 0
        for row, column, value in changes:
            self.update_cell(row, column, value)
            w = width_of(value)
            if w > widest.get(column, (-1, "", ""))[0]:
                widest[column] = (w, row, value)
            n += 1
        for column, (w, row, value) in widest.items():
            if w > self.columns[ColumnKey(column)].content_width:
                # DataTable measures only the cells passed with update_width: the widest one is enough.
                self.update_cell(row, column, value, update_width=True)
        return n

    def _clear_caches(self) -> None:
        super()._clear_caches()
        self._drawn.clear()
        self._lines.clear()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._drawn.clear()  # a theme or CSS change: every colour may differ
        self._lines.clear()

    def _render_line_in_row(self, row_key: RowKey, line_no: int, base_style: Style, cursor_location: Coordinate,
                            hover_location: Coordinate) -> RowLines:
        if row_key not in self._row_locations:  # the header
            return super()._render_line_in_row(row_key, line_no, base_style, cursor_location, hover_location)
        values = self.get_row(row_key)
        key = (row_key, line_no, base_style, cursor_location, hover_location, self.cursor_type, self.show_cursor,
               self._show_hover_cursor, self._pseudo_class_state, self._row_locations.get(row_key), self.size.width,
               self.fixed_columns, tuple(c.get_render_width(self) for c in self.ordered_columns))
        hit = self._lines.get(key)
        if hit is not None and len(hit[0]) == len(values) and all(
                a is b or (isinstance(b, str) and a == b) for a, b in zip(hit[0], values, strict=True)):
            return hit[1]
        pair = super()._render_line_in_row(row_key, line_no, base_style, cursor_location, hover_location)
        self._lines[key] = (values, pair)
        return pair

    def _render_cell(self, row_index: int, column_index: int, base_style: Style, width: int,
                     cursor: bool = False, hover: bool = False) -> list[list[Segment]]:
        if row_index < 0 or column_index < 0:  # the header row and row labels: few, and rarely drawn
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        row_key = self._row_locations.get_key(row_index)
        column_key = self._column_locations.get_key(column_index)
        if row_key is None or column_key is None:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        value = self.get_cell(row_key, column_key)
        # Everything the drawing depends on besides the value; the row index is in the segments' meta
        # (what a mouse click reports), so a row that moved is drawn again.
        key = (row_key, column_key, row_index, column_index, base_style, width, cursor, hover,
               self._show_hover_cursor, self.show_cursor, self.cursor_type, self.fixed_rows, self.fixed_columns,
               self.cell_padding, self.rows[row_key].height, self._pseudo_class_state)
        hit = self._drawn.get(key)
        if hit is not None and (hit[0] is value or (isinstance(value, str) and hit[0] == value)):
            return hit[1]
        lines = super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        self._drawn[key] = (value, lines)
        return lines
