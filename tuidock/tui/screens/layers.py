"""An image's layers, dive-style: each layer's instruction and changes, the tree up to it, the wasted space."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static, TabbedContent, TabPane, TextArea, Tree
from textual.widgets.tree import TreeNode

from runtime.engine.imagelayers import Change, FileEntry, FileType, ImageLayers

from ...cli.format import bytes_size, human_size
from ..tabs.filesystem import preview
from .listing import ScreenCommands

if TYPE_CHECKING:
    from ..app import TuidockApp

CHANGE_STYLE = {Change.ADDED: ("added", "bold green"), Change.CHANGED: ("changed", "bold yellow"),
                Change.DELETED: ("deleted", "bold red")}
TREE_LIMIT = 20_000  # entries put in the tree at most (a distro image has ~10,000)


def instruction(created_by: str) -> str:
    """The Dockerfile line a history entry stands for: ``RUN apk add x``, ``COPY file:ab12 in /``."""
    text = " ".join(created_by.split())
    if text.startswith("/bin/sh -c #(nop) "):
        return text.removeprefix("/bin/sh -c #(nop) ").strip()
    if text.startswith("/bin/sh -c "):
        return "RUN " + text.removeprefix("/bin/sh -c ")
    return text or "(unknown: no history)"


def entry_text(e: FileEntry) -> Text:
    t = Text()
    if e.change is not None:
        word, style = CHANGE_STYLE[e.change]
        t.append(f"{word:8}", style=style)
    name_style = {FileType.DIR: "bold blue", FileType.SYMLINK: "cyan"}.get(e.type, "")
    if e.change is Change.DELETED:
        name_style = "strike"
    t.append(e.path + ("/" if e.type is FileType.DIR else ""), style=name_style)
    if e.link:
        t.append(f" -> {e.link}", style="cyan dim")
    if e.opaque:
        t.append(" opaque", style="magenta")
    return t


class LayersScreen(Screen[None]):
    """Pick a layer on the left; its changes, the tree up to it and the image's waste are on the right.

    Enter on a file (in the changes, the tree or the wasted list) shows its
    contents as that layer holds them.
    """

    COMMANDS = App.COMMANDS | {ScreenCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back", id="layers_back"),
        Binding("c", "show_tab('changes')", "Changes", id="layers_changes"),
        Binding("t", "show_tab('tree')", "Tree", id="layers_tree"),
        Binding("w", "show_tab('wasted')", "Wasted", id="layers_wasted"),
    ]

    def __init__(self, ref: str, label: str) -> None:
        super().__init__()
        self.ref = ref
        self.label = label
        self.analysis: ImageLayers | None = None
        self.current = -1  # the selected layer's index
        self.tree_layer = -2  # the layer the tree was built for
        self.tree_entries: tuple[FileEntry, ...] = ()

    @property
    def tapp(self) -> TuidockApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(f"image {self.label}: reading its layers…", id="layers-about")
        with Horizontal(id="layers-body"):
            with Vertical(id="layers-left"):
                table: DataTable[Any] = DataTable(id="layers", cursor_type="row", zebra_stripes=True)
                for label, key in (("#", "index"), ("DIGEST", "digest"), ("SIZE", "size"), ("INSTRUCTION", "cmd")):
                    table.add_column(label, key=key)
                yield table
                yield Static("", id="layer-about")
            with Vertical(id="layers-right"):
                with TabbedContent(id="layer-tabs", initial="changes"):
                    with TabPane("Changes", id="changes"):
                        yield DataTable(id="layer-changes", cursor_type="row")
                    with TabPane("Tree", id="tree"):
                        yield Tree[FileEntry | None]("/", id="layer-tree")
                    with TabPane("Wasted", id="wasted"):
                        yield DataTable(id="layer-wasted", cursor_type="row")
                yield Static("[dim]enter on a file (changes, tree or wasted) shows its contents[/dim]",
                             id="file-about")
                yield TextArea("", id="file-content", read_only=True, show_line_numbers=False)
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = self.label
        changes = self.query_one("#layer-changes", DataTable)
        changes.add_columns("CHANGE", "PATH", "SIZE")
        wasted = self.query_one("#layer-wasted", DataTable)
        wasted.add_columns("PATH", "SIZE", "IN LAYER", "OVERWRITTEN OR DELETED BY")
        self.query_one("#layer-tree", Tree).show_root = False
        engine = self.tapp.engine
        self.tapp.engine_call(f"layers of {self.label}", lambda: engine.image_layers(self.ref), self._show)

    # ---- the layers -------------------------------------------------------------

    def _show(self, analysis: ImageLayers) -> None:
        self.analysis = analysis
        self.query_one("#layers-about", Static).update(Text.assemble(
            (f"image {self.label}", "bold"), f"  {len(analysis.layers)} layers, {human_size(analysis.size)}",
            "  ·  wasted ", (human_size(analysis.wasted_bytes), "bold red" if analysis.wasted_bytes else "green"),
            f" in {len(analysis.wasted)} files  ·  efficiency {analysis.efficiency * 100:.1f} %"))
        table = self.query_one("#layers", DataTable)
        for layer in analysis.layers:
            table.add_row(str(layer.index), layer.digest[7:19], human_size(layer.size),
                          instruction(layer.created_by), key=str(layer.index))
        wasted = self.query_one("#layer-wasted", DataTable)
        for i, w in enumerate(analysis.wasted):
            wasted.add_row(w.path, human_size(w.size), str(w.layer), str(w.by_layer), key=str(i))
        table.focus()
        if analysis.layers:
            self._select(0)

    @on(DataTable.RowHighlighted, "#layers")
    def _layer_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is not None:
            self._select(int(event.row_key.value))

    def _select(self, index: int) -> None:
        if self.analysis is None or index == self.current:
            return
        self.current = index
        layer = self.analysis.layers[index]
        counts = ", ".join(f"{sum(1 for e in layer.changes if e.change is c)} {word}"
                           for c, (word, _) in CHANGE_STYLE.items())
        self.query_one("#layer-about", Static).update(Text.assemble(
            (f"layer {index}", "bold"), f"  {layer.diff_id}\n", ("created by ", "dim"),
            " ".join(layer.created_by.split()) or "(no history)", "\n", counts))
        changes = self.query_one("#layer-changes", DataTable)
        changes.clear()
        for i, e in enumerate(layer.changes):
            word, style = CHANGE_STYLE[e.change or Change.ADDED]
            changes.add_row(Text(word, style=style), entry_text(replace(e, change=None)),
                            human_size(e.size) if e.type is FileType.FILE else "", key=str(i))
        if self.query_one("#layer-tabs", TabbedContent).active == "tree":
            self._load_tree()

    # ---- the tree up to the layer -------------------------------------------------

    def action_show_tab(self, tab: str) -> None:
        self.query_one("#layer-tabs", TabbedContent).active = tab

    @on(TabbedContent.TabActivated, "#layer-tabs")
    def _tab(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id == "tree":
            self._load_tree()

    def _load_tree(self) -> None:
        if self.current < 0 or self.tree_layer == self.current:
            return
        upto = self.current
        self.tree_layer = upto
        engine = self.tapp.engine
        self.tapp.engine_call(f"tree of {self.label} up to layer {upto}",
                              lambda: engine.image_tree(self.ref, upto), lambda entries: self._fill_tree(upto, entries))

    def _fill_tree(self, upto: int, entries: tuple[FileEntry, ...]) -> None:
        if upto != self.current:
            return  # another layer was picked meanwhile
        self.tree_entries = entries
        tree = self.query_one("#layer-tree", Tree)
        tree.clear()
        tree.root.label = f"/ (layers 0..{upto})"
        nodes: dict[str, TreeNode[FileEntry | None]] = {"": tree.root}
        for e in entries[:TREE_LIMIT]:
            parent, _, name = e.path.rstrip("/").rpartition("/")
            at = nodes.get(parent, tree.root)
            label = Text(name + ("/" if e.type is FileType.DIR else ""),
                         style={FileType.DIR: "bold blue", FileType.SYMLINK: "cyan"}.get(e.type, ""))
            if e.link:
                label.append(f" -> {e.link}", style="cyan dim")
            label.append(f"  L{e.layer}", style="dim italic" if e.layer != upto else "bold green")
            if e.type is FileType.FILE:
                label.append(f" {human_size(e.size)}", style="dim")
            if e.type is FileType.DIR:
                nodes[e.path.rstrip("/")] = at.add(label, data=e)
            else:
                at.add_leaf(label, data=e)
        if len(entries) > TREE_LIMIT:
            tree.root.add_leaf(Text(f"… {len(entries) - TREE_LIMIT} more entries not shown", style="dim"))
        tree.root.expand()

    # ---- a file's contents ----------------------------------------------------------

    @on(DataTable.RowSelected, "#layer-changes")
    def _change_chosen(self, event: DataTable.RowSelected) -> None:
        if self.analysis is not None and event.row_key.value is not None:
            layer = self.analysis.layers[self.current]
            self.show_file(layer.changes[int(event.row_key.value)])

    @on(DataTable.RowSelected, "#layer-wasted")
    def _wasted_chosen(self, event: DataTable.RowSelected) -> None:
        if self.analysis is None or event.row_key.value is None:
            return
        w = self.analysis.wasted[int(event.row_key.value)]
        entry = next((e for e in self.analysis.layers[w.layer].changes if e.path == w.path), None)
        if entry is not None:
            self.show_file(entry)

    @on(Tree.NodeSelected, "#layer-tree")
    def _node_chosen(self, event: Tree.NodeSelected[FileEntry | None]) -> None:
        if event.node.data is not None:
            self.show_file(event.node.data)

    def show_file(self, e: FileEntry) -> None:
        """Show what layer ``e.layer`` holds at ``e.path`` (a deleted file: what the layer below held)."""
        about = self.query_one("#file-about", Static)
        content = self.query_one("#file-content", TextArea)
        where = f"{e.path} from layer {e.layer}"
        if e.change is Change.DELETED:
            about.update(f"{where}: deleted by this layer (a whiteout)")
            content.load_text("")
            return
        if e.type is not FileType.FILE:
            about.update(f"{where}: {e.type.value}" + (f" -> {e.link}" if e.link else ""))
            content.load_text("")
            return
        if self.analysis is None:
            return
        engine = self.tapp.engine
        diff_id = self.analysis.layers[e.layer].diff_id

        def read() -> tuple[bytes, int]:
            from runtime import securepath
            from runtime.engine.layerview import read_head

            # The layer is a directory tree on the host: resolve the parent inside it so no symlink leads out.
            root = engine.images.layer_path(diff_id)
            parent, _, name = e.path.strip("/").rpartition("/")
            host_dir = securepath.resolve_in_root(root, parent) if parent else root
            return read_head(os.path.join(host_dir, name))

        def shown(result: tuple[bytes, int]) -> None:
            data, size = result
            p = preview(data, size)
            about.update(f"{where}: {p.summary}")
            content.load_text(p.text)

        about.update(f"{where}: reading… ({bytes_size(e.size)})")
        self.tapp.engine_call(f"read {e.path}", read, shown)
