"""``tuidock stats`` cells, as docker's formatter writes them (go-units sizes, percentages, dashes when stopped)."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace
from typing import Any

import pytest

from runtime.cgroups.stats import BlockIO, ContainerStats, CpuStats, Interface, MemoryStats, NetStats, PidsStats
from tuidock.cli.commands import stats as cmd

CID = "3f2a9c1b7d0e" + "a" * 52
MiB = 1 << 20


@pytest.mark.parametrize("n, text", [(0, "0B"), (999, "999B"), (1000, "1kB"), (1450, "1.45kB"),
                                     (123_456_789, "123MB"), (5_000_000_000, "5GB")])
def test_sizes_are_decimal_with_three_digits(n: int, text: str) -> None:
    assert cmd.size3(n) == text


def info() -> Any:
    return SimpleNamespace(id=CID, name="web", record=SimpleNamespace(short_id=CID[:12]))


def sample(percent: float | None) -> ContainerStats:
    return ContainerStats(
        id=CID, name="web", pid=4242, read_ns=0, cgroup_version=2,
        cpu=CpuStats(10**9, None, None, percent, 2, 0.5, 10, 3, 1000),
        memory=MemoryStats(3 * MiB, 5 * MiB, 64 * MiB, True, 3 / 64 * 100, None, None, None, None, 0, 0),
        pids=PidsStats(3, 20),
        block_io=BlockIO(1450, 0),
        net=NetStats(2_000, 5, 1_000, 4, (Interface("eth0", 2_000, 5, 1_000, 4),)),
        pressure=None,
    )


def test_a_running_containers_cells() -> None:
    row = cmd.row("", info(), sample(46.333), no_trunc=False)
    assert row == {"BlockIO": "1.45kB / 0B", "CPUPerc": "46.33%", "Container": CID[:12], "ID": CID[:12],
                   "MemPerc": "4.69%", "MemUsage": "3MiB / 64MiB", "Name": "web", "NetIO": "2kB / 1kB",
                   "PIDs": "3"}


def test_cpu_is_dashes_until_there_are_two_readings() -> None:
    assert cmd.row("web", info(), sample(None), no_trunc=True)["CPUPerc"] == "--"


def test_a_stopped_container_is_dashes_and_keeps_the_name_it_was_given() -> None:
    row = cmd.row("web", info(), None, no_trunc=True)
    assert (row["Container"], row["ID"], row["CPUPerc"], row["MemUsage"], row["PIDs"]) == ("web", CID, "--", "-- / --", "--")


def test_json_has_dockers_keys_one_object_per_line() -> None:
    out = cmd.render("json", [cmd.row("", info(), sample(1.0), False)] * 2)
    lines = out.splitlines()
    assert len(lines) == 2
    assert sorted(json.loads(lines[0])) == ["BlockIO", "CPUPerc", "Container", "ID", "MemPerc", "MemUsage", "Name",
                                            "NetIO", "PIDs"]


def test_the_default_table_has_dockers_header() -> None:
    header = cmd.render("", [cmd.row("", info(), sample(1.0), False)]).splitlines()[0]
    assert re.split(r"\s{2,}", header.strip()) == ["CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O",
                                   "BLOCK I/O", "PIDS"]
