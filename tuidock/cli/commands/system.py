"""``tuidock system info|df|prune`` (and ``tuidock info``)."""

from __future__ import annotations

import json

from runtime.errors import InvalidArgument

from .. import format as fmt
from ..common import engine
from ..gotemplate import render
from ..options import Command, opt
from .prune import confirm

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

COMMAND = Command("system", "COMMAND", "Manage tuidock: info, df, prune", [
    opt("-f, --force", help="(prune) Do not prompt for confirmation"),
    opt("-a, --all", help="(prune) Remove all unused images, not just dangling ones"),
    opt("--format", kind="str", help="(info) Format the output using a Go template, or json"),
], min_args=1, max_args=1)


def info_text(i: dict[str, Any]) -> str:
    lines = [
        "Server:",
        f" Containers: {i['Containers']}",
        f"  Running: {i['ContainersRunning']}",
        f"  Paused: {i['ContainersPaused']}",
        f"  Stopped: {i['ContainersStopped']}",
        f" Images: {i['Images']}",
        f" Server Version: {i['ServerVersion']}",
        f" Storage Driver: {i['Driver']} (overlayfs; each layer extracted once, shared read-only)",
        f" Logging Driver: {i['LoggingDriver']} (CRI format)",
        f" Cgroup Driver: {i['CgroupDriver']}",
        f" Cgroup Version: {i['CgroupVersion']} ({i['CgroupLayout']})",
        f" Cgroup Parent: {i['CgroupParent']}",
        f" Default Runtime: {i['DefaultRuntime']} (embedded; one monitor per container)",
        f" Kernel Version: {i['KernelVersion']}",
        f" Operating System: {i['OperatingSystem']}",
        f" OSType: {i['OSType']}",
        f" Architecture: {i['Architecture']}",
        f" CPUs: {i['NCPU']}",
        f" Total Memory: {fmt.bytes_size(i['MemTotal'])}",
        f" Root Dir: {i['DockerRootDir']}",
    ]
    return "\n".join(lines) + "\n"


def execute(values: dict[str, Any], operands: list[str]) -> int:
    from runtime.engine import system

    sub = operands[0]
    eng = engine()
    if sub == "info":
        i = system.info(eng)
        if values["format"] == "json":
            print(json.dumps(i))
        elif values["format"]:
            print(render(values["format"], i))
        else:
            print(info_text(i), end="")
    elif sub == "df":
        rows = []
        for u in system.df(eng):
            pct = f" ({u.reclaimable * 100 // u.size}%)" if u.size else ""
            rows.append([u.kind, str(u.total), str(u.active), fmt.human_size(u.size),
                         fmt.human_size(u.reclaimable) + pct])
        print(fmt.table(["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"], rows), end="")
    elif sub == "prune":
        what = "all images without at least one container associated to them" if values["all"] else "all dangling images"
        if not values["force"] and not confirm(
                f"This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n"
                f"  - {what}\n  - unused layers and blobs"):
            return 0
        r = system.prune(eng, all_images=values["all"])
        if r["containers"]:
            print("Deleted Containers:\n" + "\n".join(r["containers"]) + "\n")
        if r["networks"]:
            print("Deleted Networks:\n" + "\n".join(r["networks"]) + "\n")
        if r["images"]:
            print("Deleted Images:\n" + "\n".join("deleted: " + i for i in r["images"]) + "\n")
        print(f"Total reclaimed space: {fmt.human_size(r['reclaimed'])}")
    else:
        raise InvalidArgument(f"unknown system command {sub!r}: info, df or prune")
    return 0
