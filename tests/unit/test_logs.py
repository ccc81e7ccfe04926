"""CRI-format container logs: writing chunks, reading them back as lines, following, filtering."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.logs import LogLine, LogReader, LogWriter, parse_line, parse_rfc3339, read_lines, rfc3339

T0 = 1_795_000_000_123_456_789  # 2026-11-18T...Z, with every nanosecond digit set
SEC = 1_000_000_000


@pytest.fixture
def log(tmp_path: Path) -> Path:
    return tmp_path / "ctr.log"


def write(log: Path, *chunks: tuple[str, bytes, int]) -> None:
    w = LogWriter(str(log))
    try:
        for stream, data, ts in chunks:
            w.write(stream, data, now_ns=ts)
    finally:
        w.close()


def test_full_lines_are_F_records(log: Path) -> None:
    write(log, ("stdout", b"hello\nworld\n", 0))
    assert log.read_bytes() == (b"1970-01-01T00:00:00.000000000Z stdout F hello\n"
                                b"1970-01-01T00:00:00.000000000Z stdout F world\n")


def test_unfinished_tail_is_a_P_record(log: Path) -> None:
    write(log, ("stderr", b"a\n/ # ", 0))
    assert log.read_bytes().splitlines() == [b"1970-01-01T00:00:00.000000000Z stderr F a",
                                             b"1970-01-01T00:00:00.000000000Z stderr P / # "]


def test_empty_write_writes_nothing(log: Path) -> None:
    write(log, ("stdout", b"", 0))
    assert log.read_bytes() == b""


def test_partial_chunks_are_reassembled_with_the_first_chunks_time(log: Path) -> None:
    write(log, ("stdout", b"hel", T0), ("stdout", b"lo wor", T0 + SEC), ("stdout", b"ld\nnext", T0 + 2 * SEC))
    lines, _ = read_lines(str(log))
    assert lines == [LogLine(T0, "stdout", b"hello world\n", True),
                     LogLine(T0 + 2 * SEC, "stdout", b"next", False)]


CHUNKS = [
    b"plain line\n",
    b"\n",  # an empty line
    b"  leading and trailing spaces  \n",
    b"two  spaces F P stdout\tand a tab\n",
    b"prompt$ ",
    b"ls -l\r\n",
    b"\x1b[31mcolour\x1b[0m no newline",
    b" and then one\n\n\n",
    b"\xff\xfe binary \x00 bytes\n",
    b"tail without newline",
]


def test_joining_the_lines_gives_back_exactly_what_was_written(log: Path) -> None:
    write(log, *(("stdout", c, T0 + i) for i, c in enumerate(CHUNKS)))
    lines, _ = read_lines(str(log))
    assert b"".join(ln.data for ln in lines) == b"".join(CHUNKS)
    assert [ln.complete for ln in lines][-1] is False
    assert all(ln.complete for ln in lines[:-1])


def test_streams_are_reassembled_separately(log: Path) -> None:
    write(log,
          ("stdout", b"out-", T0),
          ("stderr", b"err-", T0 + 1),
          ("stdout", b"one\n", T0 + 2),
          ("stderr", b"one\nerr-two\n", T0 + 3),
          ("stdout", b"out-two\n", T0 + 4))
    lines, _ = read_lines(str(log))
    assert [(ln.stream, ln.data, ln.time_ns) for ln in lines] == [
        ("stdout", b"out-one\n", T0),
        ("stderr", b"err-one\n", T0 + 1),
        ("stderr", b"err-two\n", T0 + 3),
        ("stdout", b"out-two\n", T0 + 4),
    ]


def test_tail(log: Path) -> None:
    write(log, *(("stdout", f"line {i}\n".encode(), T0 + i) for i in range(10)))
    assert [ln.data for ln in read_lines(str(log), tail=3)[0]] == [b"line 7\n", b"line 8\n", b"line 9\n"]
    assert read_lines(str(log), tail=0)[0] == []
    assert len(read_lines(str(log), tail=100)[0]) == 10
    assert len(read_lines(str(log), tail=None)[0]) == 10
    assert len(read_lines(str(log), tail=-1)[0]) == 10  # docker's "all"


def test_since_and_until(log: Path) -> None:
    write(log, *(("stdout", f"line {i}\n".encode(), T0 + i * SEC) for i in range(5)))
    got = read_lines(str(log), since_ns=T0 + SEC, until_ns=T0 + 3 * SEC)[0]
    assert [ln.data for ln in got] == [b"line 1\n", b"line 2\n"]  # since inclusive, until exclusive
    got = read_lines(str(log), since_ns=T0 + 2 * SEC, tail=1)[0]
    assert [ln.data for ln in got] == [b"line 4\n"]


def test_missing_log_is_empty(log: Path) -> None:
    lines, reader = read_lines(str(log))
    assert lines == [] and reader.read_new() == []


def test_reader_follows_new_writes_without_repeating(log: Path) -> None:
    write(log, ("stdout", b"one\n", T0))
    lines, reader = read_lines(str(log))
    assert [ln.data for ln in lines] == [b"one\n"]
    assert reader.read_new() == []
    write(log, ("stdout", b"two\nthr", T0 + 1))
    assert [ln.data for ln in reader.read_new()] == [b"two\n"]
    assert reader.pending() == [LogLine(T0 + 1, "stdout", b"thr", False)]
    write(log, ("stdout", b"ee\n", T0 + 2))
    assert reader.read_new() == [LogLine(T0 + 1, "stdout", b"three\n", True)]
    assert reader.pending() == []


def test_pending_returned_by_read_lines_is_not_returned_again(log: Path) -> None:
    write(log, ("stdout", b"/ # ", T0))
    lines, reader = read_lines(str(log))
    assert lines == [LogLine(T0, "stdout", b"/ # ", False)]
    write(log, ("stdout", b"ls\n", T0 + 1))
    assert [ln.data for ln in reader.read_new()] == [b"ls\n"]


def test_truncated_last_record_waits_until_complete(log: Path) -> None:
    write(log, ("stdout", b"first\n", T0))
    record = f"{rfc3339(T0 + 1)} stdout F second\n".encode()
    with open(log, "ab") as f:
        f.write(record[:20])  # the writer's write(2) is in flight
    reader = LogReader(str(log))
    assert [ln.data for ln in reader.read_new()] == [b"first\n"]
    assert reader.read_new() == []
    with open(log, "ab") as f:
        f.write(record[20:-1])
    assert reader.read_new() == []  # still no newline: not parsed
    with open(log, "ab") as f:
        f.write(record[-1:])
    assert reader.read_new() == [LogLine(T0 + 1, "stdout", b"second\n", True)]


def test_garbage_lines_are_skipped(log: Path) -> None:
    log.write_bytes(b"not a log line\n" + f"{rfc3339(T0)} stdout F ok\n".encode() + b"bad-time stdout F x\n")
    assert [ln.data for ln in read_lines(str(log))[0]] == [b"ok\n"]


def test_parse_line_of_an_empty_chunk() -> None:
    ts = rfc3339(T0).encode()
    assert parse_line(ts + b" stdout F") == (T0, "stdout", True, b"")
    assert parse_line(ts + b" stdout F ") == (T0, "stdout", True, b"")
    assert parse_line(ts + b" stderr P a b  c") == (T0, "stderr", False, b"a b  c")
    assert parse_line(b"nonsense") is None


@pytest.mark.parametrize("ns", [0, 1, T0, 1_700_000_000_000_000_000, 4_102_444_799_999_999_999])
def test_rfc3339_round_trip(ns: int) -> None:
    s = rfc3339(ns)
    assert s.endswith("Z") and len(s) == len("2026-11-23T10:04:05.123456789Z")
    assert parse_rfc3339(s) == ns


def test_rfc3339_known_value() -> None:
    assert rfc3339(1_795_000_000 * SEC + 5) == "2026-11-18T11:06:40.000000005Z"


@pytest.mark.parametrize("text, ns", [
    ("2026-11-18T11:06:40Z", 1_795_000_000 * SEC),
    ("2026-11-18T11:06:40.5Z", 1_795_000_000 * SEC + SEC // 2),
    ("2026-11-18T13:06:40.5+02:00", 1_795_000_000 * SEC + SEC // 2),
    ("2026-11-18T06:36:40-04:30", 1_795_000_000 * SEC),
    ("2026-11-18T11:06:40", 1_795_000_000 * SEC),
])
def test_parse_rfc3339_forms(text: str, ns: int) -> None:
    assert parse_rfc3339(text) == ns


def test_parse_rfc3339_rejects_garbage() -> None:
    with pytest.raises(ValueError):
        parse_rfc3339("yesterday")
