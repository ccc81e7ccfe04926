"""The Namespaces tab: every /proc/<pid>/ns link of the container's PID 1, live, and who else is in each."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import DataTable, Static

from runtime import procfs
from runtime.engine import nsview
from runtime.engine.model import ContainerInfo

from ..backend import Backend, Snapshot
from .base import DetailTab

COLUMNS = ("NAMESPACE", "LINK", "INODE", "HOST", "SHARED WITH")
HOST_STYLE = "bold black on yellow"


def row_cells(row: nsview.NsRow) -> tuple[Text, ...]:
    """A namespace's cells; a namespace the host is in is drawn in yellow so it stands out."""
    style = "yellow" if row.host else ""
    host = Text(" host's own ", style=HOST_STYLE) if row.host else Text("separate", style="green")
    shared = Text(", ".join(row.shared_with) if row.shared_with else "-", style=style or "dim")
    return (Text(row.type, style=f"bold {style}".strip()), Text(row.link, style=style), Text(str(row.inode), style=style),
            host, shared)


def summary(info: ContainerInfo, pid: int, host_source: str) -> Text:
    """The lines above the table: the host pid, the pid inside, the cgroup, what "host" is compared with."""
    inner = procfs.ns_pids(pid)
    t = Text()
    t.append("PID 1 of ", style="dim")
    t.append(info.name, style="bold")
    t.append(" is host PID ", style="dim")
    t.append(str(pid), style="bold cyan")
    if len(inner) > 1:
        t.append(f" (PID {inner[-1]} in its pid namespace)", style="dim")
    t.append("\ncgroup  ", style="dim")
    t.append(info.state.cgroup if info.state and info.state.cgroup else "-", style="bold")
    t.append("\nhost namespaces are those of ", style="dim")
    t.append(host_source)
    t.append("   ")
    t.append(" host's own ", style=HOST_STYLE)
    t.append(" = the container shares it with the host", style="dim")
    return t


class NamespacesTab(DetailTab):
    """The container's namespaces, re-read on every snapshot (a handful of readlinks)."""

    DEFAULT_CSS = """
    NamespacesTab { height: 1fr; }
    NamespacesTab #ns-summary { height: auto; padding: 0 1 1 1; }
    NamespacesTab #ns-table { height: 1fr; }
    NamespacesTab #ns-message { height: auto; padding: 1 2; color: $text-muted; }
    """

    def __init__(self, backend: Backend, cid: str, **kwargs: Any) -> None:
        super().__init__(backend, cid, **kwargs)
        self._host, self._host_source = nsview.host_links()  # the host's namespaces do not change
        self._shown: tuple[Any, ...] | None = None
        self.rows: list[nsview.NsRow] = []  # what the table shows (tests and the images screen read it)

    def compose(self) -> ComposeResult:
        yield Static(id="ns-message")
        yield Static(id="ns-summary")
        yield DataTable(id="ns-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns(*COLUMNS)
        self._message("waiting for the container's state")

    def _message(self, text: str) -> None:
        msg = self.query_one("#ns-message", Static)
        msg.update(text)
        msg.display = True
        self.query_one("#ns-summary").display = False
        self.query_one(DataTable).display = False
        self.rows = []
        self._shown = None

    def show(self, info: ContainerInfo, snap: Snapshot) -> None:
        pid = info.pid
        if pid <= 0:
            self._message(f"{info.name} is {info.status.value}: a container's namespaces exist only while its "
                          "process runs. Start it to see them.")
            return
        others = {i.name: i.pid for i in snap.containers if i.id != info.id and i.pid > 0}
        rows = nsview.read(pid, others, self._host)
        if not rows:
            self._message(f"{info.name}: PID {pid} is gone (the container is stopping)")
            return
        key = (pid, info.state.cgroup if info.state else "", tuple(rows))
        if key == self._shown:
            return  # nothing changed: leave the table (and its cursor) alone
        self._shown = key
        self.rows = rows
        self.query_one("#ns-message").display = False
        head = self.query_one("#ns-summary", Static)
        head.update(summary(info, pid, self._host_source))
        head.display = True
        table = self.query_one(DataTable)
        table.display = True
        cursor = table.cursor_row
        table.clear()
        for r in rows:
            table.add_row(*row_cells(r), key=r.type)
        if 0 <= cursor < len(rows):
            table.move_cursor(row=cursor, animate=False)
