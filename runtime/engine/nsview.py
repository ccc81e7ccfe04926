"""Which namespaces a container's PID 1 is in, and who else is in each: other containers, the host.

A namespace is a file under ``/proc/<pid>/ns`` whose link reads
``type:[inode]`` (namespaces(7)): two processes are in the same namespace
exactly when their links are equal. Comparing the container's links with
those of the host's PID 1 and of the other containers' PID 1 shows what
``--network host`` shares, and which namespaces tuidock never unshares (the
user and time namespaces stay the host's).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from .. import procfs

HOST_PID = 1


@dataclass(frozen=True)
class NsRow:
    """One namespace of a process."""

    type: str  # "net", "pid_for_children", ...
    link: str  # "net:[4026532301]"
    inode: int
    host: bool  # the host's own (the host's PID 1 is in it)
    shared_with: tuple[str, ...]  # the other containers in it, by name, sorted


def compare(own: Mapping[str, str], host: Mapping[str, str],
            others: Mapping[str, Mapping[str, str]]) -> list[NsRow]:
    """A row per link of ``own`` ({type: link}) in the order of ``procfs.ALL_NS_LINKS`` (unknown types last).

    ``host`` holds the host's links, ``others`` each other container's, by name.
    """
    order = {t: k for k, t in enumerate(procfs.ALL_NS_LINKS)}
    rows = []
    for ns in sorted(own, key=lambda t: (order.get(t, len(order)), t)):
        link = own[ns]
        try:
            inode = procfs.ns_inode(link)
        except ValueError:
            inode = 0
        sharing = tuple(sorted(name for name, links in others.items() if links.get(ns) == link))
        rows.append(NsRow(ns, link, inode, host.get(ns) == link, sharing))
    return rows


def host_links(proc: str = procfs.PROC) -> tuple[dict[str, str], str]:
    """The host's namespaces and whose links they are.

    The host's PID 1 is the reference. Where its links cannot be read (a
    sandbox that denies ptrace access to PID 1, as ``readlink`` needs,
    proc(5)), this process's own stand in for them: tuidock runs in the
    namespaces it creates containers from, which is what ``--network host``
    means.
    """
    links = procfs.ns_links(HOST_PID, proc)
    if links:
        return links, "PID 1"
    return procfs.ns_links(os.getpid(), proc), f"tuidock (PID {os.getpid()}; PID 1 is not readable)"


def read(pid: int, others: Mapping[str, int], host: Mapping[str, str],
         proc: str = procfs.PROC) -> list[NsRow]:
    """The rows for ``pid`` now, against ``host`` (:func:`host_links`) and ``others`` ({name: host pid})."""
    own = procfs.ns_links(pid, proc)
    if not own:
        return []
    return compare(own, host, {name: procfs.ns_links(p, proc) for name, p in others.items() if p > 0 and p != pid})
