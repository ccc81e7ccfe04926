"""The monitor's wire protocol: frame encoding and the incremental decoder."""

from __future__ import annotations

import json
import struct

import pytest

from runtime import control
from runtime.control import (EXIT, MAX_FRAME, REQUEST, STDERR, STDOUT, FrameReader, error_reply, frame,
                             decode, encode, jframe, raise_for)
from runtime.errors import CommandNotFound, Conflict, RuntimeFailure


def test_frame_layout() -> None:
    assert frame(STDOUT, b"hi") == bytes([STDOUT]) + struct.pack("!I", 2) + b"hi"
    assert frame(control.STDIN_EOF) == bytes([control.STDIN_EOF, 0, 0, 0, 0])


def test_jframe_carries_a_structured_payload() -> None:
    f = jframe(REQUEST, {"op": "kill", "signal": 15})
    [(kind, payload)] = FrameReader().feed(f)
    assert kind == REQUEST and decode(payload) == {"op": "kill", "signal": 15}


def test_kinds_are_distinct_bytes() -> None:
    kinds = [control.REQUEST, control.REPLY, control.STDIN, control.STDIN_EOF, control.STDOUT, control.STDERR,
             control.EXIT, control.RESIZE]
    assert len(set(kinds)) == len(kinds) and all(0 < k < 256 for k in kinds)


STREAM = (jframe(REQUEST, {"op": "attach"}) + frame(STDOUT, b"hello\n") + frame(STDERR, b"")
          + frame(STDOUT, bytes(range(256))) + jframe(EXIT, {"exit_code": 3}))
EXPECTED = [(REQUEST, encode({"op": "attach"})), (STDOUT, b"hello\n"), (STDERR, b""), (STDOUT, bytes(range(256))),
            (EXIT, encode({"exit_code": 3}))]


def test_frames_in_one_feed() -> None:
    r = FrameReader()
    assert r.feed(STREAM) == EXPECTED
    assert r.buf == b""


def test_frames_split_at_every_boundary() -> None:
    for split in range(1, len(STREAM)):
        r = FrameReader()
        assert r.feed(STREAM[:split]) + r.feed(STREAM[split:]) == EXPECTED, f"split at byte {split}"


def test_frames_fed_one_byte_at_a_time() -> None:
    r = FrameReader()
    out = []
    for i in range(len(STREAM)):
        out += r.feed(STREAM[i:i + 1])
    assert out == EXPECTED


def test_incomplete_frame_waits() -> None:
    r = FrameReader()
    assert r.feed(frame(STDOUT, b"abcdef")[:-1]) == []
    assert r.feed(b"f") == [(STDOUT, b"abcdef")]


def test_oversized_frame_is_refused_from_its_header() -> None:
    with pytest.raises(ValueError, match="too large"):
        FrameReader().feed(struct.pack("!BI", STDOUT, MAX_FRAME + 1))


def test_largest_frame_is_accepted() -> None:
    payload = b"x" * MAX_FRAME
    assert FrameReader().feed(frame(STDOUT, payload)) == [(STDOUT, payload)]


def test_errors_cross_the_wire_with_their_exit_code() -> None:
    reply = error_reply(CommandNotFound('container 3f2a: "nope": executable file not found'))
    assert reply == {"error": 'container 3f2a: "nope": executable file not found', "code": 127}
    with pytest.raises(CommandNotFound, match="executable file not found"):
        raise_for(json.loads(json.dumps(reply)))
    with pytest.raises(RuntimeFailure):
        raise_for(error_reply(Conflict("in use")))  # only 126 and 127 keep their class
    assert error_reply(OSError("disk full")) == {"error": "disk full", "code": 125}
    raise_for({"ok": True})  # no error: nothing raised


def test_socket_path_goes_through_the_directory_fd() -> None:
    assert control.socket_path(7) == "/proc/self/fd/7/ctl.sock"



def test_structured_payloads_round_trip_and_take_int_subclasses() -> None:
    import signal

    from runtime import control

    obj = {"op": "stop", "signal": signal.SIGKILL, "timeout": 0.5, "args": ("a", 1), "none": None}
    assert control.decode(control.encode(obj)) == {"op": "stop", "signal": 9, "timeout": 0.5,
                                                   "args": ["a", 1], "none": None}
