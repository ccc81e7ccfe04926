"""The images, layers, volumes and networks screens against the real engine: each key's effect checked with the CLI."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest

from tests.integration.registry_servers import pushed_image  # noqa: F401

from .pilot import drive, make_app, status, tui_env, until  # noqa: F401

pytestmark = pytest.mark.requires("root", "overlay", "busybox")


def front(app, kind):  # type: ignore[no-untyped-def]
    """The screen in front if it is a ``kind`` (by class name), else None."""
    return app.screen if type(app.screen).__name__ == kind else None


def table(app, table_id):  # type: ignore[no-untyped-def]
    """What a table of the screen in front shows: a list of rows, each a list of cell texts."""
    t = app.screen.query_one(f"#{table_id}")
    return [[str(c) for c in t.get_row_at(i)] for i in range(t.row_count)]


def notified(app, text):  # type: ignore[no-untyped-def]
    return any(text in str(n.message) for n in app._notifications)


async def to_screen(pilot, app, key, kind):  # type: ignore[no-untyped-def]
    await pilot.press(key)
    screen = await until(pilot, lambda: front(app, kind), f"the {kind} after {key}")
    await until(pilot, lambda: getattr(screen, "loaded", 1), f"the {kind}'s list")
    return screen


async def pick(pilot, app, screen, predicate, what):  # type: ignore[no-untyped-def]
    """Move the cursor to the first row of the screen's list for which ``predicate(cells)`` holds."""

    def find():  # type: ignore[no-untyped-def]
        return next((k for k, cells in screen.cells.items() if predicate([str(c) for c in cells])), None)

    key = await until(pilot, find, what)
    screen.select(key)
    await pilot.pause(0.05)
    return key


async def answer(pilot, app, values, kind="PromptDialog"):  # type: ignore[no-untyped-def]
    """Fill a prompt dialog's fields and press its button."""
    from textual.widgets import Input

    dialog = await until(pilot, lambda: front(app, kind), f"the {kind}")
    for fid, value in values.items():
        dialog.query_one(f"#prompt-{fid}", Input).value = value
    await pilot.pause(0.05)
    await pilot.click("#ok")


async def confirm(pilot, app):  # type: ignore[no-untyped-def]
    await until(pilot, lambda: front(app, "ConfirmDialog"), "the confirmation")
    await pilot.press("y")


def image_names(env):  # type: ignore[no-untyped-def]
    return env.cli("images", "--format", "{{.Repository}}:{{.Tag}}", check=True).stdout.split()


def test_number_keys_switch_between_the_four_screens(tui_env):
    tui_env.cli("create", "--name", "sw", "busybox", "true", check=True)
    app = make_app(tui_env)

    async def scenario(pilot):  # type: ignore[no-untyped-def]
        await until(pilot, lambda: front(app, "ContainersScreen"), "the containers screen")
        images = await to_screen(pilot, app, "2", "ImagesScreen")
        await until(pilot, lambda: any(r[:2] == ["busybox", "latest"] for r in table(app, "images")),
                    "busybox in the images list")
        row = next(r for r in table(app, "images") if r[:2] == ["busybox", "latest"])
        assert row[5] == "1 container"  # sw was created from it
        assert images.query_one("#images-summary").render()
        await to_screen(pilot, app, "3", "VolumesScreen")
        await to_screen(pilot, app, "4", "NetworksScreen")
        await until(pilot, lambda: {"bridge", "host", "none"} <= {r[1] for r in table(app, "networks")},
                    "the predefined networks")
        await pilot.press("1")
        await until(pilot, lambda: front(app, "ContainersScreen"), "back on the containers screen")
        assert len(app.screen_stack) == 2  # the other screens were closed, not stacked up
        # The containers screen still works as before: its table fills and its keys act.
        await until(pilot, lambda: app.screen.query_one("#containers").row_count == 1, "sw in the table")
        await pilot.press("2")
        await until(pilot, lambda: front(app, "ImagesScreen"), "images again")
        await pilot.press("question_mark")
        helpscreen = await until(pilot, lambda: front(app, "HelpScreen"), "the key help")
        assert ("2", "Images") in helpscreen.entries
        await pilot.press("escape")
        # The command palette offers the screens by name.
        from tuidock.tui.screens.listing import ScreenCommands

        assert ScreenCommands in type(app.screen).COMMANDS
        await pilot.press("1")
        await until(pilot, lambda: front(app, "ContainersScreen"), "containers via 1")

    drive(app, scenario)


