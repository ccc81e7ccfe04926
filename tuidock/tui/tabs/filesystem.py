"""The Filesystem tab: the overlay stack, the merged root as a tree attributed to layers, a file's contents."""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Static, TextArea, Tree
from textual.widgets.tree import TreeNode

from runtime.engine import layerview
from runtime.engine.layerview import Change, Entry, Kind, Layer
from runtime.engine.model import ContainerInfo

from ...cli.format import bytes_size
from ..backend import Backend, Snapshot
from .base import DetailTab

STACK_COLUMNS = ("LAYER", "DIFF ID", "SIZE", "HOST DIRECTORY")
CHANGE_STYLE = {Change.ADDED: ("added", "bold green"), Change.CHANGED: ("changed", "bold yellow"),
                Change.DELETED: ("deleted", "bold red")}
HEX_BYTES = 512  # how much of a binary file is shown as a hex dump
LEGEND = Text.assemble(
    "Each entry names the layer it comes from. The container's changes: ", ("added", "bold green"), " ",
    ("changed", "bold yellow"), " ", ("deleted", "bold red"), ". ", ("whiteout", "red"),
    ": the name is deleted from the layers below; ", ("opaque", "magenta"),
    ": the directory hides the same one below. Select a file to see its first 64 KiB; F5 reads everything again.")


@dataclass
class Node:
    """What a tree node holds: its path in the merged root and, but for the root, its entry."""

    rel: str
    entry: Entry | None = None
    loaded: bool = False
    children: list[Entry] = field(default_factory=list)


def layer_name(layers: list[Layer], index: int) -> str:
    return layers[index].label if 0 <= index < len(layers) else f"layer {index}"


def entry_label(e: Entry, layers: list[Layer]) -> Text:
    """``name/  L1 3c4d76e9`` with the entry's marks: added / changed / deleted, whiteout, opaque, hidden."""
    t = Text()
    name_style = {Kind.DIR: "bold blue", Kind.SYMLINK: "cyan"}.get(e.kind, "")
    if not e.visible:
        name_style = "strike dim"
    t.append(e.name + ("/" if e.kind is Kind.DIR else ""), style=name_style)
    if e.target:
        t.append(f" -> {e.target}", style="cyan dim")
    t.append("  ")
    t.append(layer_name(layers, e.layer_index), style="dim italic")
    if e.change is not None:
        word, style = CHANGE_STYLE[e.change]
        t.append(f" {word}", style=style)
    if e.whiteout:
        t.append(" whiteout", style="red")
    if e.opaque:
        t.append(" opaque", style="magenta")
    if e.hidden:
        t.append(" hidden by an opaque directory", style="dim magenta")
    return t


def is_binary(data: bytes) -> bool:
    """NUL bytes, or bytes that are not UTF-8 (a character cut at the end of the preview is fine)."""
    if b"\0" in data[:8192]:
        return True
    try:
        codecs.getincrementaldecoder("utf-8")().decode(data, final=False)
    except UnicodeDecodeError:
        return True
    return False


def hexdump(data: bytes) -> str:
    lines = []
    for off in range(0, len(data), 16):
        chunk = data[off:off + 16]
        hexes = " ".join(f"{b:02x}" for b in chunk)
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{off:08x}  {hexes:<47}  {text}")
    return "\n".join(lines)


@dataclass(frozen=True)
class Preview:
    """What the content panel shows for a file."""

    binary: bool
    summary: str  # a line about the content
    text: str  # the text itself, or a hex dump of a binary file's start


def preview(data: bytes, size: int) -> Preview:
    """Text as it is; binary as a hex dump of its first :data:`HEX_BYTES`."""
    if is_binary(data):
        return Preview(True, f"binary, {bytes_size(size)} ({size} bytes); the first "
                             f"{min(HEX_BYTES, len(data))} bytes as hex", hexdump(data[:HEX_BYTES]))
    text = codecs.getincrementaldecoder("utf-8")().decode(data, final=False)
    more = f"; the first {bytes_size(len(data))} shown" if size > len(data) else ""
    return Preview(False, f"text, {bytes_size(size)} ({size} bytes){more}", text)


def describe(e: Entry, layers: list[Layer], rel: str) -> str:
    """The header of the content panel for an entry that is not read (or above what is)."""
    where = f"/{rel} from {layer_name(layers, e.layer_index)}  ({e.source})"
    if e.whiteout:
        return f"{where}\ndeleted: a whiteout in this layer hides the name in the layers below"
    if e.hidden:
        return f"{where}\nhidden: an opaque directory in a layer above hides this entry"
    if e.kind is Kind.DIR:
        return f"{where}\ndirectory{', opaque (hides the same directory below)' if e.opaque else ''}"
    if e.kind is Kind.SYMLINK:
        return f"{where}\nsymbolic link to {e.target}"
    if e.kind is Kind.FILE:
        return where  # the preview says what the content is
    return f"{where}\n{e.kind.value}"


