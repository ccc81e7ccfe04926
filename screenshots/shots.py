"""What the screenshot scripts share: a throwaway state root, the CLI on it, the app on it, and the clean-up."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
# Their own cgroup parent, bridge and subnet, so nothing of the user's is touched.
ENV = {"TUIDOCK_CGROUP_PARENT": "/tuidock-screenshots", "TUIDOCK_BRIDGE": "tdshot0",
       "TUIDOCK_SUBNET": "10.231.77.0/24"}
SETTINGS = {"detach_keys": "ctrl-p,ctrl-q", "refresh_interval": 1.0, "theme": "textual-dark", "keys": {}}


def cli(root: str, *args: str, ok: tuple[int, ...] = (0,)) -> str:
    """``tuidock ARGS`` on the throwaway root; an unexpected exit code ends the script with its message."""
    out = subprocess.run([sys.executable, "-m", "tuidock", "--root", root, *args], capture_output=True,
                         text=True, env={**os.environ, **ENV})
    if out.returncode not in ok:
        raise SystemExit(f"{os.path.basename(sys.argv[0])}: tuidock {' '.join(args)}: {out.stderr.strip()}")
    return out.stdout.strip()


@contextlib.contextmanager
def throwaway_root() -> Iterator[tuple[str, str]]:
    """(root, scratch directory); afterwards every container, network and cgroup made there is gone."""
    if os.geteuid() != 0:
        raise SystemExit(f"{os.path.basename(sys.argv[0])}: run as root (it starts real containers)")
    base = tempfile.mkdtemp(prefix="tuidock-shots-")
    root = os.path.join(base, "root")
    os.environ.update(ENV)
    try:
        yield root, base
    finally:
        ids = cli(root, "ps", "-aq", ok=(0, 125)).split()
        if ids:
            cli(root, "rm", "-f", "-v", *ids, ok=(0, 125))
        cli(root, "system", "prune", "-a", "-f", ok=(0, 125))  # unused networks and their bridges too
        shutil.rmtree(base, ignore_errors=True)
        parent = ENV["TUIDOCK_CGROUP_PARENT"].strip("/")
        for d in [os.path.join("/sys/fs/cgroup", h, parent) for h in ["", *os.listdir("/sys/fs/cgroup")]]:
            if os.path.isdir(d):
                os.rmdir(d)  # empty now: every container's cgroup went with it


def app_on(root: str) -> tuple[Any, Callable[[str], None]]:
    """The real app on ``root``, and a function that saves it as ``screenshots/NAME.svg``."""
    from runtime.engine.engine import Engine
    from tuidock.tui.app import TuidockApp

    app = TuidockApp(Engine(root, ENV["TUIDOCK_CGROUP_PARENT"]), settings=dict(SETTINGS))

    def save(name: str) -> None:
        app.save_screenshot(os.path.join(HERE, f"{name}.svg"))
        print(f"screenshots/{name}.svg")

    return app, save