def test_images_tag_run_remove_and_refusal(tui_env):
    tui_env.cli("create", "--name", "imguser", "busybox", "true", check=True)
    app = make_app(tui_env)

    async def scenario(pilot):  # type: ignore[no-untyped-def]
        screen = await to_screen(pilot, app, "2", "ImagesScreen")
        # busybox has one name and a container uses it: the engine refuses and says why.
        await pick(pilot, app, screen, lambda c: c[:2] == ["busybox", "latest"], "busybox")
        await pilot.press("d")
        await confirm(pilot, app)
        await until(pilot, lambda: notified(app, "unable to remove"), "the refusal as a notification")
        assert "busybox:latest" in image_names(tui_env)
        # Tag it through the dialog.
        await pick(pilot, app, screen, lambda c: c[:2] == ["busybox", "latest"], "busybox")
        await pilot.press("t")
        await answer(pilot, app, {"target": "tdui-img:one"})
        await until(pilot, lambda: "tdui-img:one" in image_names(tui_env), "the new tag in `images`")
        await until(pilot, lambda: any(r[:2] == ["tdui-img", "one"] for r in table(app, "images")),
                    "the new tag in the list")
        # Run a container from the selected image: the run dialog comes pre-filled with it.
        await pick(pilot, app, screen, lambda c: c[:2] == ["tdui-img", "one"], "tdui-img:one")
        await pilot.press("r")
        from textual.widgets import Input

        dialog = await until(pilot, lambda: front(app, "RunDialog"), "the run dialog")
        await until(pilot, lambda: dialog._images_loaded, "its image list")
        assert dialog.form.image == "tdui-img:one"
        dialog.query_one("#name", Input).value = "fromimage"
        dialog.query_one("#command", Input).value = "sleep 1000"
        await pilot.pause(0.2)
        await pilot.press("ctrl+r")
        await until(pilot, lambda: status(tui_env, "fromimage") == "running", "the container from the image")
        assert tui_env.cli("inspect", "-f", "{{.Config.Image}}", "fromimage").stdout.strip() == "tdui-img:one"
        tui_env.cli("rm", "-f", "fromimage", check=True)
        # Remove the tag: only the name goes, busybox stays.
        await until(pilot, lambda: front(app, "ImagesScreen"), "back on the images screen")
        await pick(pilot, app, screen, lambda c: c[:2] == ["tdui-img", "one"], "tdui-img:one")
        await pilot.press("d")
        await confirm(pilot, app)
        await until(pilot, lambda: "tdui-img:one" not in image_names(tui_env), "the tag removed")
        await until(pilot, lambda: not any(r[0] == "tdui-img" for r in table(app, "images")), "gone from the list")
        assert "busybox:latest" in image_names(tui_env)

    try:
        drive(app, scenario)
    finally:
        tui_env.cli("rmi", "tdui-img:one")


