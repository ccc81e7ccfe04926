"""Make the README's screenshots of the images, layers, volumes and networks screens (real engine, throwaway root).

    .venv/bin/python screenshots/make_images.py     # as root; writes screenshots/{images,layers,volumes,networks}.svg

It builds a small image with a wasteful layer, makes volumes and a network,
starts two containers in a fresh root (its own cgroup parent, bridge and
subnet), drives the app headless, saves one SVG per screen, and removes
everything it made.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SIZE = (150, 40)
ENV = {"TUIDOCK_CGROUP_PARENT": "/tuidock-screenshots", "TUIDOCK_BRIDGE": "tdshot0",
       "TUIDOCK_SUBNET": "10.231.77.0/24"}
DOCKERFILE = """FROM busybox
RUN mkdir -p /app && echo 'echo serving' > /app/run.sh && dd if=/dev/zero of=/app/cache.bin bs=1024 count=2048
RUN echo 'v2' > /app/VERSION && rm /app/cache.bin
CMD ["sh", "/app/run.sh"]
"""


def cli(root: str, *args: str, ok: tuple[int, ...] = (0,)) -> str:
    out = subprocess.run([sys.executable, "-m", "tuidock", "--root", root, *args], capture_output=True,
                         text=True, env={**os.environ, **ENV})
    if out.returncode not in ok:
        raise SystemExit(f"screenshots/make_images.py: tuidock {' '.join(args)}: {out.stderr.strip()}")
    return out.stdout.strip()


def setup(root: str, base: str) -> None:
    ctx = os.path.join(base, "ctx")
    os.makedirs(ctx)
    with open(os.path.join(ctx, "Dockerfile"), "w") as f:
        f.write(DOCKERFILE)
    cli(root, "build", "-t", "shop/api:2.1", ctx)
    cli(root, "tag", "shop/api:2.1", "shop/api:latest")
    cli(root, "network", "create", "--subnet", "10.231.78.0/24", "backend")
    cli(root, "volume", "create", "pgdata")
    cli(root, "volume", "create", "uploads")
    cli(root, "run", "-d", "--name", "api", "--network", "backend", "-v", "uploads:/srv/uploads", "shop/api:2.1",
        "sh", "-c", "echo hello > /srv/uploads/readme.txt; sleep 100000")
    cli(root, "run", "-d", "--name", "db", "--network", "backend", "-v", "pgdata:/var/lib/db", "busybox", "sh", "-c",
        "head -c 3000000 /dev/urandom > /var/lib/db/base.dat; sleep 100000")
    cli(root, "create", "--name", "web", "-v", "/cache", "busybox", "httpd", "-f")


async def shoot(root: str) -> None:
    from runtime.engine.engine import Engine
    from tuidock.tui.app import TuidockApp

    settings = {"detach_keys": "ctrl-p,ctrl-q", "refresh_interval": 1.0, "theme": "textual-dark", "keys": {}}
    app = TuidockApp(Engine(root, ENV["TUIDOCK_CGROUP_PARENT"]), settings=settings)

    def save(name: str) -> None:
        app.save_screenshot(os.path.join(HERE, f"{name}.svg"))
        print(f"screenshots/{name}.svg")

    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(2)
        await pilot.press("2")
        await pilot.pause(2)
        screen = app.screen
        key = next(k for k in screen.cells if k.endswith(" shop/api:2.1"))
        screen.select(key)
        await pilot.pause(0.5)
        save("images")
        await pilot.press("enter")
        await pilot.pause(2)
        await pilot.press("down", "down")
        await pilot.pause(1)
        save("layers")
        await pilot.press("escape")
        await pilot.press("3")
        await pilot.pause(2.5)
        save("volumes")
        await pilot.press("4")
        await pilot.pause(2.5)
        save("networks")


def main() -> int:
    if os.geteuid() != 0:
        sys.stderr.write("screenshots/make_images.py: run as root (it starts real containers)\n")
        return 1
    base = tempfile.mkdtemp(prefix="tuidock-shots-")
    root = os.path.join(base, "root")
    os.environ.update(ENV)
    try:
        setup(root, base)
        asyncio.run(shoot(root))
    finally:
        def run(*args: str) -> None:
            subprocess.run([sys.executable, "-m", "tuidock", "--root", root, *args], capture_output=True,
                           env={**os.environ, **ENV})

        run("rm", "-f", "-v", "api", "db", "web")
        run("network", "rm", "backend")
        run("volume", "rm", "-f", "pgdata", "uploads")
        run("system", "prune", "-a", "-f")
        shutil.rmtree(base, ignore_errors=True)
        parent = ENV["TUIDOCK_CGROUP_PARENT"].strip("/")
        for d in [f"/sys/fs/cgroup/{parent}"] + [os.path.join(f"/sys/fs/cgroup/{h}", parent)
                                                  for h in os.listdir("/sys/fs/cgroup")]:
            if os.path.isdir(d):
                os.rmdir(d)  # empty now: every container's cgroup went with it
    return 0


if __name__ == "__main__":
    sys.exit(main())
