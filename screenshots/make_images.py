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
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from shots import app_on, cli, throwaway_root  # noqa: E402

SIZE = (150, 40)
DOCKERFILE = """FROM busybox
RUN mkdir -p /app && echo 'echo serving' > /app/run.sh && dd if=/dev/zero of=/app/cache.bin bs=1024 count=2048
RUN echo 'v2' > /app/VERSION && rm /app/cache.bin
CMD ["sh", "/app/run.sh"]
"""


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
    app, save = app_on(root)
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
    with throwaway_root() as (root, base):
        setup(root, base)
        asyncio.run(shoot(root))
    return 0


if __name__ == "__main__":
    sys.exit(main())