def test_build_shows_its_log_then_layers_and_wasted_space_then_prune(tui_env, tmp_path: Path):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(
        "FROM busybox\n"
        "RUN dd if=/dev/zero of=/big bs=1024 count=300 && echo tdui-build-says-hi\n"
        "RUN echo hello-layers > /greeting && rm /big\n")
    app = make_app(tui_env)

    async def scenario(pilot):  # type: ignore[no-untyped-def]
        from textual.widgets import DataTable, Log, Static, TextArea

        screen = await to_screen(pilot, app, "2", "ImagesScreen")
        await pilot.press("b")
        await answer(pilot, app, {"context": str(ctx), "tag": "tdui-built:1"})
        job = await until(pilot, lambda: front(app, "BuildScreen"), "the build screen")
        await until(pilot, lambda: job.finished, "the build to end", timeout=90)
        assert job.succeeded, str(job.query_one("#transfer-status", Static).render())
        log = "\n".join(job.query_one("#transfer-log", Log).lines)
        assert "Step 3/3" in log and "tdui-build-says-hi" in log and "Successfully tagged" in log
        await pilot.press("escape")
        assert "tdui-built:1" in image_names(tui_env)
        # Its layers, dive-style.
        await pick(pilot, app, screen, lambda c: c[:2] == ["tdui-built", "1"], "the built image in the list")
        await pilot.press("enter")
        layers = await until(pilot, lambda: front(app, "LayersScreen"), "the layers screen")
        await until(pilot, lambda: layers.analysis is not None, "the analysis")
        rows = table(app, "layers")
        assert len(rows) >= 3 and "dd if=/dev/zero" in rows[-2][3] and "hello-layers" in rows[-1][3]
        about = str(layers.query_one("#layers-about", Static).render())
        assert "wasted" in about and "efficiency" in about
        wasted = table(app, "layer-wasted")
        assert any(r[0] == "/big" and r[3] == str(len(rows) - 1) for r in wasted), wasted
        # The last layer: /greeting added, /big deleted.
        lt = layers.query_one("#layers", DataTable)
        lt.focus()
        lt.move_cursor(row=len(rows) - 1)
        await until(pilot, lambda: layers.current == len(rows) - 1, "the last layer selected")
        changes = table(app, "layer-changes")
        assert any(r[0] == "added" and r[1].startswith("/greeting") for r in changes), changes
        assert any(r[0] == "deleted" and r[1].startswith("/big") for r in changes), changes
        # A file's contents.
        ct = layers.query_one("#layer-changes", DataTable)
        ct.focus()
        ct.move_cursor(row=next(i for i, r in enumerate(changes) if r[1].startswith("/greeting")))
        await pilot.press("enter")
        await until(pilot, lambda: "hello-layers" in layers.query_one("#file-content", TextArea).text,
                    "the file's contents")
        # The tree up to the layer below has /big, and not /greeting.
        lt.focus()
        lt.move_cursor(row=len(rows) - 2)
        await pilot.press("t")
        await until(pilot, lambda: layers.tree_entries and layers.tree_layer == len(rows) - 2, "the tree")
        paths = {e.path for e in layers.tree_entries}
        assert "/big" in paths and "/greeting" not in paths and "/bin/sh" in paths
        await pilot.press("escape")
        await until(pilot, lambda: front(app, "ImagesScreen"), "back on the images")
        # Untag it: its image becomes dangling, and prune removes it.
        image_id = tui_env.cli("images", "-q", "tdui-built:1", check=True).stdout.strip()
        tui_env.cli("tag", "tdui-built:1", "tdui-built:keep", check=True)
        tui_env.cli("rmi", "tdui-built:1", "tdui-built:keep", check=True)
        await pilot.press("P")
        await confirm(pilot, app)
        await until(pilot, lambda: notified(app, "reclaimed"), "prune's report")
        assert image_id and image_id not in tui_env.cli("images", "-a", "-q").stdout

    try:
        drive(app, scenario)
    finally:
        tui_env.cli("rmi", "-f", "tdui-built:1")


def test_escape_cancels_a_build_during_a_long_run_and_nothing_is_left(tui_env, tmp_path: Path):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM busybox\nRUN echo tdui-cancel-me; sleep 30\nRUN echo never-here\n")
    before = sorted(tui_env.cli("images", "-aq", check=True).stdout.split())
    app = make_app(tui_env)

    async def scenario(pilot):  # type: ignore[no-untyped-def]
        from textual.widgets import Log, Static

        await to_screen(pilot, app, "2", "ImagesScreen")
        await pilot.press("b")
        await answer(pilot, app, {"context": str(ctx), "tag": "tdui-cancel:1"})
        job = await until(pilot, lambda: front(app, "BuildScreen"), "the build screen")

        def log() -> list[str]:
            return list(job.query_one("#transfer-log", Log).lines)

        await until(pilot, lambda: "tdui-cancel-me" in log(), "the RUN's output", timeout=60)
        cid = next(line.split()[-1] for line in log() if line.startswith(" ---> Running in"))
        assert status(tui_env, cid) == "running"
        await pilot.press("escape")
        # Bounded well below the 30 s the RUN sleeps: a cancel that only waited for the step would fail here.
        await until(pilot, lambda: job.finished, "the build to stop after escape", timeout=15)
        assert not job.succeeded
        assert "cancelled" in str(job.query_one("#transfer-status", Static).render())
        # App.notify posts a message: the toast is added on the app's next turn, not when ``finished`` is set.
        await until(pilot, lambda: notified(app, "build tdui-cancel:1: cancelled"), "the cancel's notification")
        assert f"Removing intermediate container {cid}" in log() and "never-here" not in "\n".join(log())
        # Nothing of the cancelled step: no container, no image, nothing on the machine.
        assert tui_env.cli("ps", "-aq", check=True).stdout == ""
        assert sorted(tui_env.cli("images", "-aq", check=True).stdout.split()) == before
        assert tui_env.leftovers() == []
        await pilot.press("escape")  # a finished job's screen closes
        await until(pilot, lambda: front(app, "ImagesScreen"), "back on the images")

    drive(app, scenario)


