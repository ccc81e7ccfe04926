"""/proc/<pid>/mountinfo, parsed into records (proc(5))."""

from __future__ import annotations

from dataclasses import dataclass

from .procfs import PROC


@dataclass(frozen=True)
class MountInfo:
    """One line of /proc/<pid>/mountinfo (proc(5))."""

    mount_id: int
    parent_id: int
    major_minor: str
    root: str
    mount_point: str
    options: tuple[str, ...]
    optional: tuple[str, ...]
    fstype: str
    source: str
    super_options: tuple[str, ...]

    @property
    def read_only(self) -> bool:
        return "ro" in self.options


def _unescape(s: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as octal \040 etc.
    if "\\" not in s:
        return s
    out, i = [], 0
    while i < len(s):
        if s[i] == "\\" and i + 4 <= len(s) and s[i + 1 : i + 4].isdigit():
            out.append(chr(int(s[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def parse_mountinfo(text: str) -> list[MountInfo]:
    mounts = []
    for line in text.splitlines():
        if not line.strip():
            continue
        left, _, right = line.partition(" - ")
        f = left.split()
        r = right.split()
        mounts.append(
            MountInfo(
                mount_id=int(f[0]),
                parent_id=int(f[1]),
                major_minor=f[2],
                root=_unescape(f[3]),
                mount_point=_unescape(f[4]),
                options=tuple(f[5].split(",")),
                optional=tuple(f[6:]),
                fstype=r[0],
                source=_unescape(r[1]) if len(r) > 1 else "",
                super_options=tuple(r[2].split(",")) if len(r) > 2 else (),
            )
        )
    return mounts


def read(pid: int | str = "self", proc: str = PROC) -> list[MountInfo]:
    with open(f"{proc}/{pid}/mountinfo") as f:
        return parse_mountinfo(f.read())
