"""The two layers stay apart, and the container-start path stays thin (checked in fresh interpreters)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"],
                         capture_output=True, text=True, check=True, cwd=REPO).stdout
    return set(out.split())


def test_the_engine_never_imports_the_app():
    mods = modules_after("import runtime.engine.engine, runtime.engine.worker, runtime.monitor, runtime.forkserver, "
                         "runtime.oci.cli, runtime.images.store")
    assert not {m for m in mods if m.split(".")[0] in ("textual", "tuidock")}


def test_import_contracts_hold():
    r = subprocess.run([str(Path(sys.executable).parent / "lint-imports")], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0, r.stdout + r.stderr


def test_run_path_imports_only_what_it_needs():
    # `tuidock run` is part of every container start: no UI, no argparse, and
    # none of the heavier modules the fork server already has loaded.
    mods = modules_after("import tuidock.cli, tuidock.cli.commands.run")
    heavy = {"textual", "argparse", "dataclasses", "typing", "inspect", "subprocess", "runtime.engine.engine",
             "runtime.images.store", "runtime.oci.spec", "pyroute2", "psutil"}
    assert not heavy & mods
