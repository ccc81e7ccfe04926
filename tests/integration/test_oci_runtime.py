"""`tuidock-runtime`: runc's verbs on OCI bundles, and the same visible result as runc.

Bundles come from `runc spec` (edited only for args and terminal) over a
busybox root filesystem, as the issue asks.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import TUIDOCK_RUNTIME

pytestmark = pytest.mark.requires("root", "busybox")


@pytest.fixture(scope="module")
def rootfs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from runtime.images import busybox, layers

    tar, _ = busybox.layer_tar()
    root = tmp_path_factory.mktemp("bundle-rootfs") / "rootfs"
    root.mkdir()
    layers.extract(io.BytesIO(tar), str(root))
    return root


def make_bundle(base: Path, rootfs: Path, args: list[str], runc_spec: bool = True) -> Path:
    bundle = base / f"bundle-{secrets.token_hex(3)}"
    bundle.mkdir()
    shutil.copytree(rootfs, bundle / "rootfs", symlinks=True)
    if runc_spec:
        subprocess.run(["runc", "spec"], cwd=bundle, check=True)
    else:
        from runtime.oci.spec import Process, Spec

        (bundle / "config.json").write_text(json.dumps(Spec(Process(args=("sh",))).to_dict()))
    cfg = json.loads((bundle / "config.json").read_text())
    cfg["process"]["args"] = args
    cfg["process"]["terminal"] = False
    (bundle / "config.json").write_text(json.dumps(cfg, indent=1))
    return bundle


def rt(root: Path, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TUIDOCK_RUNTIME, "--root", str(root), *args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def default_parent_dirs() -> list[str]:
    """Where tuidock-runtime puts containers whose bundle names no cgroupsPath (``/tuidock-runtime``)."""
    from runtime import cgroups

    lay = cgroups.layout()
    mounts = set(lay.v1.values()) | ({lay.unified} if lay.unified else set())
    return [m + "/tuidock-runtime" for m in sorted(mounts)]


@pytest.fixture
def rtroot(tmp_path: Path):
    root = tmp_path / "rt-state"
    existed = {d for d in default_parent_dirs() if os.path.isdir(d)}
    yield root
    from runtime import launch

    for name in os.listdir(root) if root.exists() else []:
        if name != "run":
            rt(root, "delete", "--force", name)
    launch.stop_servers(str(root / "run"))
    # runc spec's bundles name no cgroup, so the runtime's default parent is made: remove it if this test made it.
    for d in default_parent_dirs():
        if d not in existed and os.path.isdir(d):
            os.rmdir(d)


CASES = {
    "pid-and-hostname": ["sh", "-c", "echo $$; hostname"],
    "exit-code": ["sh", "-c", "echo bye; exit 3"],
    "capabilities": ["sh", "-c", "grep -E '^Cap(Eff|Bnd|Amb|Inh)' /proc/self/status"],
    "read-only-root": ["sh", "-c", "touch /newfile 2>&1; echo rc=$?"],
    "dev-nodes": ["sh", "-c", "ls /dev | sort"],
    "user-and-cwd": ["sh", "-c", "id -u; id -g; pwd"],
    "masked-and-ro": ["sh", "-c", "wc -c < /proc/timer_list; echo x 2>&1 > /proc/sys/kernel/domainname; echo rc=$?"],
    "environment": ["sh", "-c", "env | grep -v '^PWD=' | sort"],
}


@pytest.mark.requires("runc")
@pytest.mark.parametrize("case", sorted(CASES))
def test_same_result_as_runc(case, rootfs, tmp_path, rtroot):
    bundle = make_bundle(tmp_path, rootfs, CASES[case])
    cid = f"tdt-{secrets.token_hex(4)}"
    runc = subprocess.run(["runc", "--root", str(tmp_path / "runc-state"), "run", "-b", str(bundle), cid],
                          capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    ours = rt(rtroot, "run", "--bundle", str(bundle), cid)
    assert not runc.stderr, runc.stderr
    assert (ours.returncode, ours.stdout) == (runc.returncode, runc.stdout), ours.stderr


def test_create_start_state_kill_delete(rootfs, tmp_path, rtroot):
    bundle = make_bundle(tmp_path, rootfs, ["sleep", "60"], runc_spec=False)
    pidfile = tmp_path / "pid"
    r = rt(rtroot, "create", "--bundle", str(bundle), "--pid-file", str(pidfile), "c1")
    assert r.returncode == 0, r.stderr
    state = json.loads(rt(rtroot, "state", "c1").stdout)
    assert state["status"] == "created" and state["id"] == "c1" and state["bundle"] == str(bundle)
    pid = int(pidfile.read_text())
    assert state["pid"] == pid
    # Created: set up in its namespaces, waiting before execve (still the runtime's process).
    assert os.readlink(f"/proc/{pid}/ns/pid") != os.readlink("/proc/self/ns/pid")
    assert Path(f"/proc/{pid}/comm").read_text().strip() != "sleep"

    assert rt(rtroot, "start", "c1").returncode == 0
    for _ in range(100):
        if Path(f"/proc/{pid}/comm").read_text().strip() == "sleep":
            break
        time.sleep(0.01)
    assert json.loads(rt(rtroot, "state", "c1").stdout)["status"] == "running"
    again = rt(rtroot, "start", "c1")
    assert again.returncode != 0 and "c1" in again.stderr

    refused = rt(rtroot, "delete", "c1")
    assert refused.returncode == 125 and "running" in refused.stderr

    assert rt(rtroot, "kill", "c1", "KILL").returncode == 0
    for _ in range(200):
        if json.loads(rt(rtroot, "state", "c1").stdout)["status"] == "stopped":
            break
        time.sleep(0.02)
    assert json.loads(rt(rtroot, "state", "c1").stdout)["status"] == "stopped"
    assert rt(rtroot, "delete", "c1").returncode == 0
    assert not (rtroot / "c1").exists()
    missing = rt(rtroot, "state", "c1")
    assert missing.returncode == 125 and "c1" in missing.stderr


def test_delete_force_kills_a_running_container(rootfs, tmp_path, rtroot):
    bundle = make_bundle(tmp_path, rootfs, ["sleep", "60"], runc_spec=False)
    assert rt(rtroot, "run", "--detach", "--bundle", str(bundle), "c2").returncode == 0
    pid = json.loads(rt(rtroot, "state", "c2").stdout)["pid"]
    assert rt(rtroot, "delete", "--force", "c2").returncode == 0
    assert not os.path.exists(f"/proc/{pid}") or Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    assert not (rtroot / "c2").exists()


def test_bad_bundle_is_a_one_line_error(tmp_path, rtroot):
    (tmp_path / "empty").mkdir()
    r = rt(rtroot, "run", "--bundle", str(tmp_path / "empty"), "c3")
    assert r.returncode == 125
    assert r.stderr.count("\n") == 1 and "config.json" in r.stderr
    assert not (rtroot / "c3").exists()
