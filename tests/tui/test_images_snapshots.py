"""Snapshot tests of the images, layers, volumes and networks screens, drawn from fixed engine answers.

The engine's listing methods are replaced on the app's engine instance with
fixed content, and the images screen's clock is fixed, so the pictures do not
depend on this machine. Update them after a deliberate change with
``pytest tests/tui/test_images_snapshots.py --snapshot-update`` and look at the diff.
"""

from __future__ import annotations

import types
from typing import Any

import pytest

from runtime.engine.imagelayers import Change, FileEntry, FileType, ImageLayers, LayerInfo, Wasted
from runtime.engine.imageops import Summary
from runtime.engine.model import ContainerStatus
from runtime.engine.networking import NetworkInfo, NetworkMember
from runtime.engine.volumes import Volume, VolumeUsage, VolumeUser
from runtime.images.store import HistoryEntry, Image, ImageConfig, Layer
from runtime.net.store import Network

from .pilot import until

NOW = 1_763_900_000.0
SIZE = (140, 36)
ROOT = "/var/lib/tuidock"


def h(n: int) -> str:
    return "sha256:" + f"{n:x}" * 64


def image(n: int, tags: tuple[str, ...], layers: int, created: str) -> Image:
    return Image(h(n)[:71], h(n + 100)[:71], tags, created, ImageConfig(cmd=("sh",)),
                 tuple(Layer(h(n * 10 + i)[:71], h(n * 10 + i + 5)[:71], 1000, "tar") for i in range(layers)),
                 (HistoryEntry(created, "/bin/sh -c #(nop) ADD file:abc in / "),), "amd64", "linux")


SUMMARIES = [
    Summary(image(1, ("docker.io/library/busybox:latest", "docker.io/library/busybox:1.36"), 1,
                  "2025-11-20T10:00:00Z"), "", (), ("c1", "c2"), 4_404_000),
    Summary(image(2, ("localhost:5000/team/app:2.1",), 3, "2025-11-23T11:30:00Z"), "", (), (), 12_500_000),
    Summary(image(3, (), 2, "2025-11-01T00:00:00Z"), "", (), (), 900_000),
]


def entry(path: str, kind: FileType, size: int, layer: int, change: Change | None = None, link: str = "") -> FileEntry:
    return FileEntry(path, kind, size, 0o755 if kind is FileType.DIR else 0o644, 0, 0, link, layer, change)


LAYERS = ImageLayers(h(2)[:71], (
    LayerInfo(0, h(21)[:71], h(26)[:71], 4_404_000, "/bin/sh -c #(nop) ADD file:5e8a in / ", "", "", (
        entry("/bin", FileType.DIR, 0, 0, Change.ADDED), entry("/bin/sh", FileType.FILE, 1_100_000, 0, Change.ADDED),
        entry("/etc", FileType.DIR, 0, 0, Change.ADDED),
        entry("/etc/passwd", FileType.FILE, 340, 0, Change.ADDED))),
    LayerInfo(1, h(22)[:71], h(27)[:71], 8_000_000, "/bin/sh -c dd if=/dev/zero of=/big bs=1M count=8", "", "", (
        entry("/big", FileType.FILE, 8_000_000, 1, Change.ADDED),)),
    LayerInfo(2, h(23)[:71], h(28)[:71], 96, "/bin/sh -c echo hi > /etc/motd && rm /big", "", "", (
        entry("/big", FileType.FILE, 8_000_000, 1, Change.DELETED),
        entry("/etc", FileType.DIR, 0, 2, Change.CHANGED), entry("/etc/motd", FileType.FILE, 3, 2, Change.ADDED))),
), (Wasted("/big", 8_000_000, 1, 2),))

VOLUMES = [
    VolumeUsage(Volume("pgdata", f"{ROOT}/volumes/pgdata/_data", 0),
                (VolumeUser("a" * 64, "db", ContainerStatus.RUNNING, "/var/lib/postgresql/data", False),), 52_000_000),
    VolumeUsage(Volume("cache", f"{ROOT}/volumes/cache/_data", 0), (), 4096),
    VolumeUsage(Volume("conf", f"{ROOT}/volumes/conf/_data", 0),
                (VolumeUser("b" * 64, "web", ContainerStatus.EXITED, "/etc/app", True),), 1200),
]

NETWORKS = [
    NetworkInfo(Network("1" * 64, "bridge", "tuidock0", "10.88.0.0/16", "10.88.0.1", default=True), True,
                (NetworkMember("a" * 64, "db", "10.88.0.2"), NetworkMember("c" * 64, "web", "10.88.0.3"))),
    NetworkInfo(Network("2" * 64, "backend", "tdbr-2222222", "10.91.0.0/24", "10.91.0.1"), False, ()),
    NetworkInfo(Network("3" * 64, "host", "", "", "", driver="host"), False, ()),
    NetworkInfo(Network("4" * 64, "none", "", "", "", driver="null"), False, ()),
]


def make(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    from runtime.engine.engine import Engine
    from tuidock.tui import app as app_module
    from tuidock.tui.screens import images

    monkeypatch.setattr(images, "time", types.SimpleNamespace(time=lambda: NOW))
    settings = {"detach_keys": "ctrl-p,ctrl-q", "refresh_interval": 1.0, "theme": "textual-dark", "keys": {}}
    engine = Engine(str(tmp_path / "root"), "/tuidock-snapshots")
    engine.image_summaries = lambda: list(SUMMARIES)  # type: ignore[method-assign]
    engine.image_layers = lambda name: LAYERS  # type: ignore[method-assign]
    engine.volume_usage = lambda sizes=True: list(VOLUMES)  # type: ignore[method-assign]
    engine.network_infos = lambda: list(NETWORKS)  # type: ignore[method-assign]
    return app_module.TuidockApp(engine, settings=settings, sample=False)


async def show(pilot: Any, app: Any, key: str, kind: str) -> None:
    await pilot.pause()
    await pilot.press(key)
    await until(pilot, lambda: type(app.screen).__name__ == kind and getattr(app.screen, "loaded", 1),
                f"the {kind} with its list")
    app.screen.sub_title = ROOT  # not the test's temporary root, which changes every run
    await pilot.pause()


@pytest.mark.parametrize(("key", "kind"), [("2", "ImagesScreen"), ("3", "VolumesScreen"), ("4", "NetworksScreen")])
def test_listing_screens(snap_compare, tmp_path, monkeypatch, key, kind):  # type: ignore[no-untyped-def]
    app = make(tmp_path, monkeypatch)

    async def before(pilot):  # type: ignore[no-untyped-def]
        await show(pilot, app, key, kind)

    assert snap_compare(app, terminal_size=SIZE, run_before=before)


def test_layers_screen(snap_compare, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    app = make(tmp_path, monkeypatch)

    async def before(pilot):  # type: ignore[no-untyped-def]
        await show(pilot, app, "2", "ImagesScreen")
        app.screen.select(next(k for k in app.screen.cells if "team/app" in k))
        await pilot.press("enter")
        await until(pilot, lambda: type(app.screen).__name__ == "LayersScreen" and app.screen.analysis is not None,
                    "the layers screen with its analysis")
        await pilot.press("down", "down")  # the last layer: its added, changed and deleted files
        app.screen.sub_title = "team/app:2.1"
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=before)
