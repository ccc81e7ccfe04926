"""The Go-template subset that --format takes, as docker users write it."""

from __future__ import annotations

import pytest

from tuidock.cli.gotemplate import TemplateError, go_str, render

DATA = {
    "State": {"Pid": 42, "Running": True, "ExitCode": 0},
    "Name": "/web",
    "Config": {"Labels": {"b": "2", "a": "1"}, "Env": ["A=1", "B=2"], "Cmd": None},
    "Mounts": [{"Source": "/x", "Destination": "/y"}, {"Source": "/p", "Destination": "/q"}],
}


@pytest.mark.parametrize("template, expected", [
    ("{{.State.Pid}}", "42"),
    ("{{.Name}}", "/web"),
    ("{{json .Config.Env}}", '["A=1","B=2"]'),
    ("{{.Config.Env | json}}", '["A=1","B=2"]'),
    ("{{json .Config.Cmd}}", "null"),
    ("{{.Config.Cmd}}", "<no value>"),
    ("{{.Nope.Deeper}}", "<no value>"),
    ("{{.State.Running}}", "true"),
    ("{{.Config.Labels}}", "map[a:1 b:2]"),
    ("{{.Config.Env}}", "[A=1 B=2]"),
    ('{{index .Config.Labels "a"}}', "1"),
    ("{{index .Mounts 1}}", "map[Destination:/q Source:/p]"),
    ("{{range .Mounts}}{{.Source}}->{{.Destination}};{{end}}", "/x->/y;/p->/q;"),
    ("{{range $k, $v := .Config.Labels}}{{$k}}={{$v}} {{end}}", "a=1 b=2 "),
    ("{{range $m := .Mounts}}{{$m.Source}}{{end}}", "/x/p"),
    ("{{range .Config.Cmd}}x{{else}}empty{{end}}", "empty"),
    ("{{if .State.Running}}up{{else}}down{{end}}", "up"),
    ("{{if eq .State.Pid 1}}one{{else if eq .State.Pid 42}}answer{{else}}other{{end}}", "answer"),
    ("{{with .State}}{{.Pid}}{{end}}", "42"),
    ('{{join .Config.Env ","}}', "A=1,B=2"),
    ("{{len .Mounts}}", "2"),
    ('{{upper (index .Config.Labels "a")}}x', "1x"),
    ("{{lower .Name}}", "/web"),
    ('{{printf "%s-%d" .Name .State.Pid}}', "/web-42"),
    ("a {{- .Name -}} b", "a/webb"),
    ("{{/* a comment */}}ok", "ok"),
    ("{{.State.Pid}}\t{{.Name}}", "42\t/web"),
])
def test_render(template: str, expected: str) -> None:
    assert render(template, DATA) == expected


def test_field_names_are_matched_case_insensitively_as_a_fallback() -> None:
    assert render("{{.name}}", DATA) == "/web"


@pytest.mark.parametrize("template", ["{{if .X}}", "{{end}}", "{{.A | nosuchfunc}}", "{{(.A}}", "{{}}", "{{$undefined}}"])
def test_errors_are_template_errors(template: str) -> None:
    with pytest.raises(TemplateError):
        render(template, DATA)


def test_go_str_prints_like_go() -> None:
    assert go_str(None) == "<no value>"
    assert go_str(False) == "false"
    assert go_str(3.0) == "3"
    assert go_str({"b": 1, "a": [1, 2]}) == "map[a:[1 2] b:1]"
