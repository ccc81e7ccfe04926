"""Cancelling a build: from another thread through the engine (the TUI's escape), and Ctrl-C on ``tuidock build``.

A cancel during a long RUN must end the build within seconds, not when the
command ends, and leave nothing of the cancelled step: no container, no
cgroup, no mount, no process, no layer, no image, no staging directory.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from runtime.cancel import Cancel, Cancelled
from runtime.engine.build import BuildEvent, BuildOptions, EventKind

from .cancelhelp import cancel_when_ready
from .imagehelp import own_images  # noqa: F401

pytestmark = [pytest.mark.requires("root", "overlay", "busybox"), pytest.mark.usefixtures("own_images")]

# The marker is printed by the RUN that then sleeps: once it arrives, the container is running.
LONG_RUN = "FROM busybox\nLABEL step=one\nRUN echo cancel-me-now; sleep 30\nRUN echo never-here\n"


def snapshot(env) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """What a build could leave behind, as a user (and the store) would see it."""
    root = Path(env.root)
    return {
        "containers": env.cli("ps", "-aq", check=True).stdout.split(),
        "images": sorted(env.cli("images", "-aq", "--no-trunc", check=True).stdout.split()),
        "layers": sorted(os.listdir(root / "layers")),
        "staging": sorted(os.listdir(root / "tmp")) if (root / "tmp").is_dir() else [],
    }


def assert_nothing_left(env, before: dict[str, object], cid: str) -> None:  # type: ignore[no-untyped-def]
    after = snapshot(env)
    # The LABEL step before the RUN finished: its image stays as cache (as docker's builder keeps it).
    new_images = set(after.pop("images")) - set(before["images"])  # type: ignore[call-overload, arg-type]
    assert len(new_images) <= 1, new_images
    assert after == {k: v for k, v in before.items() if k != "images"}
    assert env.cgroup_dirs(cid) == [], env.cgroup_dirs(cid)
    assert not os.path.exists(Path(env.root) / "containers" / cid)
    assert env.leftovers() == []


def test_cancel_during_a_long_run_ends_the_build_at_once_and_leaves_nothing(env, tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(LONG_RUN)
    eng = env.engine()
    eng.setup()
    before = snapshot(env)
    cancel = Cancel()
    running: list[str] = []
    marker = threading.Event()

    def progress(e: BuildEvent) -> None:
        if e.kind is EventKind.RUNNING:
            running.append(e.text)
        if e.kind is EventKind.OUTPUT and b"cancel-me-now" in e.data:
            marker.set()

    def ready() -> None:
        assert marker.wait(60), "the RUN never started"
        (short,) = running
        cid.append(eng.resolve(short))
        assert env.cli("inspect", "-f", "{{.State.Status}}", cid[0]).stdout.strip() == "running"

    cid: list[str] = []
    outcome, took = cancel_when_ready(
        lambda: eng.build(BuildOptions(context=str(ctx), tags=("buildtest/cancelled:1",), no_cache=True),
                          progress, cancel=cancel), cancel, ready)
    assert isinstance(outcome, Cancelled), outcome
    assert str(outcome) == "build buildtest/cancelled:1: cancelled"
    assert took < 15, took  # well below the 30 s the command sleeps: the cancel ended the step
    assert eng.images.find("buildtest/cancelled:1") is None
    assert_nothing_left(env, before, cid[0])

    # A cancel set before the build starts: not one step runs.
    events: list[BuildEvent] = []
    with pytest.raises(Cancelled):
        eng.build(BuildOptions(context=str(ctx), no_cache=True), events.append, cancel=cancel)
    assert events == []


def test_ctrl_c_on_tuidock_build_cancels_it_and_cleans_up(env, tmp_path: Path) -> None:
    from tests.conftest import TUIDOCK

    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(LONG_RUN)
    env.engine().setup()
    before = snapshot(env)
    # Its own process group, as a shell's foreground job: Ctrl-C is SIGINT to the group.
    proc = subprocess.Popen([TUIDOCK, "build", "--no-cache", "-t", "buildtest/interrupted:1", str(ctx)], env=env.env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    out: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # ends at the marker, or when the build ends (then the asserts below fail)
            out.append(line)
            if line.strip() == "cancel-me-now":  # the RUN's output (its Step line names it too)
                break
        running = [ln.split()[-1] for ln in out if ln.startswith(" ---> Running in")]
        assert running, out
        cid_short = running[0]
        cid = env.cli("inspect", "-f", "{{.Id}} {{.State.Status}}", cid_short, check=True).stdout.split()
        assert cid[1] == "running", cid
        start = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)
        rest, err = proc.communicate(timeout=15)
        took = time.monotonic() - start
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert proc.returncode == 130, (proc.returncode, err)
    assert took < 15, took  # well below the 30 s the RUN sleeps
    assert err.strip().endswith("build buildtest/interrupted:1: cancelled"), err
    assert "Traceback" not in err and "never-here" not in rest and "Successfully" not in rest
    assert f"Removing intermediate container {cid_short}" in rest
    assert env.engine().images.find("buildtest/interrupted:1") is None
    assert_nothing_left(env, before, cid[0])


def test_ctrl_c_on_tuidock_pull_from_a_silent_registry_ends_it_at_once(env, tmp_path: Path) -> None:
    """A registry that accepts and never answers: Ctrl-C ends `tuidock pull` with 130, not after a timeout."""
    import socket

    from tests.conftest import TUIDOCK

    env.engine().setup()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    before = snapshot(env)
    proc = subprocess.Popen([TUIDOCK, "pull", f"127.0.0.1:{port}/silent/img:1"], env=env.env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        conn, _ = listener.accept()  # the pull has connected, and now waits for an answer that never comes
        time.sleep(0.3)
        start = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=15)
        took = time.monotonic() - start
        conn.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        listener.close()
    assert proc.returncode == 130, (proc.returncode, err)
    assert took < 8, took  # below the 10 s a TLS handshake may wait: the interrupt ended it
    assert "cancelled" in err and "Traceback" not in err
    assert env.engine().images.find(f"127.0.0.1:{port}/silent/img:1") is None
    assert snapshot(env) == before
