"""Who shares a container's namespaces: link maps compared, and read from a fake /proc."""

from __future__ import annotations

import os
from pathlib import Path

from runtime.engine import nsview

HOST = {"net": "net:[4026531840]", "pid": "pid:[4026531836]", "user": "user:[4026531837]", "uts": "uts:[4026531838]"}


def test_compare_marks_the_hosts_and_the_sharers() -> None:
    own = {"uts": "uts:[4026532300]", "net": "net:[4026531840]", "pid": "pid:[4026532302]",
           "user": "user:[4026531837]"}
    others = {"web": {"net": "net:[4026531840]", "pid": "pid:[4026532999]", "user": "user:[4026531837]"},
              "db": {"net": "net:[4026532500]", "uts": "uts:[4026532300]", "user": "user:[4026531837]"}}
    rows = {r.type: r for r in nsview.compare(own, HOST, others)}
    assert [r.type for r in nsview.compare(own, HOST, others)] == ["net", "pid", "user", "uts"]  # procfs order
    assert rows["net"].host and rows["net"].shared_with == ("web",)  # --network host, like web
    assert rows["net"].inode == 4026531840
    assert not rows["pid"].host and rows["pid"].shared_with == ()
    assert rows["user"].host and rows["user"].shared_with == ("db", "web")
    assert not rows["uts"].host and rows["uts"].shared_with == ("db",)


def test_compare_tolerates_odd_links() -> None:
    rows = nsview.compare({"future": "future:[12]", "weird": "weird"}, {}, {})
    assert [(r.type, r.inode, r.host) for r in rows] == [("future", 12, False), ("weird", 0, False)]


def links(proc: Path, pid: int, table: dict[str, str]) -> None:
    ns = proc / str(pid) / "ns"
    ns.mkdir(parents=True)
    for t, link in table.items():
        os.symlink(link, ns / t)


def test_read_from_a_fake_proc(tmp_path: Path) -> None:
    links(tmp_path, 1, HOST)
    links(tmp_path, 500, {"net": "net:[4026532001]", "user": "user:[4026531837]"})
    links(tmp_path, 600, {"net": "net:[4026532001]", "user": "user:[4026531837]"})
    host, source = nsview.host_links(str(tmp_path))
    assert host == HOST and source == "PID 1"
    rows = {r.type: r for r in nsview.read(500, {"a": 500, "b": 600, "gone": 700, "stopped": 0}, host, str(tmp_path))}
    assert rows["net"].shared_with == ("b",) and not rows["net"].host
    assert rows["user"].host and rows["user"].shared_with == ("b",)
    assert nsview.read(700, {}, host, str(tmp_path)) == []  # the process is gone


def test_host_falls_back_to_this_process_when_pid_1_is_unreadable(tmp_path: Path) -> None:
    links(tmp_path, os.getpid(), {"net": "net:[7]"})
    host, source = nsview.host_links(str(tmp_path))
    assert host == {"net": "net:[7]"} and "PID 1 is not readable" in source
