"""The Dockerfile parser, variable substitution and the metadata instructions, checked against docker's rules."""

from __future__ import annotations

import pytest

from runtime.errors import InvalidArgument
from runtime.images import configedit, dockerfile, shellword
from runtime.images.dockerfile import DockerfileError, parse, parse_instruction


def kw(df: dockerfile.Dockerfile) -> list[str]:
    return [i.keyword for i in df.instructions]


# ---- lines: continuations, comments, directives ------------------------------------


def test_continuations_join_and_skip_comments_and_blank_lines():
    df = parse("FROM busybox\nRUN echo a \\\n  && echo b \\\n# a comment inside\n\n  && echo c\nCMD [\"sh\"]\n")
    assert kw(df) == ["FROM", "RUN", "CMD"]
    run = df.instructions[1]
    assert run.text == "echo a   && echo b   && echo c"
    assert run.line == 2 and df.instructions[2].line == 7


def test_comments_and_case_insensitive_keywords():
    df = parse("# leading comment\nfrom busybox\n   # indented comment\nrun true\n")
    assert kw(df) == ["FROM", "RUN"]
    assert df.instructions[0].original == "FROM busybox"


def test_escape_directive_changes_the_continuation_character():
    df = parse("# escape=`\nFROM busybox\nRUN dir c:\\ `\n  && echo done\n")
    assert df.escape == "`"
    assert df.instructions[1].text == "dir c:\\   && echo done"


def test_directives_only_count_at_the_top():
    df = parse("FROM busybox\n# escape=`\nRUN echo \\\n x\n")
    assert df.escape == "\\" and df.instructions[1].text == "echo  x"
    with pytest.raises(DockerfileError, match="invalid escape token"):
        parse("# escape=x\nFROM busybox\n")


def test_syntax_directive_is_recorded_and_ignored():
    df = parse("# syntax=docker/dockerfile:1\nFROM busybox\n")
    assert df.directives == {"syntax": "docker/dockerfile:1"}


def test_unknown_instruction_names_the_line():
    with pytest.raises(DockerfileError, match=r"line 2: unknown instruction: FRUM"):
        parse("FROM busybox\nFRUM x\n")


def test_empty_dockerfile_is_an_error():
    with pytest.raises(DockerfileError, match="empty"):
        parse("# only a comment\n\n")


# ---- forms ------------------------------------------------------------------------------


def test_json_and_shell_forms():
    assert parse_instruction('CMD ["echo", "a b"]').args == ("echo", "a b")
    assert parse_instruction('CMD ["echo", "a b"]').json
    shell = parse_instruction("CMD echo hi")
    assert not shell.json and shell.text == "echo hi"
    # Not valid JSON (single quotes): the shell form, as docker falls back to it.
    assert not parse_instruction("CMD ['echo']").json
    assert parse_instruction('ENTRYPOINT []').args == () and parse_instruction('ENTRYPOINT []').json


def test_copy_words_and_flags():
    ins = parse_instruction('COPY --chown=app:app --from=build "a b.txt" c /dst/')
    assert ins.flag("chown") == "app:app" and ins.flag("from") == "build"
    assert ins.args == ('"a b.txt"', "c", "/dst/")
    assert parse_instruction('COPY ["a b", "/x/"]').args == ("a b", "/x/")


def test_unknown_and_unsupported_flags():
    with pytest.raises(DockerfileError, match="unknown flag: --colour"):
        parse_instruction("COPY --colour=red a b")
    with pytest.raises(DockerfileError, match="RUN --mount is not supported"):
        parse_instruction("RUN --mount=type=cache,target=/x true")


def test_env_forms():
    assert parse_instruction("ENV A=1 B=\"two words\"").pairs == (("A", "1"), ("B", '"two words"'))
    assert parse_instruction("ENV GREETING hello   world").pairs == (("GREETING", "hello   world"),)
    with pytest.raises(DockerfileError):
        parse_instruction("ENV ONLYKEY")


def test_label_and_arg_forms():
    assert parse_instruction('LABEL a=b "c d"="e f"').pairs == (("a", "b"), ('"c d"', '"e f"'))
    assert parse_instruction("ARG A B=2").pairs == (("A", None), ("B", "2"))


def test_stages_and_meta_args():
    df = parse("ARG V=1\nFROM busybox:${V} AS Build\nRUN true\nFROM scratch\nCOPY --from=build /x /x\n")
    assert [i.keyword for i in df.meta_args] == ["ARG"]
    stages = df.stages()
    assert [(s.base, s.name, len(s.instructions)) for s in stages] == [("busybox:${V}", "build", 1), ("scratch", "", 1)]


def test_instructions_before_from_other_than_arg_are_refused():
    with pytest.raises(DockerfileError, match="before the first FROM"):
        parse("RUN true\nFROM busybox\n").stages()
    with pytest.raises(DockerfileError, match="no FROM"):
        parse("ARG X\n").stages()


def test_onbuild_trigger_must_parse():
    assert parse_instruction("ONBUILD RUN echo hi").text == "RUN echo hi"
    with pytest.raises(DockerfileError, match="isn't allowed"):
        parse_instruction("ONBUILD FROM busybox")


# ---- substitution -----------------------------------------------------------------------------


