"""Helpers for pilot tests: they drive the real app (Textual's headless driver) against a real engine on the test's own root."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest



SETTINGS = {"detach_keys": "ctrl-p,ctrl-q", "refresh_interval": 0.3, "theme": "textual-dark", "keys": {}}


@pytest.fixture
def tui_env(env: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """``env``, with this process's environment pointing at it too (the app's engine starts the fork server)."""
    for key in ("TUIDOCK_ROOT", "TUIDOCK_CGROUP_PARENT", "TUIDOCK_BRIDGE", "TUIDOCK_SUBNET"):
        if key in env.env:
            monkeypatch.setenv(key, env.env[key])
    yield env


def make_app(env: Any, **kwargs: Any) -> Any:
    from tuidock.tui.app import TuidockApp

    return TuidockApp(env.engine(), settings=dict(SETTINGS), **kwargs)


def drive(app: Any, scenario: Callable[[Any], Awaitable[None]], size: tuple[int, int] = (150, 45)) -> None:
    """Run ``scenario(pilot)`` against ``app`` headless; an exception inside fails the test."""

    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await scenario(pilot)

    asyncio.run(main())


async def until(pilot: Any, predicate: Callable[[], Any], what: str, timeout: float = 15.0) -> Any:
    """Let the app run until ``predicate()`` is true (bounded)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.1)


async def burst(pilot: Any, *keys: str) -> None:
    """Keys as a terminal delivers fast typing or a paste: all queued before the app handles the first.

    ``pilot.press`` waits for the app to go idle after every key (20 ms at
    least), which hides bugs where a key lands on the widget that had the
    focus before the previous key moved it.
    """
    from textual import events
    from textual.keys import _character_to_key

    app = pilot.app
    for key in keys:
        # A character stands for itself ("/", "-", " "); longer names are keys ("enter", "escape").
        char = key if len(key) == 1 else (" " if key == "space" else None)
        if len(key) == 1 and not key.isalnum():
            key = _character_to_key(key)
        event = events.Key(key, char)
        event.set_sender(app)
        app.post_message(event)
    await pilot.pause()


def status(env: Any, name: str) -> str:
    return env.cli("inspect", "-f", "{{.State.Status}}", name).stdout.strip()


def pid_alive(pid: int) -> bool:
    return os.path.exists(f"/proc/{pid}")