def test_volumes_create_refuse_remove_prune_and_browse(tui_env):
    # An anonymous volume left behind by a removed container: what prune is for.
    tui_env.cli("create", "--name", "anonmaker", "-v", "/anon", "busybox", "true", check=True)
    anonymous = tui_env.cli("inspect", "-f", "{{range .Mounts}}{{.Name}}{{end}}", "anonmaker",
                            check=True).stdout.strip()
    tui_env.cli("rm", "anonmaker", check=True)
    app = make_app(tui_env)

    def volumes():  # type: ignore[no-untyped-def]
        return tui_env.cli("volume", "ls", "-q", check=True).stdout.split()

    async def scenario(pilot):  # type: ignore[no-untyped-def]
        screen = await to_screen(pilot, app, "3", "VolumesScreen")
        await pilot.press("c")
        await answer(pilot, app, {"name": "tdui-vol"})
        await until(pilot, lambda: "tdui-vol" in volumes(), "tdui-vol in `volume ls`")
        row = await until(pilot, lambda: next((r for r in table(app, "volumes") if r[0] == "tdui-vol"), None),
                          "tdui-vol in the list")
        assert row[3].endswith("/tdui-vol/_data")
        tui_env.cli("run", "--name", "voluser", "-v", "tdui-vol:/data", "busybox", "sh", "-c",
                    "mkdir /data/sub && echo hello-volume > /data/sub/greet", check=True)
        await until(pilot, lambda: next(r for r in table(app, "volumes") if r[0] == "tdui-vol")[2] == "voluser:/data",
                    "its user shown")
        # In use: refused, with the reason.
        await pick(pilot, app, screen, lambda c: c[0] == "tdui-vol", "tdui-vol")
        await pilot.press("d")
        await until(pilot, lambda: notified(app, "in use by container voluser"), "the refusal with the reason")
        assert front(app, "VolumesScreen") and "tdui-vol" in volumes()
        # Browse it.
        await pilot.press("enter")
        files = await until(pilot, lambda: front(app, "VolumeFilesScreen"), "the files screen")
        await until(pilot, lambda: "sub" in files.files, "sub/ listed")
        from textual.widgets import DataTable, TextArea

        t = files.query_one("#vol-files", DataTable)
        t.move_cursor(row=t.get_row_index("sub"))
        await pilot.press("enter")
        await until(pilot, lambda: files.path == "sub" and "greet" in files.files, "sub opened")
        t.move_cursor(row=t.get_row_index("greet"))
        await pilot.press("enter")
        await until(pilot, lambda: "hello-volume" in files.query_one("#vol-content", TextArea).text, "the file")
        await pilot.press("escape")
        await until(pilot, lambda: front(app, "VolumesScreen"), "back on the volumes")
        # Unused now: removed after the confirmation.
        tui_env.cli("rm", "voluser", check=True)
        await until(pilot, lambda: next(r for r in table(app, "volumes") if r[0] == "tdui-vol")[2] == "-",
                    "no user shown")
        await pick(pilot, app, screen, lambda c: c[0] == "tdui-vol", "tdui-vol")
        await pilot.press("d")
        await confirm(pilot, app)
        await until(pilot, lambda: "tdui-vol" not in volumes(), "tdui-vol gone from `volume ls`")
        await until(pilot, lambda: all(r[0] != "tdui-vol" for r in table(app, "volumes")), "and from the list")
        # Prune takes the unused anonymous one.
        assert anonymous in volumes()
        await pilot.press("P")
        await confirm(pilot, app)
        await until(pilot, lambda: anonymous not in volumes(), "the anonymous volume pruned")

    try:
        drive(app, scenario)
    finally:
        tui_env.cli("rm", "-f", "voluser")
        tui_env.cli("volume", "rm", "-f", "tdui-vol", anonymous)


