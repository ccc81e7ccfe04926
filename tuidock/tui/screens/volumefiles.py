"""A volume's files (enter on the volumes screen): a directory at a time, a file's first 64 KiB beside it."""

from __future__ import annotations

import stat
import time
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static, TextArea

from runtime.engine.layerview import Kind
from runtime.engine.volumes import VolumeFile

from ...cli.format import human_size
from ..tabs.filesystem import preview
from .listing import ScreenCommands

if TYPE_CHECKING:
    from ..app import TuidockApp


class VolumeFilesScreen(Screen[None]):
    """Browse a volume from its root: enter opens a directory or shows a file, backspace goes up."""

    COMMANDS = App.COMMANDS | {ScreenCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back", id="volfiles_back"),
        Binding("backspace", "up", "Up a directory", id="volfiles_up"),
    ]

    def __init__(self, volume: str) -> None:
        super().__init__()
        self.volume = volume
        self.path = ""  # the directory shown, relative to the volume's root
        self.files: dict[str, VolumeFile] = {}

    @property
    def tapp(self) -> TuidockApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="vol-body"):
            table: DataTable[Any] = DataTable(id="vol-files", cursor_type="row", zebra_stripes=True)
            table.add_columns("NAME", "SIZE", "MODE", "OWNER", "MODIFIED")
            yield table
            with Vertical(id="vol-side"):
                yield Static("", id="vol-about")
                yield TextArea("", id="vol-content", read_only=True, show_line_numbers=False)
        yield Footer()

    def on_mount(self) -> None:
        self.open_dir("")

    def open_dir(self, path: str) -> None:
        engine = self.tapp.engine
        self.tapp.engine_call(f"list {self.volume}:/{path}", lambda: engine.volume_files(self.volume, path),
                              lambda files: self._show(path, files))

    def _show(self, path: str, files: tuple[VolumeFile, ...]) -> None:
        self.path = path
        self.sub_title = f"volume {self.volume}:/{path}"
        table = self.query_one("#vol-files", DataTable)
        table.clear()
        self.files = {}
        if path:
            table.add_row(Text("../", style="bold blue"), "", "", "", "", key="..")
        for f in sorted(files, key=lambda f: (f.kind is not Kind.DIR, f.name)):
            self.files[f.name] = f
            name = Text(f.name + ("/" if f.kind is Kind.DIR else ""),
                        style={Kind.DIR: "bold blue", Kind.SYMLINK: "cyan"}.get(f.kind, ""))
            if f.target:
                name.append(f" -> {f.target}", style="cyan dim")
            table.add_row(name, human_size(f.size) if f.kind is Kind.FILE else "", stat.filemode(
                f.mode | {Kind.DIR: stat.S_IFDIR, Kind.SYMLINK: stat.S_IFLNK}.get(f.kind, stat.S_IFREG)),
                f"{f.uid}:{f.gid}", time.strftime("%Y-%m-%d %H:%M", time.localtime(f.mtime_ns / 1e9)), key=f.name)
        self.query_one("#vol-about", Static).update(f"/{path}: {len(files)} entries")
        self.query_one("#vol-content", TextArea).load_text("")
        table.focus()

    def action_up(self) -> None:
        if self.path:
            self.open_dir(self.path.rpartition("/")[0])

    @on(DataTable.RowSelected, "#vol-files")
    def _chosen(self, event: DataTable.RowSelected) -> None:
        key = event.row_key.value
        if key == "..":
            self.action_up()
            return
        f = self.files.get(str(key))
        if f is None:
            return
        rel = f"{self.path}/{f.name}" if self.path else f.name
        if f.kind is Kind.DIR:
            self.open_dir(rel)
        elif f.kind is Kind.FILE:
            engine = self.tapp.engine

            def shown(result: tuple[bytes, int]) -> None:
                p = preview(*result)
                self.query_one("#vol-about", Static).update(f"/{rel}: {p.summary}")
                self.query_one("#vol-content", TextArea).load_text(p.text)

            self.tapp.engine_call(f"read {self.volume}:/{rel}", lambda: engine.volume_read(self.volume, rel), shown)
        else:
            self.query_one("#vol-about", Static).update(
                f"/{rel}: {f.kind.value}" + (f" -> {f.target}" if f.target else ""))
            self.query_one("#vol-content", TextArea).load_text("")
