"""The Namespaces and Filesystem tabs of the container view, mounted alone against real containers."""

from __future__ import annotations

import os
import time
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.widget import Widget

from .pilot import drive, until

pytestmark = pytest.mark.requires("root", "overlay", "busybox")


class TabApp(App[None]):
    """Nothing but the tab under test."""

    def __init__(self, tab: Widget) -> None:
        super().__init__()
        self.tab = tab

    def compose(self) -> ComposeResult:
        yield self.tab


def snapshot(engine: Any) -> Any:
    from tuidock.tui.backend import Snapshot

    return Snapshot(1, time.time(), tuple(engine.containers(all=True)))


def feed(tab: Any, engine: Any, name: str) -> Any:
    """What the detail screen does every second: hand the tab its container in a fresh snapshot."""
    snap = snapshot(engine)
    info = next(i for i in snap.containers if i.name == name)
    tab.show(info, snap)
    return info


def ns_table(tab: Any) -> dict[str, list[str]]:
    """What the namespaces table shows: {type: [cells]}."""
    from textual.widgets import DataTable

    table = tab.query_one(DataTable)
    if not table.display:
        return {}
    return {str(table.get_row_at(i)[0]): [str(c) for c in table.get_row_at(i)] for i in range(table.row_count)}


def test_namespaces_tab_shows_each_link_and_who_shares_it(env: Any) -> None:
    from tuidock.tui.backend import Backend
    from tuidock.tui.tabs.namespaces import NamespacesTab

    env.cli("run", "-d", "--name", "iso", "--network", "none", "busybox", "sleep", "1000", check=True)
    env.cli("run", "-d", "--name", "hostnet", "--network", "host", "busybox", "sleep", "1000", check=True)
    engine = env.engine()
    backend = Backend(engine)
    iso_tab, host_tab = NamespacesTab(backend, engine.resolve("iso")), NamespacesTab(backend, engine.resolve("hostnet"))

    async def scenario(pilot: Any) -> None:
        # the tab that is shown is the only one that reads /proc; show both in turn as the screen would
        for tab, name in ((iso_tab, "iso"), (host_tab, "hostnet")):
            info = feed(tab, engine, name)
            await pilot.pause()
            rows = ns_table(tab)
            pid = info.pid
            for ns in ("net", "pid", "mnt", "uts", "ipc", "user"):
                link = os.readlink(f"/proc/{pid}/ns/{ns}")
                assert rows[ns][1] == link and rows[ns][2] == link.split("[")[1].rstrip("]")
            assert f"host PID {pid}" in str(tab.query_one("#ns-summary").render())
            assert info.state.cgroup in str(tab.query_one("#ns-summary").render())
        iso, hostnet = ns_table(iso_tab), ns_table(host_tab)
        assert "host's own" in hostnet["net"][3]  # --network host: the host's net namespace
        assert "host's own" not in iso["net"][3]
        assert "host's own" not in iso["pid"][3] and "host's own" not in iso["mnt"][3]
        assert "host's own" in iso["user"][3]  # tuidock makes no user namespace
        assert iso["user"][4] == "hostnet" and hostnet["user"][4] == "iso"  # shared between the two
        assert iso["net"][4] == "-" and iso["pid"][4] == "-"

        env.cli("stop", "-t", "0", "iso", check=True)
        feed(iso_tab, engine, "iso")
        await pilot.pause()
        assert ns_table(iso_tab) == {}
        assert "is exited" in str(iso_tab.query_one("#ns-message").render())
        feed(host_tab, engine, "hostnet")
        await pilot.pause()
        assert ns_table(host_tab)["user"][4] == "-"  # iso is gone from the sharers

    class Two(App[None]):
        def compose(self) -> ComposeResult:
            yield iso_tab
            yield host_tab

    drive(Two(), scenario)


def tree_children(node: Any) -> dict[str, Any]:
    """A tree node's children by entry name."""
    return {child.data.entry.name: child for child in node.children}


