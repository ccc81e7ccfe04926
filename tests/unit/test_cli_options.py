"""The docker-style command-line parser, on small commands and on ``run`` itself."""

from __future__ import annotations

from typing import Any

import pytest

from tuidock.cli.commands.run import COMMAND as RUN
from tuidock.cli.options import Command, HelpRequested, UsageError, opt, parse

RM = Command("rm", "[OPTIONS] CONTAINER [CONTAINER...]", "Remove containers", [
    opt("-f, --force", help="Force the removal"),
    opt("-v, --volumes", help="Remove anonymous volumes"),
    opt("-t, --time", kind="int", default=10, help="Seconds to wait"),
    opt("--filter", kind="list", help="Filter"),
    opt("--ratio", kind="float", help="A decimal"),
], min_args=1, max_args=3)


def run(*argv: str) -> tuple[dict[str, Any], list[str]]:
    return parse(RUN, argv)


# ---- a small interspersed command --------------------------------------------------


def test_defaults() -> None:
    values, operands = parse(RM, ["c1"])
    assert values == {"force": False, "volumes": False, "time": 10, "filter": [], "ratio": None}
    assert operands == ["c1"]


def test_options_and_operands_mix_when_interspersed() -> None:
    values, operands = parse(RM, ["c1", "-f", "c2", "--time", "3"])
    assert operands == ["c1", "c2"]
    assert values["force"] is True and values["time"] == 3


def test_combined_short_bools() -> None:
    values, _ = parse(RM, ["-fv", "c"])
    assert values["force"] and values["volumes"]


@pytest.mark.parametrize("argv", [["--time=5"], ["--time", "5"], ["-t", "5"], ["-t5"], ["-t=5"], ["-ft5"]])
def test_value_spellings(argv: list[str]) -> None:
    values, operands = parse(RM, argv + ["c"])
    assert values["time"] == 5 and operands == ["c"]


@pytest.mark.parametrize("raw, expect", [("true", True), ("1", True), ("yes", True), ("TRUE", True),
                                         ("false", False), ("0", False), ("no", False), ("False", False)])
def test_bool_with_explicit_value(raw: str, expect: bool) -> None:
    assert parse(RM, [f"--force={raw}", "c"])[0]["force"] is expect


def test_short_bool_with_explicit_value() -> None:
    assert parse(RM, ["-f=false", "c"])[0]["force"] is False
    assert parse(RM, ["-f=true", "c"])[0]["force"] is True


def test_bad_bool_value() -> None:
    with pytest.raises(UsageError, match='invalid argument "maybe" for "--force" flag'):
        parse(RM, ["--force=maybe", "c"])


def test_bad_int_and_float() -> None:
    with pytest.raises(UsageError, match='invalid argument "soon" for "--time" flag'):
        parse(RM, ["--time", "soon", "c"])
    with pytest.raises(UsageError, match='"--ratio"'):
        parse(RM, ["--ratio=x", "c"])
    assert parse(RM, ["--ratio=0.5", "c"])[0]["ratio"] == 0.5


def test_repeated_list_flags_accumulate_and_do_not_leak_between_parses() -> None:
    values, _ = parse(RM, ["--filter", "a=1", "--filter=b=2", "c"])
    assert values["filter"] == ["a=1", "b=2"]
    assert parse(RM, ["c"])[0]["filter"] == []


def test_double_dash_ends_options() -> None:
    values, operands = parse(RM, ["-f", "--", "-v", "--time"])
    assert operands == ["-v", "--time"]
    assert values["force"] and not values["volumes"]


def test_single_dash_is_an_operand() -> None:
    assert parse(RM, ["-"])[1] == ["-"]


@pytest.mark.parametrize("argv, needle", [
    (["--bogus", "c"], "unknown flag: --bogus"),
    (["--bogus=1", "c"], "unknown flag: --bogus"),
    (["-x", "c"], "unknown shorthand flag: 'x' in -x"),
    (["-fx", "c"], "unknown shorthand flag: 'x' in -fx"),
])
def test_unknown_flags_are_named(argv: list[str], needle: str) -> None:
    with pytest.raises(UsageError) as e:
        parse(RM, argv)
    assert needle in str(e.value)


@pytest.mark.parametrize("argv, needle", [(["c", "--time"], "--time"), (["c", "-t"], "'t' in -t"),
                                          (["c", "-ft"], "'t' in -ft")])
def test_missing_value(argv: list[str], needle: str) -> None:
    with pytest.raises(UsageError, match="flag needs an argument") as e:
        parse(RM, argv)
    assert needle in str(e.value)