class FilesystemTab(DetailTab):
    """The container's overlay stack and its merged root, read from the layer directories on the host.

    Nothing enters the container, so a stopped container is shown as well as
    a running one. Directories are listed when first expanded; F5 reads
    everything again.
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("f5", "reload", "Reload")]

    DEFAULT_CSS = """
    FilesystemTab { height: 1fr; }
    FilesystemTab #fs-stack { height: auto; max-height: 12; }
    FilesystemTab #fs-body { height: 1fr; }
    FilesystemTab #fs-tree { width: 1fr; border-top: solid $primary-darken-2; }
    FilesystemTab #fs-side { width: 1fr; border-top: solid $primary-darken-2; border-left: solid $primary-darken-2; }
    FilesystemTab #fs-about { height: auto; padding: 0 1; }
    FilesystemTab #fs-content { height: 1fr; }
    """

    def __init__(self, backend: Backend, cid: str, **kwargs: Any) -> None:
        super().__init__(backend, cid, **kwargs)
        self.stack: list[Layer] = []  # top-most first, as layerview numbers them
        self._started = False

    def compose(self) -> ComposeResult:
        yield DataTable(id="fs-stack", cursor_type="row", zebra_stripes=True)
        with Horizontal(id="fs-body"):
            tree: Tree[Node] = Tree("/", Node(""), id="fs-tree")
            tree.guide_depth = 2
            yield tree
            with Vertical(id="fs-side"):
                yield Static(LEGEND, id="fs-about")
                yield TextArea("", id="fs-content", read_only=True, soft_wrap=False, show_line_numbers=True)

    def on_mount(self) -> None:
        self.query_one("#fs-stack", DataTable).add_columns(*STACK_COLUMNS)

    # ---- loading ----------------------------------------------------------------

    def show(self, info: ContainerInfo, snap: Snapshot) -> None:
        if not self._started:
            self._started = True
            self._load(info)

    def action_reload(self) -> None:
        engine = self.backend.engine
        self.load(lambda: engine.get(self.cid), self._load, group=f"fs-info-{id(self)}")

    def _load(self, info: ContainerInfo) -> None:
        engine = self.backend.engine
        paths = engine.paths(info.id)
        diff_ids = info.record.layers

        def read() -> tuple[list[Layer], list[Entry]]:
            layers = layerview.container_stack(paths, diff_ids, engine.images)
            return layers, layerview.list_dir([layer.path for layer in layers], "", upper=True)

        self.load(read, self._loaded, group=f"fs-stack-{id(self)}")

    def _loaded(self, result: tuple[list[Layer], list[Entry]]) -> None:
        self.stack, top = result
        table = self.query_one("#fs-stack", DataTable)
        table.clear()
        for layer in self.stack:
            table.add_row(Text(layer.label, style="bold" if layer.role != "image" else ""),
                          layer.diff_id[:19] if layer.diff_id else Text(self._role_note(layer), style="dim"),
                          bytes_size(layer.size) if layer.size is not None else "-", layer.path)
        tree: Tree[Node] = self.query_one("#fs-tree", Tree)
        tree.reset("/", Node(""))
        self._fill(tree.root, top)
        tree.root.expand()

    @staticmethod
    def _role_note(layer: Layer) -> str:
        return {"upper": "writable: what the container changed",
                "init": "hosts, hostname, resolv.conf, mount points"}.get(layer.role, "")

    def _fill(self, node: TreeNode[Node], entries: list[Entry]) -> None:
        data = node.data
        assert data is not None
        data.loaded = True
        data.children = entries
        node.remove_children()
        for e in entries:
            rel = f"{data.rel}/{e.name}" if data.rel else e.name
            expandable = e.kind is Kind.DIR and e.visible
            node.add(entry_label(e, self.stack), Node(rel, e), allow_expand=expandable)

    def on_tree_node_expanded(self, event: Tree.NodeExpanded[Node]) -> None:
        event.stop()
        data = event.node.data
        if data is None or data.loaded or not self.stack:
            return
        dirs = [layer.path for layer in self.stack]
        node = event.node
        self.load(lambda: layerview.list_dir(dirs, data.rel, upper=True), lambda es: self._fill(node, es),
                  group=f"fs-dir-{id(self)}-{data.rel}")

    # ---- contents ---------------------------------------------------------------

    def on_tree_node_selected(self, event: Tree.NodeSelected[Node]) -> None:
        event.stop()
        data = event.node.data
        if data is None or data.entry is None:
            return
        e = data.entry
        about = describe(e, self.stack, data.rel)
        if e.kind is not Kind.FILE:
            self._show_content(about, "")
            return

        def done(result: tuple[bytes, int]) -> None:
            p = preview(*result)
            self._show_content(f"{about}\n{p.summary}", p.text, numbered=not p.binary)

        self.load(lambda: layerview.read_head(e.source), done, group=f"fs-read-{id(self)}")

    def _show_content(self, about: str, text: str, numbered: bool = True) -> None:
        self.query_one("#fs-about", Static).update(Text(about))
        area = self.query_one("#fs-content", TextArea)
        area.show_line_numbers = numbered  # a hex dump numbers its own lines by offset
        area.load_text(text)
        area.scroll_home(animate=False)
