"""``tuidock top``: a container's processes, with host PID and container PID side by side."""

from __future__ import annotations

from runtime.engine import processes

from .. import format as fmt
from ..common import engine
from ..options import Command

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

COMMAND = Command("top", "CONTAINER", "Display the running processes of a container", min_args=1, max_args=1)


def execute(values: dict[str, Any], operands: list[str]) -> int:
    eng = engine()
    procs = eng.processes(operands[0])
    rows = [[p.user, str(p.pid), str(p.container_pid), str(p.ppid), processes.format_stime(p.start_epoch),
             processes.format_cpu_time(p.cpu_seconds), p.command] for p in procs]
    print(fmt.table(["UID", "PID", "CONTAINER PID", "PPID", "STIME", "TIME", "CMD"], rows), end="")
    return 0