@pytest.mark.parametrize("word,expected", [
    ("$A", "a"),
    ("${A}b", "ab"),
    ("pre$A/post", "prea/post"),
    ("${UNSET:-def}", "def"),
    ("${EMPTY:-def}", "def"),
    ("${EMPTY-def}", ""),
    ("${UNSET-def}", "def"),
    ("${A:+set}", "set"),
    ("${EMPTY:+set}", ""),
    ("${EMPTY+set}", "set"),
    ("${UNSET:-$A}", "a"),
    ("'$A'", "$A"),
    ('"$A b"', "a b"),
    ("\\$A", "$A"),
    ('"\\$A"', "$A"),
    ("$", "$"),
    ("$1", "$1"),
    ("a$UNSET.b", "a.b"),
])
def test_expand(word, expected):
    assert shellword.expand(word, {"A": "a", "EMPTY": ""}) == expected


def test_expand_errors():
    with pytest.raises(shellword.SubstitutionError, match="X: must be set"):
        shellword.expand("${X:?must be set}", {})
    with pytest.raises(shellword.SubstitutionError, match="bad substitution"):
        shellword.expand("${}", {})
    with pytest.raises(shellword.SubstitutionError, match="single-quote"):
        shellword.expand("'open", {})


def test_split_keeps_quoted_words_together():
    assert shellword.split('a "b c" d\\ e \'f g\'') == ["a", '"b c"', "d\\ e", "'f g'"]
    assert shellword.expand_words('"$A b" $A', {"A": "x"}) == ["x b", "x"]


# ---- what metadata instructions do to the config -----------------------------------------------------


def apply(cfg, text, env=None, cmd_set=False):
    return configedit.apply(cfg, parse_instruction(text), env or {}, cmd_set=cmd_set)


def test_env_expands_against_the_environment_before_the_instruction():
    cfg, msg = apply({"Env": ["PATH=/bin", "A=old"]}, "ENV A=new B=$A", env={"A": "old"})
    assert cfg["Env"] == ["PATH=/bin", "A=new", "B=old"]
    assert msg == "ENV A=new B=old"


def test_shell_form_cmd_uses_the_shell_and_exec_form_does_not():
    assert apply({}, "CMD echo $HOME")[0]["Cmd"] == ["/bin/sh", "-c", "echo $HOME"]
    assert apply({"Shell": ["/bin/bash", "-ec"]}, "CMD make")[0]["Cmd"] == ["/bin/bash", "-ec", "make"]
    assert apply({}, 'CMD ["a", "b"]')[0]["Cmd"] == ["a", "b"]


def test_entrypoint_resets_an_inherited_cmd_but_not_one_set_in_the_stage():
    base = {"Cmd": ["sh"]}
    assert apply(base, 'ENTRYPOINT ["top"]')[0]["Cmd"] is None
    assert apply(base, 'ENTRYPOINT ["top"]', cmd_set=True)[0]["Cmd"] == ["sh"]
    assert apply({}, "ENTRYPOINT exec top -b")[0]["Entrypoint"] == ["/bin/sh", "-c", "exec top -b"]


def test_workdir_is_relative_to_the_previous_one():
    cfg, _ = apply({"WorkingDir": "/a"}, "WORKDIR b/../c")
    assert cfg["WorkingDir"] == "/a/c"
    assert apply({}, "WORKDIR $D", env={"D": "/srv"})[0]["WorkingDir"] == "/srv"


def test_expose_ports_and_ranges():
    cfg, msg = apply({}, "EXPOSE 80 53/udp 8000-8002")
    assert sorted(cfg["ExposedPorts"]) == ["53/udp", "80/tcp", "8000/tcp", "8001/tcp", "8002/tcp"]
    with pytest.raises(InvalidArgument):
        apply({}, "EXPOSE 80/icmp")


def test_labels_volumes_user_stopsignal():
    cfg = {}
    for text in ('LABEL "a b"="c d" e=f', 'VOLUME ["/data", "/logs"]', "USER app:app", "STOPSIGNAL SIGINT"):
        cfg, _ = apply(cfg, text)
    assert cfg["Labels"] == {"a b": "c d", "e": "f"}
    assert cfg["Volumes"] == {"/data": {}, "/logs": {}}
    assert cfg["User"] == "app:app" and cfg["StopSignal"] == "SIGINT"
    with pytest.raises(InvalidArgument):
        apply({}, "STOPSIGNAL SIGNOPE")


def test_healthcheck():
    cfg, _ = apply({}, "HEALTHCHECK --interval=30s --retries=3 CMD curl -f http://localhost/")
    assert cfg["Healthcheck"] == {"Test": ["CMD-SHELL", "curl -f http://localhost/"], "Interval": 30_000_000_000,
                                  "Retries": 3}
    assert apply({}, "HEALTHCHECK NONE")[0]["Healthcheck"] == {"Test": ["NONE"]}


def test_changes_for_commit_and_import():
    cfg = configedit.apply_changes({"Env": ["A=1"]}, ['CMD ["/bin/sh"]', "ENV B=$A", "WORKDIR /w"])
    assert cfg == {"Env": ["A=1", "B=1"], "Cmd": ["/bin/sh"], "WorkingDir": "/w"}
    with pytest.raises(InvalidArgument, match="RUN is not supported here"):
        configedit.apply_changes({}, ["RUN true"])
