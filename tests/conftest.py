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
    "nftables": lambda: _which("nft") or _which("ip"),
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
    own_base: Path | None = None  # a directory made for this env (see make_env), removed with it
    bridge: str = ""  # TUIDOCK_BRIDGE: the default network's bridge, this env's own
    subnet: str = ""  # TUIDOCK_SUBNET: a /24 no other route on the host overlaps

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
            # Hybrid machines also put each cgroup in the (controller-less) v2 tree.
            dirs = sorted({mp + path for mp in lay.v1.values()} | ({lay.unified + path} if lay.unified else set()))
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
        return out + self.network_leftovers()

    def network_leftovers(self, final: bool = False) -> list[str]:
        """What this env's networking left: veths, leases and published ports (and with ``final``, its bridges and tables).

        Read with ``ip`` and ``nft``, as a user would look. The bridges and
        tables persist between containers by design; they must be gone only
        after the session's ``network prune``.
        """
        import json

        from runtime.net.bridge import owner_alias

        alias = owner_alias(str(self.root))
        out: list[str] = []
        for _ in range(40):  # a dead container's veth goes with its namespace, asynchronously
            links = json.loads(subprocess.run(["ip", "-j", "-d", "link", "show"], capture_output=True, text=True,
                                              check=True).stdout)
            veths = [f"veth: {ln['ifname']} ({ln.get('ifalias', '')})" for ln in links
                     if ln.get("ifalias", "").startswith(alias + " ")]
            if not veths:
                break
            time.sleep(0.05)
        out += veths
        bridges = {ln["ifname"] for ln in links if ln.get("ifalias") == alias} | {self.bridge}
        tables = json.loads(subprocess.run(["nft", "-j", "list", "tables"], capture_output=True, text=True,
                                           check=True).stdout)["nftables"]
        ours = [t["table"]["name"] for t in tables if "table" in t and t["table"]["family"] == "ip"
                and t["table"]["name"] in {f"tuidock_{b}" for b in bridges}]
        for name in ours:
            data = json.loads(subprocess.run(["nft", "-j", "list", "table", "ip", name], capture_output=True,
                                             text=True, check=True).stdout)["nftables"]
            out += [f"published port in {name}: {m['map'].get('elem')}" for m in data
                    if "map" in m and m["map"].get("elem")]
        for leases in (self.root / "network").glob("*/leases.json"):
            held = json.loads(leases.read_text()).get("leases") or {}
            out += [f"lease: {v['ip']} for container {k[:12]} ({leases})" for k, v in held.items()]
        if final:
            out += [f"bridge: {b}" for b in sorted(bridges) if os.path.exists(f"/sys/class/net/{b}")]
            out += [f"nft table: ip {t}" for t in ours]
        return out


def make_env(base: Path) -> Env:
    own_base = None
    if _on_overlayfs(base):
        import tempfile

        base = own_base = Path(tempfile.mkdtemp(prefix="tuidock-test-", dir="/dev/shm"))
    root = base / "root"
    parent = f"/tuidock-test-{secrets.token_hex(4)}"
    bridge, subnet = f"tdt{secrets.token_hex(4)}", _free_subnet()
    env = {**os.environ, "TUIDOCK_ROOT": str(root), "TUIDOCK_CGROUP_PARENT": parent,
           "TUIDOCK_BRIDGE": bridge, "TUIDOCK_SUBNET": subnet}
    # Record the default network now (a file, no kernel object), so that an engine made
    # in this process (env.engine(), whose environment has no TUIDOCK_BRIDGE) uses this
    # env's bridge and subnet too, and never the user's tuidock0.
    from runtime.engine.networking import Networks

    Networks(str(root), env).default()
    return Env(root, parent, env, own_base, bridge, subnet)


def _free_subnet() -> str:
    """A random /24 of 10.192.0.0/10 that no route here overlaps (sessions run side by side)."""
    from ipaddress import IPv4Network

    from runtime.net.bridge import host_routes
    from runtime.net.ipam import random_free_subnet

    return str(random_free_subnet(IPv4Network("10.192.0.0/10"), 24, [net for net, _ in host_routes()]))


def _wait_for_servers_to_exit(root: Path, timeout: float = 30.0) -> None:
    """Give the stopped fork servers time to exit (an interpreter's shutdown takes seconds inside cgroup2-vm)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = False
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"runtime.forkserver" in cmd and str(root).encode() in cmd:
                alive = True
                break
        if not alive:
            return
        time.sleep(0.1)


def teardown_env(e: Env) -> list[str]:
    errors = e.remove_all()
    from runtime import launch

    launch.stop_servers(str(e.root / "run"))
    try:  # the session's networks, and the default network's bridge and rules
        e.engine().networks.prune()
    except Exception as ex:
        errors.append(f"network prune: {ex!r}")
    _wait_for_servers_to_exit(e.root)
    left = e.leftovers() + [x for x in e.network_leftovers(final=True) if x.startswith(("bridge:", "nft table:"))]
    for d in e.cgroup_dirs():
        for _ in range(50):
            try:
                os.rmdir(d)
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.05)
    if e.own_base is not None and not left:
        shutil.rmtree(e.own_base, ignore_errors=True)
    return errors + left


def _on_overlayfs(path: Path) -> bool:
    """Whether ``path`` lies on overlayfs, which overlayfs refuses as an upper layer.

    Inside ``cgroup2-vm`` /tmp (and so pytest's tmp_path) is an overlay;
    container roots then need a state root elsewhere (a tmpfs).
    """
    from runtime.mountinfo import parse_mountinfo

    real = os.path.realpath(path)
    best = None
    for m in parse_mountinfo(Path("/proc/self/mountinfo").read_text()):
        if real == m.mount_point or real.startswith(m.mount_point.rstrip("/") + "/"):
            if best is None or len(m.mount_point) >= len(best.mount_point):
                best = m
    return best is not None and best.fstype == "overlay"


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
