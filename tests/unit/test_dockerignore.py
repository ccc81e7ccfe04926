""".dockerignore patterns as moby's patternmatcher reads them."""

from __future__ import annotations

import pytest

from runtime.errors import InvalidArgument
from runtime.images.dockerignore import Matcher


def excluded(text: str, path: str) -> bool:
    return Matcher.from_text(text).excluded(path)


@pytest.mark.parametrize("patterns,path,expected", [
    ("*.log", "a.log", True),
    ("*.log", "dir/a.log", False),  # * does not cross a directory
    ("**/*.log", "dir/sub/a.log", True),
    ("**/*.log", "a.log", True),
    ("node_modules", "node_modules/x/y.js", True),  # a directory pattern excludes what is below it
    ("/build", "build/out", True),  # a leading slash is dropped
    ("./tmp/", "tmp/x", True),  # patterns are cleaned
    ("dir/*", "dir/a", True),
    ("dir/*", "dir", False),
    ("a?c", "abc", True),
    ("a?c", "a/c", False),
    ("[ab].txt", "b.txt", True),
    ("[!ab].txt", "c.txt", True),
    ("[!ab].txt", "a.txt", False),
    ("*\n!keep.log", "keep.log", False),  # the last matching pattern decides
    ("*.log\n!keep.log\nkeep.log", "keep.log", True),
    ("# a comment\n\n  secret  ", "secret", True),
    ("docs\n!docs/README.md", "docs/README.md", False),
    ("docs\n!docs/README.md", "docs/other.md", True),
    ("\\#file", "#file", True),
])
def test_patterns(patterns, path, expected):
    assert excluded(patterns, path) is expected


def test_exclusions_are_noticed():
    assert Matcher.from_text("a\n!a/b").has_exclusions
    assert not Matcher.from_text("a").has_exclusions


def test_malformed_patterns():
    with pytest.raises(InvalidArgument):
        Matcher.from_text("[abc")
    with pytest.raises(InvalidArgument):
        Matcher.from_text("!")
