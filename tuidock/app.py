"""The terminal UI (placeholder entry until the UI issue lands)."""

from __future__ import annotations


def main() -> int:
    import sys

    sys.stderr.write("tuidock: the terminal UI is not built yet; use the CLI verbs (tuidock --help)\n")
    return 125
