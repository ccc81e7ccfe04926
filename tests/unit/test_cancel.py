"""The cancel switch: set() wakes a thread blocked on a watched socket; Ctrl-C on the CLI becomes set()."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time

import pytest

from runtime.cancel import Cancel, Cancelled


def test_set_wakes_a_thread_blocked_reading_a_watched_socket_and_spares_a_forgotten_one() -> None:
    a, b = socket.socketpair()
    c, d = socket.socketpair()
    cancel = Cancel()
    cancel.watch(a)
    cancel.watch(c)
    cancel.forget(c)
    got: list[bytes] = []
    t = threading.Thread(target=lambda: got.append(a.recv(10)))
    t.start()
    try:
        time.sleep(0.2)
        assert t.is_alive()  # blocked: nothing was sent
        cancel.set()
        t.join(2)
        assert not t.is_alive() and got == [b""]  # end of file, at once
        d.send(b"x")
        assert c.recv(1) == b"x"  # forgotten before set(): still usable
        with pytest.raises(Cancelled, match="^pull x: cancelled$"):
            cancel.check("pull x")
        cancel.watch(d)  # watched after set(): shut down at once
        assert d.recv(1) == b""
    finally:
        for s in (a, b, c, d):
            s.close()


def test_ctrl_c_on_the_cli_sets_the_cancel_and_waits_for_the_job_to_end() -> None:
    from tuidock.cli.common import cancellable

    started = threading.Event()
    seen: list[str] = []

    def job(cancel: Cancel) -> str:
        started.set()
        if not cancel.wait(10):
            return "never cancelled"
        time.sleep(0.3)  # a clean-up after the cancel: the command must wait for it
        seen.append("cleaned up")
        cancel.check("build x")
        return "unreachable"

    def interrupt() -> None:
        started.wait(10)
        time.sleep(0.1)
        os.kill(os.getpid(), signal.SIGINT)  # delivered to the main thread, as a terminal's Ctrl-C

    threading.Thread(target=interrupt, daemon=True).start()
    with pytest.raises(Cancelled, match="build x: cancelled") as e:
        cancellable(job)
    assert seen == ["cleaned up"] and e.value.exit_code == 130
    assert cancellable(lambda cancel: 42) == 42


def test_a_cancel_check_stops_a_layer_extraction_between_reads(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import io
    import tarfile

    from runtime.images import layers

    blob = tmp_path / "layer.tar"
    with tarfile.open(blob, "w") as tf:
        for i in range(40):
            ti = tarfile.TarInfo(f"f{i:02}")
            ti.size, ti.uid, ti.gid = 256 << 10, os.getuid(), os.getgid()
            tf.addfile(ti, io.BytesIO(bytes(ti.size)))
    whole = tmp_path / "whole"
    whole.mkdir()
    layers.extract_blob(str(blob), str(whole), check=lambda: None)
    assert len(os.listdir(whole)) == 40

    cancel = Cancel()
    reads = [0]

    def check() -> None:
        reads[0] += 1
        if reads[0] == 20:
            cancel.set()  # as the UI thread would, in the middle of the layer
        cancel.check("pull x")

    part = tmp_path / "part"
    part.mkdir()
    with pytest.raises(Cancelled):  # as it is: not turned into a "not a valid tar archive" error
        layers.extract_blob(str(blob), str(part), check=check)
    assert 0 < len(os.listdir(part)) < 40  # stopped there, not at the end of the layer