def test_filesystem_tab_shows_the_stack_the_layers_and_the_changes(env: Any) -> None:
    from textual.widgets import DataTable, TextArea, Tree

    from runtime.images.store import hex_of
    from tuidock.tui.backend import Backend
    from tuidock.tui.tabs.filesystem import FilesystemTab

    env.cli("run", "-d", "--name", "t", "busybox", "sleep", "1000", check=True)
    env.cli("exec", "t", "sh", "-c", "echo hello > /etc/added.txt && rm /etc/group && echo me >> /etc/passwd",
            check=True)
    engine = env.engine()
    cid = engine.resolve("t")
    paths = engine.paths(cid)
    tab = FilesystemTab(Backend(engine), cid)

    async def scenario(pilot: Any) -> None:
        info = feed(tab, engine, "t")
        stack = tab.query_one("#fs-stack", DataTable)
        await until(pilot, lambda: stack.row_count == 2 + len(info.record.layers), "the layer stack")
        cells = [[str(c) for c in stack.get_row_at(i)] for i in range(stack.row_count)]
        assert (cells[0][0], cells[0][3]) == ("upper", paths.upper)  # top first
        assert (cells[1][0], cells[1][3]) == ("init", paths.init)
        bottom = info.record.layers[0]
        assert cells[-1][0] == f"L1 {hex_of(bottom)[:8]}" and cells[-1][1] == bottom[:19]
        assert cells[-1][3] == engine.images.layer_path(bottom)

        tree = tab.query_one(Tree)
        await until(pilot, lambda: "etc" in tree_children(tree.root), "the root listing")
        root = tree_children(tree.root)
        assert "L1" in str(root["bin"].label) and "upper" in str(root["etc"].label)
        etc = root["etc"]
        etc.expand()
        await until(pilot, lambda: "added.txt" in tree_children(etc), "/etc listed")
        listed = {name: str(node.label) for name, node in tree_children(etc).items()}
        assert "upper" in listed["added.txt"] and "added" in listed["added.txt"]
        assert "whiteout" in listed["group"] and "deleted" in listed["group"]
        assert "changed" in listed["passwd"]
        assert "init" in listed["hosts"] and "added" not in listed["hosts"]

        area = tab.query_one("#fs-content", TextArea)
        tree.select_node(tree_children(etc)["added.txt"])
        await until(pilot, lambda: area.text == "hello\n", "the file's contents")
        bin_ = root["bin"]
        bin_.expand()
        await until(pilot, lambda: "busybox" in tree_children(bin_), "/bin listed")
        tree.select_node(tree_children(bin_)["busybox"])
        await until(pilot, lambda: "binary" in str(tab.query_one("#fs-about").render()), "busybox shown as binary")
        assert area.text.startswith("00000000  7f 45 4c 46")  # ELF

        env.cli("exec", "t", "touch", "/fresh", check=True)
        tree.focus()
        await pilot.press("f5")  # read everything again
        await until(pilot, lambda: "fresh" in tree_children(tree.root), "/fresh after F5")
        assert "upper added" in str(tree_children(tree.root)["fresh"].label)

    drive(TabApp(tab), scenario)


def test_filesystem_tab_reads_a_container_that_never_ran(env: Any) -> None:
    from textual.widgets import Tree

    from tuidock.tui.backend import Backend
    from tuidock.tui.tabs.filesystem import FilesystemTab
    from tuidock.tui.tabs.namespaces import NamespacesTab

    env.cli("create", "--name", "c", "busybox", "true", check=True)
    engine = env.engine()
    backend = Backend(engine)
    fs, ns = FilesystemTab(backend, engine.resolve("c")), NamespacesTab(backend, engine.resolve("c"))

    class Both(App[None]):
        def compose(self) -> ComposeResult:
            yield fs
            yield ns

    async def scenario(pilot: Any) -> None:
        feed(fs, engine, "c")
        feed(ns, engine, "c")
        tree = fs.query_one(Tree)
        await until(pilot, lambda: "bin" in tree_children(tree.root), "the root listing")
        assert not [node.label for node in tree.root.children if node.data.entry.change is not None]
        assert "is created" in str(ns.query_one("#ns-message").render())

    drive(Both(), scenario)