def test_networks_create_show_members_and_remove(tui_env):
    app = make_app(tui_env)

    def networks():  # type: ignore[no-untyped-def]
        return tui_env.cli("network", "ls", "--format", "{{.Name}}", check=True).stdout.split()

    async def scenario(pilot):  # type: ignore[no-untyped-def]
        screen = await to_screen(pilot, app, "4", "NetworksScreen")
        await pilot.press("c")
        await answer(pilot, app, {"name": "tdui-net", "subnet": "10.213.77.0/24"})
        await until(pilot, lambda: "tdui-net" in networks(), "tdui-net in `network ls`")
        row = await until(pilot, lambda: next((r for r in table(app, "networks") if r[1] == "tdui-net"), None),
                          "tdui-net in the list")
        assert row[3] == "10.213.77.0/24" and row[4] == "10.213.77.1"
        tui_env.cli("run", "-d", "--name", "netmember", "--network", "tdui-net", "busybox", "sleep", "1000",
                    check=True)
        ip = tui_env.cli("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
                         "netmember", check=True).stdout.strip()
        assert ip.startswith("10.213.77.")
        await until(pilot, lambda: f"netmember {ip}" in next(r for r in table(app, "networks")
                                                             if r[1] == "tdui-net")[6], "the member and its address")
        # In use: the engine refuses, the network stays.
        await pick(pilot, app, screen, lambda c: c[1] == "tdui-net", "tdui-net")
        await pilot.press("d")
        await confirm(pilot, app)
        await until(pilot, lambda: notified(app, "in use"), "the refusal")
        assert "tdui-net" in networks()
        tui_env.cli("rm", "-f", "netmember", check=True)
        await pick(pilot, app, screen, lambda c: c[1] == "tdui-net" and c[6] == "-", "tdui-net without members")
        await pilot.press("d")
        await confirm(pilot, app)
        await until(pilot, lambda: "tdui-net" not in networks(), "tdui-net gone from `network ls`")
        await until(pilot, lambda: all(r[1] != "tdui-net" for r in table(app, "networks")), "and from the list")
        # Prune takes an unused user network and leaves the predefined ones.
        tui_env.cli("network", "create", "--subnet", "10.213.78.0/24", "tdui-net2", check=True)
        await until(pilot, lambda: any(r[1] == "tdui-net2" for r in table(app, "networks")), "tdui-net2 listed")
        await pilot.press("P")
        await confirm(pilot, app)
        await until(pilot, lambda: "tdui-net2" not in networks(), "tdui-net2 pruned")
        assert {"bridge", "host", "none"} <= set(networks())

    try:
        drive(app, scenario)
    finally:
        tui_env.cli("rm", "-f", "netmember")
        tui_env.cli("network", "rm", "tdui-net")
        tui_env.cli("network", "rm", "tdui-net2")


def test_a_pull_from_a_registry_that_never_answers_is_cancelled_with_escape(tui_env):
    # A listening socket that never answers: the pull stalls in its first read until cancelled.
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    port = server.getsockname()[1]
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                pass

    threading.Thread(target=accept, daemon=True).start()
    app = make_app(tui_env)

    async def scenario(pilot):  # type: ignore[no-untyped-def]
        await to_screen(pilot, app, "2", "ImagesScreen")
        await pilot.press("p")
        await answer(pilot, app, {"name": f"127.0.0.1:{port}/tdui/stalled:1"})
        job = await until(pilot, lambda: front(app, "PullScreen"), "the pull screen")
        await until(pilot, lambda: held, "the pull connected")
        await pilot.pause(0.3)
        assert not job.finished
        await pilot.press("escape")
        # The pull waits in the TLS handshake of its HTTPS probe; cancel shuts that socket down, so the pull
        # stops at once. The bound is below the 10 s connect timeout: a cancel seen only then fails here.
        await until(pilot, lambda: job.finished, "the pull to stop after escape", timeout=8)
        assert not job.succeeded, job.progress.outcome
        assert "cancelled" in str(job.progress.outcome), job.progress.outcome
        # App.notify posts a message: the toast is added on the app's next turn, not when ``finished`` is set.
        await until(pilot, lambda: notified(app, "cancelled"), "the cancel's notification")
        await pilot.press("escape")
        await until(pilot, lambda: front(app, "ImagesScreen"), "back on the images")

    try:
        drive(app, scenario)
    finally:
        stop.set()
        for s in held:
            s.close()
        server.close()


@pytest.mark.requires("registry")
def test_pull_from_a_local_registry_draws_a_bar_per_layer(tui_env, pushed_image):
    ref = pushed_image.ref
    app = make_app(tui_env)

    async def scenario(pilot):  # type: ignore[no-untyped-def]
        from textual.widgets import Log

        screen = await to_screen(pilot, app, "2", "ImagesScreen")
        await pilot.press("p")
        await answer(pilot, app, {"name": ref})
        job = await until(pilot, lambda: front(app, "PullScreen"), "the pull screen")
        await until(pilot, lambda: job.finished, "the pull to end", timeout=60)
        assert job.succeeded
        assert len(job.bars) == 2  # busybox's layer and the new one
        labels = [str(label.render()) for label, _ in job.bars.values()]
        assert any("Already exists" in t for t in labels) and any("Pull complete" in t for t in labels), labels
        assert all(bar.percentage == 1 for _, bar in job.bars.values())
        assert any("Downloaded newer image" in line for line in job.query_one("#transfer-log", Log).lines)
        await pilot.press("escape")
        await until(pilot, lambda: any(r[0] == pushed_image.repository for r in table(app, "images")),
                    "the pulled image in the list")
        assert screen is app.screen and ref in image_names(tui_env)

    drive(app, scenario)
