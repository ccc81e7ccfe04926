"""LiveTable: after an update only the changed cells go through Rich again, and the screen shows the new values."""

from __future__ import annotations

import asyncio
from typing import Any

from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import DataTable

from tuidock.tui.livetable import LiveTable

ROWS = 40
COLUMNS = ("name", "status", "cpu")


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        table = LiveTable(id="t", cursor_type="row", zebra_stripes=True)
        for key in COLUMNS:
            table.add_column(key.upper(), key=key)
        for i in range(ROWS):
            table.add_row(f"c{i:02d}", Text(f"Up {i} seconds", style="green"), "0.0%", key=f"id{i}")
        yield table


def rich_renders(monkeypatch: Any) -> list[tuple[int, int]]:
    """Every cell DataTable draws through Rich, as (row, column)."""
    drawn: list[tuple[int, int]] = []
    real = DataTable._render_cell

    def spy(self: Any, row_index: int, column_index: int, *args: Any, **kwargs: Any) -> Any:
        drawn.append((row_index, column_index))
        return real(self, row_index, column_index, *args, **kwargs)

    monkeypatch.setattr(DataTable, "_render_cell", spy)
    return drawn


def screen_text(app: App[None]) -> str:
    table = app.query_one("#t", LiveTable)
    return "\n".join(table.render_line(y).text for y in range(table.size.height))


def test_an_update_redraws_only_the_changed_cells(monkeypatch):  # type: ignore[no-untyped-def]
    drawn = rich_renders(monkeypatch)

    async def main() -> None:
        app = TableApp()
        async with app.run_test(size=(80, 30)) as pilot:
            await pilot.pause()
            table = app.query_one("#t", LiveTable)
            assert "Up 3 seconds" in screen_text(app)
            visible = len({r for r, _ in drawn if r >= 0})
            assert visible >= 20  # the first paint drew every visible row
            drawn.clear()
            table.set_cells([("id3", "status", Text("Up 4 seconds", style="green")), ("id5", "cpu", "9.5%")])
            await pilot.pause()
            text = screen_text(app)
            assert "Up 4 seconds" in text and "9.5%" in text
            # Two cells through Rich (and the header, drawn by DataTable itself), not the whole table again.
            assert sorted({(r, c) for r, c in drawn if r >= 0}) == [(3, 1), (5, 2)]
            # A value wider than its column widens it, so nothing is cut off.
            drawn.clear()
            table.set_cells([("id7", "status", Text("Up About a minute (Paused)"))])
            await pilot.pause()
            assert "Up About a minute (Paused)" in screen_text(app)
            # Moving the cursor draws again only the cells of the two rows whose highlight changed.
            drawn.clear()
            table.move_cursor(row=6)
            await pilot.pause()
            assert {r for r, _ in drawn if r >= 0} <= {0, 6}

    asyncio.run(main())
