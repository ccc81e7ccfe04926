"""Shared test machinery: capability probes for ``@pytest.mark.requires``, and an isolated engine.

Probes check what the process can really do (a child that unshares, the
filesystem type at the cgroup root, a binary on PATH) rather than trusting
uid 0. With ``TUIDOCK_TEST_STRICT=1`` (CI) a failed probe fails the test
instead of skipping it: CI runs as root, so nothing there may be skipped.

Integration tests get their own state root, their own cgroup parent, and a
``cli()`` helper that runs the installed ``tuidock`` against them; whatever a
test leaves running is removed after it, and the session checks at the end
that no mount, cgroup or process of the test root is left on the machine.
"""

from __future__ import annotations

import functools
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
TUIDOCK = str(BIN / "tuidock")
TUIDOCK_RUNTIME = str(BIN / "tuidock-runtime")


def _unshare_probe() -> str | None:
    code = ("from runtime import _sys; "
            "_sys.unshare(_sys.CLONE_NEWNS | _sys.CLONE_NEWPID | _sys.CLONE_NEWNET | _sys.CLONE_NEWUTS)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    return None if r.returncode == 0 else f"cannot unshare namespaces: {r.stderr.strip().splitlines()[-1:]}"


def _cgroup_version() -> int | None:
    try:
        from runtime import cgroups

        return cgroups.layout().version
    except Exception:
        return None


def _which(name: str) -> str | None:
    return None if shutil.which(name) else f"{name} is not installed (./setup.sh --test)"


PROBES = {
    "root": lambda: "not root" if os.geteuid() != 0 else _unshare_probe(),
    "overlay": lambda: None if "overlay" in Path("/proc/filesystems").read_text() else "no overlayfs",
    "cgroup1": lambda: None if _cgroup_version() == 1 else "cgroup v1 is not mounted",
    "cgroup2": lambda: None if _cgroup_version() == 2 else "cgroup v2 (unified) is not mounted",
    "busybox": lambda: None if os.path.exists("/bin/busybox") else "busybox-static is not installed",
    "runc": lambda: _which("runc"),
    "podman": lambda: _which("podman"),
    "skopeo": lambda: _which("skopeo"),
    "registry": lambda: _which("docker-registry"),
    "tmux": lambda: _which("tmux"),
}


@functools.cache
def probe(cap: str) -> str | None:
    """None when the capability is there, else the reason it is not."""
    if cap not in PROBES:
        raise ValueError(f"unknown capability probe {cap!r}")
    return PROBES[cap]()


def pytest_runtest_setup(item: pytest.Item) -> None:
    for mark in item.iter_markers("requires"):
        for cap in mark.args:
            reason = probe(cap)
            if reason:
                if os.environ.get("TUIDOCK_TEST_STRICT") == "1":
                    pytest.fail(f"requires {cap}: {reason} (TUIDOCK_TEST_STRICT=1 forbids skipping)")
                pytest.skip(f"requires {cap}: {reason}")


@dataclass
class Env:
    """An isolated tuidock: its own state root and cgroup parent."""

    root: Path
    cgroup_parent: str
    env: dict[str, str] = field(default_factory=dict)

    def cli(self, *args: str, input: str | bytes | None = None, timeout: float = 60,
            check: bool = False) -> subprocess.CompletedProcess[str]:
        """Run the installed ``tuidock`` against this root."""
        r = subprocess.run([TUIDOCK, *args], env=self.env, capture_output=True, timeout=timeout,
                           text=True, input=input if not isinstance(input, bytes) else input.decode())
        if check and r.returncode != 0:
            raise AssertionError(f"tuidock {' '.join(args)} exited {r.returncode}: {r.stderr}")
        return r

    def engine(self):  # type: ignore[no-untyped-def]
        from runtime.engine.engine import Engine

        return Engine(str(self.root), self.cgroup_parent)

    def cgroup_dirs(self, cid: str = "") -> list[str]:
        """Every directory of this env's cgroup parent (or one container's) that exists."""
        from runtime import cgroups

        lay = cgroups.layout()
        path = self.cgroup_parent + (f"/{cid}" if cid else "")
        if lay.version == 2:
            assert lay.unified
            dirs = [lay.unified + path]
        else:
            dirs = sorted({mp + path for mp in lay.v1.values()})
        return [d for d in dirs if os.path.isdir(d)]

    def remove_all(self) -> list[str]:
        """Force-remove every container; returns the errors (a test's clean-up must not hide them)."""
        eng = self.engine()
        errors = []
        for info in eng.containers():
            try:
                eng.remove(info.id, force=True)
            except Exception as e:
                errors.append(f"rm -f {info.name}: {e!r}")
        return errors

    def leftovers(self) -> list[str]:
        """What the root has left on the machine: mounts, cgroups, processes."""
        out = []
        with open("/proc/self/mountinfo") as f:
            out += [f"mount: {line.strip()}" for line in f if str(self.root) in line]
        for d in self.cgroup_dirs():
            out += [f"cgroup: {os.path.join(d, c)}" for c in os.listdir(d) if os.path.isdir(os.path.join(d, c))]
        servers = set()
        run = self.root / "run"
        for f in run.glob("forkserver-*.pid") if run.is_dir() else []:
            try:
                servers.add(f.read_text().strip())
            except FileNotFoundError:
                pass  # it just exited
        for pid in os.listdir("/proc"):
            if not pid.isdigit() or pid in servers:
                continue
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                comm = Path(f"/proc/{pid}/comm").read_text().strip()
            except OSError:
                continue
            # Monitors are forks of the fork server: its command line, their own name.
            if str(self.root) in cmd and "pytest" not in cmd:
                out.append(f"process {pid} ({comm}): {cmd}")
        return out


def make_env(base: Path) -> Env:
    root = base / "root"
    parent = f"/tuidock-test-{secrets.token_hex(4)}"
    env = {**os.environ, "TUIDOCK_ROOT": str(root), "TUIDOCK_CGROUP_PARENT": parent}
    return Env(root, parent, env)


def teardown_env(e: Env) -> list[str]:
    errors = e.remove_all()
    from runtime import launch

    launch.stop_servers(str(e.root / "run"))
    left = e.leftovers()
    for d in e.cgroup_dirs():
        for _ in range(50):
            try:
                os.rmdir(d)
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.05)
    return errors + left


@pytest.fixture(scope="session")
def tdenv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    """One isolated root shared by a session's integration tests (the busybox image is built once)."""
    e = make_env(tmp_path_factory.mktemp("tuidock"))
    yield e
    left = teardown_env(e)
    assert not left, "the test session left these behind:\n" + "\n".join(left)


@pytest.fixture
def env(tdenv: Env) -> Iterator[Env]:
    """The session's root, emptied of containers after each test, pass or fail."""
    yield tdenv
    errors = tdenv.remove_all()
    assert not errors, "removing the test's containers failed:\n" + "\n".join(errors)
