"""How the CLI prints: docker's durations, sizes, statuses, commands, tables, --since times."""

from __future__ import annotations

import pytest

from runtime.engine.model import Config, ContainerInfo, ContainerRecord, ContainerStatus, HostConfig
from runtime.state import State, Status
from tuidock.cli import format as fmt
from tuidock.cli.commands.logs import parse_time


@pytest.mark.parametrize("seconds, text", [
    (0.4, "Less than a second"), (1, "1 second"), (59, "59 seconds"), (60, "About a minute"),
    (119, "About a minute"), (120, "2 minutes"), (3599, "59 minutes"), (3600, "About an hour"),
    (5400, "2 hours"), (47 * 3600, "47 hours"), (48 * 3600, "2 days"), (13 * 86400, "13 days"),
    (14 * 86400, "2 weeks"), (59 * 86400, "8 weeks"), (61 * 86400, "2 months"), (800 * 86400, "2 years"),
])
def test_human_duration_matches_docker(seconds: float, text: str) -> None:
    assert fmt.human_duration(seconds) == text


@pytest.mark.parametrize("n, text", [(0, "0B"), (712, "712B"), (2_140_000, "2.14MB"), (1_000, "1kB"),
                                     (1_983_000, "1.983MB"), (5 * 10**12, "5TB")])
def test_human_size_is_decimal_with_four_digits(n: int, text: str) -> None:
    assert fmt.human_size(n) == text


def test_bytes_size_is_binary() -> None:
    assert fmt.bytes_size(512) == "512B"
    assert fmt.bytes_size(1536) == "1.5KiB"
    assert fmt.bytes_size(64 * 1024 * 1024) == "64MiB"


def info(state: State | None) -> ContainerInfo:
    rec = ContainerRecord("a" * 64, "n", 0, "sha256:" + "b" * 64, (), Config(image="busybox"), HostConfig())
    return ContainerInfo(rec, state, ContainerStatus.of(state))


NOW = 1_800_000_000.0


def test_status_texts() -> None:
    assert fmt.status_text(info(None), NOW) == "Created"
    up = State("x", "b", Status.RUNNING, started_ns=int((NOW - 180) * 1e9))
    assert fmt.status_text(info(up), NOW) == "Up 3 minutes"
    paused = State("x", "b", Status.PAUSED, started_ns=int((NOW - 5) * 1e9))
    assert fmt.status_text(info(paused), NOW) == "Up 5 seconds (Paused)"
    done = State("x", "b", Status.STOPPED, started_ns=1, finished_ns=int((NOW - 2) * 1e9), exit_code=137)
    assert fmt.status_text(info(done), NOW) == "Exited (137) 2 seconds ago"
    never = State("x", "b", Status.STOPPED, exit_code=127)
    assert fmt.status_text(info(never), NOW) == "Created"


def test_command_column_is_quoted_and_cut_at_twenty() -> None:
    assert fmt.command_text(["sleep", "60"]) == '"sleep 60"'
    assert fmt.command_text(["sh", "-c", "exit 7"]) == "\"sh -c 'exit 7'\""
    long = fmt.command_text(["sh", "-c", "echo a very long command line"])
    assert long == '"sh -c \'echo a very …"' and len(long) == 22
    assert fmt.command_text(["sh", "-c", "echo a very long command line"], trunc=False).endswith("line'\"")


def test_table_pads_columns_by_three_and_leaves_the_last_free() -> None:
    out = fmt.table(["A", "LONGER", "Z"], [["xxxxx", "y", "last column"]])
    assert out == "A       LONGER   Z\nxxxxx   y        last column\n"


def test_format_rows_json_table_and_template() -> None:
    rows = [{"ID": "abc", "Names": "web"}, {"ID": "def", "Names": "db"}]
    headers = {"ID": "CONTAINER ID", "Names": "NAMES"}
    assert fmt.format_rows("json", rows, headers) == '{"ID":"abc","Names":"web"}\n{"ID":"def","Names":"db"}\n'
    assert fmt.format_rows("table {{.Names}}", rows, headers) == "NAMES\nweb\ndb\n"
    assert fmt.format_rows("{{.ID}}:{{.Names}}", rows, headers) == "abc:web\ndef:db\n"


@pytest.mark.parametrize("value, expected", [
    ("10m", int((NOW - 600) * 1e9)),
    ("1h30m", int((NOW - 5400) * 1e9)),
    ("1.5s", int((NOW - 1.5) * 1e9)),
    ("1700000000", 1_700_000_000 * 10**9),
    ("2026-01-02T03:04:05Z", 1_767_323_045 * 10**9),
    ("2026-01-02T03:04:05.5+01:00", 1_767_319_445_500_000_000),
    ("2026-01-02", 1_767_312_000 * 10**9),
])
def test_since_and_until_values(value: str, expected: int) -> None:
    assert parse_time(value, now=NOW) == expected


def test_bad_since_value_is_an_error() -> None:
    from runtime.errors import InvalidArgument

    with pytest.raises(InvalidArgument, match="invalid time"):
        parse_time("yesterday", now=NOW)
