"""``tuidock`` without a verb: the terminal UI (kept apart so the CLI's verbs never import Textual)."""

from __future__ import annotations


def main() -> int:
    from runtime.errors import TuidockError

    from .cli import eprint

    try:
        from .tui.app import main as run_app

        return run_app()
    except TuidockError as e:
        eprint(str(e))
        return e.exit_code
