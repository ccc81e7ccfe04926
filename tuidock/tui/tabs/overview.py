"""Overview: what ``inspect`` says, readable: image, command, times, state, limits, mounts, network."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from runtime.engine.model import ContainerInfo

from ...cli.format import bytes_size, command_text, human_duration
from ..backend import Snapshot
from .. import view
from .base import DetailTab


def _when(ns: int, now: float) -> str:
    if not ns:
        return "-"
    return f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(ns / 1e9))} ({human_duration(now - ns / 1e9)} ago)"


def facts(info: ContainerInfo, now: float) -> list[tuple[str, list[tuple[str, str | Text]]]]:
    """The overview as sections of (label, value) pairs."""
    rec, st = info.record, info.state
    cfg, host, res = rec.config, rec.host, rec.host.resources
    state: list[tuple[str, str | Text]] = [("Status", view.status_cell(info, now))]
    if st is not None:
        state += [("PID (host)", str(info.pid) if info.pid else "-"),
                  ("Started", _when(st.started_ns, now)),
                  ("Finished", _when(st.finished_ns, now) if not info.status.is_up() else "-"),
                  ("Exit code", "-" if st.exit_code is None else str(st.exit_code)),
                  ("OOM killed", "yes" if st.oom_killed else "no"),
                  ("Restarts", str(st.restart_count))]
        if st.error:
            state.append(("Error", Text(st.error, style="red")))
    limits = [("Memory", bytes_size(res.memory) if res.memory else "unlimited"),
              ("CPUs", f"{res.cpus:g}" if res.cpus else "unlimited"),
              ("CPU shares", str(res.cpu_shares) if res.cpu_shares else "default"),
              ("Cpuset", res.cpuset_cpus or "all"),
              ("Pids", str(res.pids_limit) if res.pids_limit and res.pids_limit > 0 else "unlimited")]
    mounts: list[tuple[str, str | Text]] = [
        (m.target, f"{m.type} {m.source or '(anonymous)' if m.type != 'tmpfs' else ','.join(m.options) or 'tmpfs'}"
                   f"{' ro' if m.read_only else ''}") for m in host.mounts] or [("", "none")]
    return [
        ("Container", [("ID", rec.id), ("Name", rec.name), ("Image", f"{cfg.image} ({rec.image_id[7:19]})"),
                       ("Command", command_text(cfg.entrypoint + cfg.cmd, trunc=False)),
                       ("Created", _when(rec.created_ns, now)),
                       ("Hostname", cfg.hostname), ("User", cfg.user or "root"),
                       ("Working dir", cfg.working_dir or "/"), ("TTY / stdin", f"{cfg.tty} / {cfg.open_stdin}"),
                       ("Restart policy", host.restart.name + (f":{host.restart.max_retries}"
                                                               if host.restart.max_retries else "")),
                       ("Auto remove", str(host.auto_remove)), ("Init", str(host.init)),
                       ("Read-only root", str(host.read_only))]),
        ("State", state),
        ("Limits", list(limits)),
        ("Mounts", mounts),
        ("Environment", [(e.partition("=")[0], e.partition("=")[2]) for e in cfg.env]),
        ("Labels", [(k, v) for k, v in sorted(cfg.labels.items())] or [("", "none")]),
    ]


def network_facts(settings: dict[str, Any]) -> list[tuple[str, str | Text]]:
    ports = settings.get("Ports") or {}
    published = ", ".join(f"{b['HostIp']}:{b['HostPort']}->{p}" for p, bs in ports.items() for b in bs or ()) \
        or ", ".join(ports) or "none"
    return [("IP address", settings.get("IPAddress") or "-"), ("Gateway", settings.get("Gateway") or "-"),
            ("MAC address", settings.get("MacAddress") or "-"), ("Ports", published),
            ("Namespace", settings.get("SandboxKey") or "-")]


class OverviewTab(DetailTab):
    """The container at a glance."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._key: object = None
        self._network: list[tuple[str, str | Text]] = []

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(id="overview-text")

    def show(self, info: ContainerInfo, snap: Snapshot) -> None:
        key = (info.status, info.state.started_ns if info.state else 0, info.record)
        if key != self._key:
            self._key = key
            self.load(lambda: self.backend.engine.inspect_container(info.id), self._got)
        self._draw(info, snap.taken)

    def _got(self, inspected: dict[str, Any]) -> None:
        self._network = network_facts(inspected.get("NetworkSettings") or {})

    def _draw(self, info: ContainerInfo, now: float) -> None:
        parts = []
        for title, rows in [*facts(info, now), ("Network", self._network or [("", "…")])]:
            t = Table(box=None, show_header=False, padding=(0, 1), title=Text(title, style="bold"),
                      title_justify="left")
            t.add_column(style="cyan", no_wrap=True, min_width=16)
            t.add_column(overflow="fold")
            for k, v in rows:
                t.add_row(k, v)
            parts.append(t)
        self.query_one("#overview-text", Static).update(Group(*parts))
