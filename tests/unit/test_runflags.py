"""``run`` flags: validation into RunOptions (engine side) and env files / -e KEY (client side)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from runtime.engine.model import RestartPolicy, RunOptions
from runtime.engine.runflags import FLAGS, default_values, parse_labels, to_options
from runtime.errors import InvalidArgument
from tuidock.cli.commands.run import COMMAND as RUN
from tuidock.cli.options import parse
from tuidock.cli.runflags import client_values, read_env_file, resolve_env


def opts(values: dict[str, Any] | None = None, *operands: str) -> RunOptions:
    return to_options(values or {}, list(operands or ("busybox",)))


# ---- to_options --------------------------------------------------------------------


def test_plain_run() -> None:
    o = opts({}, "busybox", "echo", "hi")
    assert (o.image, o.command) == ("busybox", ("echo", "hi"))
    assert o.entrypoint is None and o.name is None
    assert o.host.restart == RestartPolicy("no") and not o.host.auto_remove


def test_no_image() -> None:
    with pytest.raises(InvalidArgument, match="requires at least 1 argument"):
        to_options({}, [])


@pytest.mark.parametrize("raw, policy", [("always", RestartPolicy("always")),
                                         ("on-failure:3", RestartPolicy("on-failure", 3)),
                                         (None, RestartPolicy("no")), ("", RestartPolicy("no"))])
def test_restart_policy(raw: str | None, policy: RestartPolicy) -> None:
    assert opts({"restart": raw}).host.restart == policy


def test_bad_restart_policy() -> None:
    with pytest.raises(InvalidArgument, match="restart policy always:2"):
        opts({"restart": "always:2"})


@pytest.mark.parametrize("restart", ["always", "on-failure", "unless-stopped"])
def test_rm_conflicts_with_restart(restart: str) -> None:
    with pytest.raises(InvalidArgument, match="conflicting options: --restart and --rm"):
        opts({"rm": True, "restart": restart})


def test_rm_with_restart_no_is_fine() -> None:
    assert opts({"rm": True, "restart": "no"}).host.auto_remove


def test_capabilities_are_normalised() -> None:
    o = opts({"cap_add": ["net_admin", "SYS_PTRACE"], "cap_drop": ["all"]})
    assert o.host.cap_add == ("CAP_NET_ADMIN", "CAP_SYS_PTRACE")
    assert o.host.cap_drop == ("ALL",)
    with pytest.raises(InvalidArgument, match="capability net_admn"):
        opts({"cap_add": ["net_admn"]})


@pytest.mark.parametrize("sig", ["SIGFOO", "0", "RTMIN+99"])
def test_bad_stop_signal(sig: str) -> None:
    with pytest.raises(InvalidArgument, match="signal"):
        opts({"stop_signal": sig})


def test_good_stop_signal_is_kept_as_given() -> None:
    assert opts({"stop_signal": "quit"}).stop_signal == "quit"


def test_stop_timeout() -> None:
    assert opts({"stop_timeout": -1}).stop_timeout == -1
    assert opts({"stop_timeout": 0}).stop_timeout == 0
    with pytest.raises(InvalidArgument, match="--stop-timeout -2"):
        opts({"stop_timeout": -2})


def test_entrypoint() -> None:
    assert opts({"entrypoint": ""}).entrypoint == ()  # resets the image's
    assert opts({"entrypoint": "/bin/sh"}).entrypoint == ("/bin/sh",)
    assert opts({"entrypoint": None}).entrypoint is None


def test_entrypoint_is_one_argument_like_dockers() -> None:
    assert opts({"entrypoint": "/opt/my app/run"}).entrypoint == ("/opt/my app/run",)


def test_labels() -> None:
    assert opts({"label": ["a=b", "c", "d=e=f"]}).labels == {"a": "b", "c": "", "d": "e=f"}
    with pytest.raises(InvalidArgument, match="invalid label"):
        parse_labels(["=x"])


def test_every_flag_has_a_default_and_a_known_kind() -> None:
    from runtime.engine.runflags import all_flags

    d = default_values()
    assert set(d) == {dest for _, dest, _, _ in all_flags()}
    assert {kind for _, _, kind, _ in all_flags()} <= {"bool", "str", "int", "float", "list"}
    dests = [dest for _, dest, _, _ in all_flags()]
    assert len(dests) == len(set(dests)), "two feature areas define the same flag"
    assert d["sig_proxy"] is True and d["restart"] == "no" and d["env"] == [] and d["tty"] is False


def test_command_line_to_options_end_to_end(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FROM_CALLER", "yes")
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    argv = ["-dit", "--rm", "--name=web", "-e", "A=1", "-eFROM_CALLER", "-e", "NOT_SET_ANYWHERE", "-h", "box",
            "-u", "1000:1000", "--cap-add", "net_admin", "-w", "/srv", "--stop-signal", "SIGINT",
            "--entrypoint", "/bin/sh", "busybox", "-c", "echo $A"]
    values, operands = parse(RUN, argv)
    sent = client_values(values)
    assert not {"detach", "detach_keys", "sig_proxy", "env_file"} & set(sent)
    o = to_options(sent, operands)
    assert o.image == "busybox" and o.command == ("-c", "echo $A")
    assert o.entrypoint == ("/bin/sh",)
    assert o.env == ("A=1", "FROM_CALLER=yes")
    assert (o.name, o.hostname, o.user, o.workdir) == ("web", "box", "1000:1000", "/srv")
    assert o.tty and o.interactive and o.host.auto_remove
    assert o.host.cap_add == ("CAP_NET_ADMIN",)
    assert o.stop_signal == "SIGINT"


# ---- env files and -e KEY ----------------------------------------------------------


def test_read_env_file(tmp_path: Path) -> None:
    f = tmp_path / "app.env"
    f.write_text("# a comment\n\n   \nA=1\n  B=two words  \nC=\nD=x=y\n   # indented comment\nBARE\nURL=http://h/#frag\n")
    assert read_env_file(str(f)) == ["A=1", "B=two words  ", "C=", "D=x=y", "BARE", "URL=http://h/#frag"]


@pytest.mark.parametrize("line", ["BAD KEY=1", "KEY =1", "TAB\tKEY=1", "=value"])
def test_env_file_bad_key_names_the_line(tmp_path: Path, line: str) -> None:
    f = tmp_path / "bad.env"
    f.write_text(f"OK=1\n# c\n{line}\n")
    with pytest.raises(InvalidArgument) as e:
        read_env_file(str(f))
    assert f"env file {f}: line 3:" in str(e.value)


def test_missing_env_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match=f"env file {tmp_path}/nope.env: no such file"):
        read_env_file(str(tmp_path / "nope.env"))


def test_resolve_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME_X", "/home/x")
    monkeypatch.setenv("EMPTY_X", "")
    monkeypatch.delenv("UNSET_X", raising=False)
    assert resolve_env(["A=1", "HOME_X", "UNSET_X", "EMPTY_X", "B="]) == ["A=1", "HOME_X=/home/x", "EMPTY_X=", "B="]


def test_client_values_env_file_first_then_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FROM_CALLER", "c")
    f = tmp_path / "e.env"
    f.write_text("A=file\nFROM_CALLER\n")
    values, _ = parse(RUN, ["--env-file", str(f), "-e", "A=flag", "busybox"])
    out = client_values(values)
    assert out["env"] == ["A=file", "FROM_CALLER=c", "A=flag"]  # the later -e wins when merged by key
    assert "env_file" not in out
