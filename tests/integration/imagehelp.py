"""Helpers for the image tests: tiny images made by import, and cleaning up what a test made."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator

import pytest


def rootfs_tar(files: dict[str, bytes], dirs: tuple[str, ...] = ()) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for d in dirs:
            ti = tarfile.TarInfo(d)
            ti.type, ti.mode, ti.mtime = tarfile.DIRTYPE, 0o755, 1_700_000_000
            tf.addfile(ti)
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode, ti.mtime = len(data), 0o644, 1_700_000_000
            tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def import_image(env, ref: str, files: dict[str, bytes] | None = None, *changes: str) -> str:
    """A one-layer image made with ``tuidock import``; returns its id."""
    data = rootfs_tar(files or {"hello": ref.encode()})
    args = [x for c in changes for x in ("-c", c)]
    r = env.cli("import", *args, "-", ref, input=data.decode("latin-1"))
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


@pytest.fixture
def own_images(env) -> Iterator[None]:
    """Remove every image (and tag) a test added, pass or fail; busybox and other tests' images stay."""
    eng = env.engine()
    eng.setup()
    before = {i.id: set(i.repo_tags) for i in eng.images.images()}
    yield
    env.remove_all()
    for img in eng.images.images():
        if img.id not in before:
            eng.remove_images([img.id], force=True)
        else:
            for t in set(img.repo_tags) - before[img.id]:
                eng.images.untag(t)
