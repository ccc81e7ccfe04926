"""Make the README's screenshots: the real app, real containers, a throwaway state root.

    .venv/bin/python screenshots/make.py            # as root; writes screenshots/*.svg

It starts a few containers in a fresh root (its own cgroup parent, bridge and
subnet), lets the sampler gather some history, drives the app headless with
Textual's pilot, saves one SVG per screen, and removes everything it made.
"""

from __future__ import annotations

import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from shots import app_on, cli, throwaway_root  # noqa: E402

SIZE = (150, 44)


def containers(root: str) -> None:
    cli(root, "run", "-d", "--name", "web", "--memory", "64m", "--cpus", "0.5", "-p", "18080:80",
        "-v", "webdata:/var/www", "--tmpfs", "/run/cache", "busybox", "sh", "-c",
        "echo '<h1>hello</h1>' > /var/www/index.html; echo started; "
        "i=0; while true; do i=$((i+1)); echo request $i; sleep 0.5; done")
    cli(root, "exec", "web", "sh", "-c", "echo changed >> /etc/motd; rm /etc/group; mkdir -p /srv && echo x > /srv/new")
    cli(root, "run", "-d", "--name", "cruncher", "--cpus", "1.5", "--pids-limit", "64", "busybox", "sh", "-c",
        "while true; do :; done")
    cli(root, "run", "-d", "--name", "hostnet", "--network", "host", "busybox", "sleep", "100000")
    cli(root, "run", "--name", "batch-job", "busybox", "sh", "-c", "echo done; exit 3", ok=(3,))
    cli(root, "create", "--name", "later", "busybox", "true")


async def shoot(root: str) -> None:
    app, save = app_on(root)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(12)  # a dozen samples: trends and plots have something to show
        save("containers")
        screen = app.screen
        table = screen.query_one("#containers")
        names = [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
        table.move_cursor(row=names.index("web"))
        await pilot.press("enter")
        await pilot.pause(2)
        save("overview")
        for key, name in (("2", "stats"), ("3", "namespaces"), ("4", "filesystem"), ("5", "mounts"),
                          ("6", "logs"), ("7", "processes")):
            await pilot.press(key)
            await pilot.pause(2.5)
            if name == "filesystem":
                tree = app.screen.query_one("Tree")
                etc = next((n for n in tree.root.children if str(n.label).startswith("etc")), None)
                if etc is not None:
                    etc.expand()
                    tree.move_cursor(etc)
                    await pilot.pause(1.5)
            save(name)
        await pilot.press("escape")
        await pilot.press("n")
        await pilot.pause(1)
        save("run-dialog")


def main() -> int:
    with throwaway_root() as (root, _):
        containers(root)
        asyncio.run(shoot(root))
    return 0


if __name__ == "__main__":
    sys.exit(main())
