"""One container's view: tabs for what inspect says, stats, namespaces, layers, mounts, logs and processes."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Footer, Header, TabbedContent, TabPane

from runtime.engine.model import ContainerInfo, ContainerStatus

from ..backend import Snapshot
from ..tabs.base import DetailTab

if TYPE_CHECKING:
    from ..app import TuidockApp

TABS = ("overview", "stats", "namespaces", "filesystem", "mounts", "logs", "processes")


class ContainerScreen(Screen[None]):
    """Tabs 1..7 (or left/right); the container keys (s x r p e a d) work here too; escape goes back."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,backspace", "back", "Back", id="back"),
        Binding("s", "act('start')", "Start", id="start"),
        Binding("x", "act('stop')", "Stop", id="stop"),
        Binding("r", "act('restart')", "Restart", id="restart"),
        Binding("p", "act('pause')", "Pause", id="pause"),
        Binding("e", "exec", "Exec", id="exec"),
        Binding("a", "attach", "Attach", id="attach"),
        *[Binding(str(i + 1), f"tab('{t}')", t.title(), show=False) for i, t in enumerate(TABS)],
        Binding("right,L", "next_tab(1)", "Next tab", show=False),
        Binding("left,H", "next_tab(-1)", "Previous tab", show=False),
    ]

    def __init__(self, cid: str, tab: str = "overview") -> None:
        super().__init__()
        self.cid = cid
        self.first_tab = tab
        self.info: ContainerInfo | None = None

    @property
    def tapp(self) -> TuidockApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        from ..tabs.filesystem import FilesystemTab
        from ..tabs.logs import LogsTab
        from ..tabs.mounts import MountsTab
        from ..tabs.namespaces import NamespacesTab
        from ..tabs.overview import OverviewTab
        from ..tabs.processes import ProcessesTab
        from ..tabs.stats import StatsTab

        backend, cid = self.tapp.backend, self.cid
        classes: dict[str, type[DetailTab]] = {
            "overview": OverviewTab, "stats": StatsTab, "namespaces": NamespacesTab, "filesystem": FilesystemTab,
            "mounts": MountsTab, "logs": LogsTab, "processes": ProcessesTab}
        yield Header()
        with TabbedContent(initial=self.first_tab, id="tabs"):
            for i, name in enumerate(TABS):
                with TabPane(f"{i + 1} {name.title()}", id=name):
                    yield classes[name](backend, cid, id=f"tab-{name}")
        yield Footer()

    def on_mount(self) -> None:
        if self.tapp.snapshot is not None:
            self.show_snapshot(self.tapp.snapshot)

    def show_snapshot(self, snap: Snapshot) -> None:
        if not self.is_mounted or not self.is_attached:
            return  # not composed yet (on_mount shows the latest snapshot), or being taken down
        info = next((i for i in snap.containers if i.id == self.cid), None)
        if info is None:
            if self.info is not None and self.is_current:
                self.notify(f"{self.info.name} was removed", severity="warning")
                self.app.pop_screen()
            return
        self.info = info
        self.title = f"{info.name} ({info.id[:12]})"
        self.sub_title = f"{info.record.config.image} · {info.status.value}"
        tab = self._active()
        if tab is not None:
            tab.show(info, snap)

    def _active(self) -> DetailTab | None:
        """The tab on screen (None while the tabs are still being mounted)."""
        try:
            tabs = self.query_one("#tabs", TabbedContent)
            return self.query_one(f"#tab-{tabs.active or 'overview'}", DetailTab)
        except NoMatches:
            return None

    @on(TabbedContent.TabActivated)
    def _tab_changed(self) -> None:
        snap = self.tapp.snapshot
        tab = self._active()
        if tab is not None:
            tab.focus_content()
        if self.info is not None and snap is not None and tab is not None:
            tab.show(self.info, snap)

    def action_tab(self, name: str) -> None:
        self.query_one("#tabs", TabbedContent).active = name

    def action_next_tab(self, step: int) -> None:
        tabs = self.query_one("#tabs", TabbedContent)
        i = TABS.index(tabs.active) if tabs.active in TABS else 0
        tabs.active = TABS[(i + step) % len(TABS)]

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_act(self, verb: str) -> None:
        info = self.info
        if info is None:
            return
        if verb == "pause" and info.status is ContainerStatus.PAUSED:
            verb = "unpause"
        fn = getattr(self.tapp.engine, verb)
        self.tapp.engine_call(f"{verb} {info.name}", lambda: fn(info.id),
                              lambda _: self.notify(f"{info.name}: {verb} done", timeout=2))

    def action_exec(self) -> None:
        if self.info is not None and self.info.status is ContainerStatus.RUNNING:
            self.tapp.handoff("exec", self.info.id, self.info.name, ("sh",))
        else:
            self.notify("exec needs a running container", severity="warning")

    def action_attach(self) -> None:
        if self.info is not None and self.info.status.is_up():
            self.tapp.handoff("attach", self.info.id, self.info.name)
        else:
            self.notify("attach needs a running container", severity="warning")
