"""Resolve ``-u user[:group]`` against the container's own /etc/passwd and /etc/group."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import InvalidArgument


@dataclass(frozen=True)
class ExecUser:
    uid: int
    gid: int
    groups: tuple[int, ...]
    home: str


def _parse(text: str, fields: int) -> list[list[str]]:
    rows = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split(":")
        if len(parts) >= fields:
            rows.append(parts)
    return rows


def resolve(spec: str, passwd: str, group: str, default_uid: int = 0, default_gid: int = 0) -> ExecUser:
    """Resolve ``name``, ``uid``, ``name:group``, ``uid:gid`` as docker does.

    A numeric uid need not exist in /etc/passwd; a name must. Supplementary
    groups are those /etc/group lists the user in (when the user is known).
    """
    users = _parse(passwd, 7)
    groups = _parse(group, 4)
    user_part, _, group_part = spec.partition(":") if spec else ("", "", "")
    uid, gid, home, name = default_uid, default_gid, "/", None
    if user_part:
        row = next((u for u in users if u[0] == user_part), None)
        if row is None and user_part.isdigit():
            row = next((u for u in users if u[2] == user_part), None)
            # A uid the passwd file does not know keeps the default group (docker: gid 0).
            uid = int(user_part)
            gid = int(row[3]) if row else default_gid
        if row is not None:
            name, uid, gid, home = row[0], int(row[2]), int(row[3]), row[5] or "/"
        elif not user_part.isdigit():
            raise InvalidArgument(f"unable to find user {user_part}: no matching entries in passwd file")
    else:
        row = next((u for u in users if u[2] == str(uid)), None)
        if row is not None:
            name, gid, home = row[0], int(row[3]), row[5] or "/"
    if group_part:
        grow = next((g for g in groups if g[0] == group_part), None)
        if grow is not None:
            gid = int(grow[2])
        elif group_part.isdigit():
            gid = int(group_part)
        else:
            raise InvalidArgument(f"unable to find group {group_part}: no matching entries in group file")
    extra: list[int] = []
    if name is not None and not group_part:
        for g in groups:
            if name in g[3].split(",") and int(g[2]) != gid:
                extra.append(int(g[2]))
    return ExecUser(uid, gid, tuple(extra), home)
