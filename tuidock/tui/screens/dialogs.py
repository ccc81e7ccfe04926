"""Small modal screens: a yes/no confirmation and the key help."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.table import Table
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Static


class ConfirmDialog(ModalScreen[bool]):
    """Ask before something that cannot be undone; enter or y confirms, escape or n cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes", show=False),
        Binding("n,escape", "answer(False)", "No", show=False),
    ]

    def __init__(self, question: str, verb: str) -> None:
        super().__init__()
        self.question = question
        self.verb = verb

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.question, classes="question")
            with Horizontal(classes="buttons"):
                yield Button(self.verb, variant="error", id="yes")
                yield Button("Cancel", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class HelpScreen(ModalScreen[None]):
    """Every key of the screen behind, with what it does (``?``)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def __init__(self, behind: Screen[Any]) -> None:
        super().__init__()
        self.behind = behind
        self.entries: list[tuple[str, str]] = []  # (key, what it does), as shown

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=False, padding=(0, 2))
        table.add_column(style="bold cyan", justify="right")
        table.add_column()
        seen: set[tuple[str, str]] = set()
        for key, active in self.behind.active_bindings.items():
            b = active.binding
            if not b.description or (b.action, b.description) in seen:
                continue
            seen.add((b.action, b.description))
            self.entries.append((self.app.get_key_display(b), b.description))
        self.entries += [("j / k", "Down / up (arrows too)"), ("ctrl+p", "Command palette: every action by name")]
        for key, what in self.entries:
            table.add_row(key, what)
        with VerticalScroll(classes="dialog help"):
            yield Static(f"[b]Keys: {self.behind.__class__.__name__.removesuffix('Screen').lower()}[/b]\n")
            yield Static(table)
            yield Static("\n[dim]escape closes · mouse works everywhere · settings in "
                         "~/.config/tuidock/config.toml[/dim]")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