def test_min_and_max_args() -> None:
    with pytest.raises(UsageError, match='"rm" requires at least 1 argument$'):
        parse(RM, ["-f"])
    with pytest.raises(UsageError, match='"rm" accepts at most 3 arguments'):
        parse(RM, ["a", "b", "c", "d"])
    two = Command("cp", "SRC DST", "Copy", min_args=2, max_args=1)
    with pytest.raises(UsageError, match='requires at least 2 arguments'):
        parse(two, ["a"])
    one = Command("inspect", "X", "Inspect", max_args=1)
    with pytest.raises(UsageError, match='accepts at most 1 argument$'):
        parse(one, ["a", "b"])


@pytest.mark.parametrize("argv", [["-h"], ["--help"], ["c", "--help"], ["-f", "-h"]])
def test_help(argv: list[str]) -> None:
    with pytest.raises(HelpRequested):
        parse(RM, argv)


def test_usage_error_is_an_invalid_argument() -> None:
    from runtime.errors import InvalidArgument

    assert issubclass(UsageError, InvalidArgument)
    assert UsageError.exit_code == 125


def test_format_help_lists_every_flag() -> None:
    text = RM.format_help()
    assert text.startswith("Usage:  tuidock rm [OPTIONS] CONTAINER [CONTAINER...]\n")
    assert "  -f, --force " in text
    assert "  -t, --time int " in text
    assert "      --filter list " in text
    assert "      --ratio decimal " in text


# ---- run: non-interspersed, -h is --hostname -----------------------------------------


def test_run_it() -> None:
    values, operands = run("-it", "busybox", "sh")
    assert values["interactive"] and values["tty"] and not values["detach"]
    assert operands == ["busybox", "sh"]


def test_run_dit() -> None:
    values, _ = run("-dit", "busybox")
    assert values["detach"] and values["interactive"] and values["tty"]


def test_run_value_in_the_last_short_flag() -> None:
    values, operands = run("-de", "K=V", "busybox")
    assert values["detach"] and values["env"] == ["K=V"]
    assert operands == ["busybox"]


def test_run_attached_value() -> None:
    assert run("-eK=V", "busybox")[0]["env"] == ["K=V"]
    assert run("-e=K=V", "busybox")[0]["env"] == ["K=V"]


@pytest.mark.parametrize("argv", [("--name=web",), ("--name", "web")])
def test_run_name(argv: tuple[str, ...]) -> None:
    assert run(*argv, "nginx")[0]["name"] == "web"


def test_run_rm_false() -> None:
    assert run("--rm=false", "busybox")[0]["rm"] is False
    assert run("--rm", "busybox")[0]["rm"] is True


def test_run_repeated_env_and_labels() -> None:
    values, _ = run("-e", "A=1", "--env", "B=2", "-eC=3", "-l", "x=1", "--label=y=2", "busybox")
    assert values["env"] == ["A=1", "B=2", "C=3"]
    assert values["label"] == ["x=1", "y=2"]


def test_run_stops_at_the_first_operand() -> None:
    values, operands = run("--rm", "busybox", "ls", "-l", "--name", "x", "-h")
    assert operands == ["busybox", "ls", "-l", "--name", "x", "-h"]
    assert values["label"] == [] and values["name"] is None and values["hostname"] is None


def test_run_double_dash() -> None:
    assert run("-d", "--", "busybox", "-x")[1] == ["busybox", "-x"]


def test_run_h_is_hostname_and_help_is_long_only() -> None:
    values, operands = run("-h", "myhost", "busybox")
    assert values["hostname"] == "myhost" and operands == ["busybox"]
    assert run("--hostname=box", "busybox")[0]["hostname"] == "box"
    with pytest.raises(HelpRequested):
        run("--help")
    with pytest.raises(UsageError, match="flag needs an argument: 'h' in -h"):
        run("-h")


def test_run_needs_an_image() -> None:
    with pytest.raises(UsageError, match='"run" requires at least 1 argument'):
        run("-it")


def test_run_defaults() -> None:
    values, _ = run("busybox")
    assert values["sig_proxy"] is True
    assert values["restart"] == "no"
    assert values["entrypoint"] is None and values["stop_timeout"] is None
    assert values["env"] == [] and values["cap_add"] == []


def test_run_int_flag_and_empty_entrypoint() -> None:
    values, _ = run("--stop-timeout", "7", "--entrypoint", "", "busybox")
    assert values["stop_timeout"] == 7
    assert values["entrypoint"] == ""
    with pytest.raises(UsageError, match="--stop-timeout"):
        run("--stop-timeout=soon", "busybox")


def test_run_unknown_flag() -> None:
    with pytest.raises(UsageError, match="unknown flag: --privileged-ish"):
        run("--privileged-ish", "busybox")
