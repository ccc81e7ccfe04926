"""The TUI's pure logic: plots, trends, rates, the run form, capability and mount labels."""

from __future__ import annotations

import dataclasses

import pytest

from runtime.cgroups import stats as st
from runtime.engine.model import MountSpec
from runtime.mountinfo import parse_mountinfo
from tuidock.tui.backend import rates
from tuidock.tui.plot import nice_ceiling, render
from tuidock.tui.runform import RunForm, check
from tuidock.tui.tabs.mounts import classify
from tuidock.tui.tabs.processes import caps_text
from tuidock.tui.view import trend


@pytest.mark.parametrize(("value", "top"), [(0, 1), (0.3, 0.5), (1, 1), (1.01, 2), (3, 5), (7, 10), (64e6, 1e8)])
def test_nice_ceiling(value: float, top: float) -> None:
    assert nice_ceiling(value) == pytest.approx(top)


def test_plot_has_fixed_axes_and_a_limit_line() -> None:
    rows = render([2.5, 5, 10, 20], width=6, height=2, top=10, limit=5)
    assert len(rows) == 2 and all(len(r) == 6 for r in rows)
    # Two empty columns, then 2.5 (half the bottom row), 5 (the bottom row), 10 and 20 (clipped): both rows.
    assert rows[1] == "  ▄███"
    # The limit at 5 is the top row's bottom edge: dashed wherever no bar covers it.
    assert rows[0] == "╌╌╌╌██"


def test_plot_keeps_only_what_fits() -> None:
    rows = render(list(range(100)), width=10, height=1, top=100)
    assert rows[0][-1] == "█" and len(rows[0]) == 10


def test_trend_scales_to_the_largest_or_given_top() -> None:
    assert trend([0, 50, 100], width=3) == "▁▅█"
    assert trend([0, 50, 100], width=3, top=200) == "▁▃▅"
    assert trend([], width=4) == "    "


def stats_at(t: float, read: int, rx: int, periods: int, throttled: int) -> st.ContainerStats:
    return st.ContainerStats(
        "c", "c", 1, int(t * 1e9), 2, st.CpuStats(0, None, None, None, 1, 0.5, periods, throttled, 0),
        st.MemoryStats(0, 0, 1, False, 0.0, None, None, None, None, 0, 0), st.PidsStats(1, None),
        st.BlockIO(read, 0), st.NetStats(rx, 0, 0, 0, ()), None)


def test_rates_between_two_samples() -> None:
    r = rates(stats_at(10, 0, 1000, 100, 0), stats_at(12, 4096, 5000, 120, 5))
    assert r.read_bps == 2048 and r.rx_bps == 2000 and r.throttled_pct == 25.0
    assert rates(stats_at(10, 0, 0, 0, 0), stats_at(10, 1, 1, 1, 1)).read_bps == 0.0  # no time passed


def test_run_form_is_the_cli_with_boxes() -> None:
    form = RunForm(image="busybox", name="w", command="sh -c 'echo hi'", env="A=1 B='two words'",
                   volumes="data:/data", ports="8080:80", memory="64m", cpus="0.5", pids="10", tty=True, rm=True)
    assert form.argv() == ["--name", "w", "-e", "A=1", "-e", "B=two words", "-v", "data:/data", "-p", "8080:80",
                           "--memory", "64m", "--cpus", "0.5", "--pids-limit", "10", "--tty", "--rm",
                           "busybox", "sh", "-c", "echo hi"]
    checked = check(form, ["busybox"])
    assert checked.errors == {} and checked.options is not None
    assert checked.options.host.resources.memory == 64 << 20 and checked.options.name == "w"


def test_run_form_errors_land_on_their_field() -> None:
    bad = dataclasses.replace(RunForm(), memory="12q", cpus="lots", ports="99999:80", command="sh -c 'open")
    errors = check(bad, ["busybox:latest"]).errors
    assert set(errors) == {"memory", "cpus", "ports", "command"}
    assert "12q" in errors["memory"] and "lots" in errors["cpus"]
    assert check(dataclasses.replace(RunForm(), image="nosuch"), ["busybox:latest"]).errors == {
        "image": "no such image: nosuch (pull it first)"}


def test_capability_labels() -> None:
    full = (1 << 41) - 1
    assert caps_text(0, full) == "none"
    assert caps_text(full, full) == "all (41)"
    assert caps_text(1 | 2, full) == "2: chown,dac_override"


def test_mounts_are_named_by_what_asked_for_them() -> None:
    info = parse_mountinfo(
        "1 0 0:50 / / rw,relatime - overlay overlay rw,lowerdir=/l\n"
        "2 1 0:51 / /proc rw - proc proc rw\n"
        "3 1 8:1 /vol/_data /data rw - ext4 /dev/sda1 rw\n"
        "4 1 8:1 /srv /srv ro - ext4 /dev/sda1 rw\n"
        "5 1 0:52 / /scratch rw - tmpfs tmpfs rw\n"
        "6 1 8:1 /c/hosts /etc/hosts rw - ext4 /dev/sda1 rw\n")
    specs = (MountSpec("volume", "/data", "vol"), MountSpec("bind", "/srv", "/srv", read_only=True),
             MountSpec("tmpfs", "/scratch"))
    rows = {r.target: r for r in classify(info, specs, lambda n: f"/var/lib/tuidock/volumes/{n}/_data", "/c")}
    assert [rows[t].kind for t in ("/", "/proc", "/data", "/srv", "/scratch", "/etc/hosts")] == [
        "root", "system", "volume", "bind", "tmpfs", "file"]
    assert rows["/data"].source == "vol → /var/lib/tuidock/volumes/vol/_data"
    assert rows["/srv"].read_only and rows["/etc/hosts"].source == "/c/hosts"
