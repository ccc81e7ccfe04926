"""Mounts: every mount the container sees (its mountinfo), with volumes, binds and tmpfs named and traced to the host."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import DataTable, Static

from runtime import mountinfo
from runtime.engine.model import ContainerInfo, MountSpec

from ..backend import Snapshot
from .base import DetailTab

COLUMNS = ("TARGET", "KIND", "HOST SOURCE", "FSTYPE", "OPTIONS", "RW")


@dataclass(frozen=True)
class MountRow:
    target: str
    kind: str  # volume, bind, tmpfs, root (overlay), system (proc, sysfs, devpts, ...), file (hosts, resolv.conf)
    source: str
    fstype: str
    options: str
    read_only: bool


def classify(mounts: list[mountinfo.MountInfo], specs: tuple[MountSpec, ...],
             volume_dir: Any, container_dir: str) -> list[MountRow]:
    """Name each mount the container sees by what asked for it; ``volume_dir(name)`` gives a volume's data dir."""
    by_target = {s.target.rstrip("/") or "/": s for s in specs}
    rows = []
    for m in mounts:
        spec = by_target.get(m.mount_point)
        if m.mount_point == "/" and m.fstype == "overlay":
            kind, source = "root", "overlay: image layers + init + upper"
        elif spec is not None and spec.type == "volume":
            kind, source = "volume", f"{spec.source or '(anonymous)'} → {volume_dir(spec.source)}"
        elif spec is not None and spec.type == "bind":
            kind, source = "bind", spec.source
        elif spec is not None and spec.type == "tmpfs":
            kind, source = "tmpfs", "memory"
        elif m.mount_point in ("/etc/hosts", "/etc/hostname", "/etc/resolv.conf"):
            kind, source = "file", os.path.join(container_dir, os.path.basename(m.mount_point))
        else:
            kind, source = "system", m.source
        rows.append(MountRow(m.mount_point, kind, source, m.fstype, ",".join(m.options + m.super_options),
                             m.read_only))
    return rows


STYLE = {"volume": "bold cyan", "bind": "bold yellow", "tmpfs": "bold magenta", "root": "bold green"}


class MountsTab(DetailTab):
    """Read from ``/proc/<pid>/mountinfo`` of PID 1 while it runs; the configured mounts otherwise."""

    def compose(self) -> ComposeResult:
        table: DataTable[Any] = DataTable(id="mount-table", cursor_type="row", zebra_stripes=True)
        table.add_columns(*COLUMNS)
        yield table
        yield Static("", id="mountnote")

    def show(self, info: ContainerInfo, snap: Snapshot) -> None:
        engine = self.backend.engine
        specs = info.record.host.mounts

        def volume_dir(name: str) -> str:
            try:
                return engine.volume(name).mountpoint if name else "?"
            except Exception:
                return "(removed)"

        def read() -> tuple[list[MountRow], str]:
            if info.pid:
                rows = classify(mountinfo.read(info.pid), specs, volume_dir, engine.paths(info.id).dir)
                return rows, (f" {len(rows)} mounts in the container's mount namespace (/proc/{info.pid}/mountinfo);"
                              " none of them is in the host's mount table")
            rows = [MountRow(s.target, s.type, s.source if s.type != "volume" else
                             f"{s.source or '(anonymous)'} → {volume_dir(s.source)}", s.type if s.type == "tmpfs"
                             else "-", ",".join(s.options), s.read_only) for s in specs]
            return rows, f" {info.name} is {info.status.value}: its configured mounts"

        self.load(read, self._show, group="mounts")

    def _show(self, result: tuple[list[MountRow], str]) -> None:
        rows, note = result
        table = self.query_one("#mount-table", DataTable)
        cursor = table.cursor_row
        table.clear()
        for r in rows:
            table.add_row(r.target, Text(r.kind, style=STYLE.get(r.kind, "dim")), r.source, r.fstype, r.options,
                          Text("ro", style="yellow") if r.read_only else "rw")
        if rows:
            table.move_cursor(row=min(cursor, len(rows) - 1), animate=False)
        self.query_one("#mountnote", Static).update(note)
