"""What the engine does around a container's life, run in workers of its monitor.

The restart policy decides whether an exit is followed by a restart (the
monitor applies docker's back-off: 100 ms doubling up to a minute, reset
after ten seconds of running), and ``--rm`` removes the container once its
monitor is done. Both happen even when no tuidock command is running.
The container's network is joined before PID 1 executes and left when it has
exited (:mod:`runtime.engine.networking`).
"""

from __future__ import annotations

from typing import Any

from ..container import NoHooks
from ..state import State


class EngineHooks(NoHooks):
    def __init__(self, request: dict[str, Any]) -> None:
        from .engine import Engine

        self.engine = Engine(request["root"], request.get("cgroup_parent"))
        self.id: str = request["id"]

    def prestart(self, request: dict[str, Any], pid: int) -> list[int]:
        from . import networking

        return networking.prestart(self.engine, request, pid)

    def poststop(self, request: dict[str, Any]) -> None:
        from . import networking

        networking.poststop(self.engine, request)

    def should_restart(self, request: dict[str, Any], st: State) -> bool:
        rec = self.engine.record(self.id)
        return rec.host.restart.should_restart(st.exit_code or 0, st.restart_count, st.stop_requested)

    def finalize(self, request: dict[str, Any], st: State) -> None:
        rec = self.engine.record(self.id)
        if rec.host.auto_remove:
            self.engine.remove_after_exit(self.id)
