"""``tuidock stats``: docker's live table of CPU, memory, network, block I/O and pids per container.

The figures come from :meth:`Engine.stats` (one batch over every container's
cgroup files). Streaming redraws the table in place about once a second, as
docker does (cursor home, each line cleared to its end, the rest of the
screen cleared), until ctrl-C; ``--no-stream`` prints one table, from two
readings half a second apart so that CPU % has an interval to measure.
"""

from __future__ import annotations

import sys
import time

from .. import format as fmt
from ..common import engine
from ..options import Command, opt

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from runtime.cgroups.stats import ContainerStats
    from runtime.engine.engine import Engine
    from runtime.engine.model import ContainerInfo

COMMAND = Command("stats", "[OPTIONS] [CONTAINER...]", "Display a live stream of container(s) resource usage statistics", [
    opt("-a, --all", help="Show all containers (default shows just running)"),
    opt("--format", kind="str", help="Format output: table, json, table TEMPLATE, or a Go template"),
    opt("--no-stream", help="Disable streaming stats and only pull the first result"),
    opt("--no-trunc", help="Do not truncate output"),
], aliases=("container stats",))

HEADERS = {"Container": "CONTAINER", "ID": "CONTAINER ID", "Name": "NAME", "CPUPerc": "CPU %",
           "MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %", "NetIO": "NET I/O", "BlockIO": "BLOCK I/O",
           "PIDs": "PIDS"}
DEFAULT_FORMAT = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}"
FIRST_INTERVAL = 0.5  # seconds between the two readings of the first table
PERIOD = 1.0  # seconds between tables while streaming

# ANSI, as docker's stats writes them: clear the screen once, then for each
# table go home, clear every line's rest and everything below the table.
CLEAR, HOME, CLEAR_LINE, CLEAR_BELOW = "\033[2J", "\033[H", "\033[K", "\033[J"


def size3(n: float) -> str:
    """Block and network I/O as docker stats prints them: three significant digits ("1.45kB")."""
    return fmt.human_size(n, 3)


def row(given: str, info: ContainerInfo, s: ContainerStats | None, no_trunc: bool) -> dict[str, str]:
    """One container's cells, keyed as docker's template fields (and in the order of its JSON)."""
    cid = info.id if no_trunc else info.record.short_id
    if s is None:  # not running: docker shows dashes
        cells = {"BlockIO": "--", "CPUPerc": "--", "MemPerc": "--", "MemUsage": "-- / --", "NetIO": "--", "PIDs": "--"}
    else:
        net = s.net
        cells = {
            "BlockIO": f"{size3(s.block_io.read_bytes)} / {size3(s.block_io.write_bytes)}",
            "CPUPerc": "--" if s.cpu.percent is None else f"{s.cpu.percent:.2f}%",
            "MemPerc": f"{s.memory.percent:.2f}%",
            "MemUsage": f"{fmt.bytes_size(s.memory.usage)} / {fmt.bytes_size(s.memory.limit)}",
            "NetIO": f"{size3(net.rx_bytes)} / {size3(net.tx_bytes)}" if net else "0B / 0B",
            "PIDs": str(s.pids.current),
        }
    return {"BlockIO": cells["BlockIO"], "CPUPerc": cells["CPUPerc"], "Container": given or cid, "ID": cid,
            "MemPerc": cells["MemPerc"], "MemUsage": cells["MemUsage"], "Name": info.name, "NetIO": cells["NetIO"],
            "PIDs": cells["PIDs"]}


def render(form: str, rows: list[dict[str, str]]) -> str:
    return fmt.format_rows(form or DEFAULT_FORMAT, rows, HEADERS)


def _infos(eng: Engine, refs: list[str], show_all: bool) -> list[tuple[str, ContainerInfo]]:
    if refs:
        return [(r, eng.get(r)) for r in refs]
    return [("", i) for i in eng.containers(all=show_all)]


def table(eng: Engine, refs: list[str], values: dict[str, Any], interval: float = 0.0) -> str:
    infos = _infos(eng, refs, values["all"])
    by_id = {s.id: s for s in eng.stats(infos=[i for _, i in infos], interval=interval)}
    return render(values["format"], [row(g, i, by_id.get(i.id), values["no_trunc"]) for g, i in infos])


def execute(values: dict[str, Any], operands: list[str]) -> int:
    eng = engine()
    if values["no_stream"]:
        sys.stdout.write(table(eng, operands, values, interval=FIRST_INTERVAL))
        return 0
    out = sys.stdout
    eng.stats(infos=[i for _, i in _infos(eng, operands, values["all"])])  # the first reading, for CPU %
    time.sleep(FIRST_INTERVAL)
    out.write(CLEAR)
    while True:
        started = time.monotonic()
        text = table(eng, operands, values)
        out.write(HOME + "".join(line + CLEAR_LINE + "\n" for line in text.splitlines()) + CLEAR_BELOW)
        out.flush()
        time.sleep(max(0.0, PERIOD - (time.monotonic() - started)))
