"""Dialogs of text fields: the small prompt (tag, pull, build, create a volume or a network), and the base
the run dialog shares with it."""

from __future__ import annotations

from typing import ClassVar, TypeVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static


R = TypeVar("R")


class FieldsDialog(ModalScreen[R]):
    """A dialog of text fields: enter moves to the next one; on the last, the field's own enter
    (``Input.Submitted``) answers the dialog."""

    BINDINGS: ClassVar[list[BindingType]] = [
        # A priority binding: the focus moves as the app takes the key, before the next key is handed on (the
        # field's own enter would move it from a Submitted message, maybe after the next key went out).
        Binding("enter", "next_field", "Next field", show=False, priority=True),
    ]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "next_field":
            # Not from the last field: there enter goes to the field itself, and answers.
            return isinstance(self.focused, Input) and self.focused is not self.query(Input).last()
        return True

    def action_next_field(self) -> None:
        self.focus_next()  # Screen.focus_next moves the focus now, not on a later turn


class PromptDialog(FieldsDialog[dict[str, str] | None]):
    """Ask for a few values; enter in the last field or the button answers, escape cancels (None).

    ``fields`` are (id, label, placeholder, initial value); ``required`` ids must
    not be empty for the button to work.
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, verb: str, fields: list[tuple[str, str, str, str]],
                 required: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.title_text = title
        self.verb = verb
        self.fields = fields
        self.required = required

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog prompt"):
            yield Static(f"[b]{self.title_text}[/b]", classes="question")
            for fid, label, hint, value in self.fields:
                with Horizontal(classes="field"):
                    yield Label(label)
                    yield Input(value=value, placeholder=hint, id=f"prompt-{fid}")
            yield Static("", id="prompt-error", classes="error")
            with Horizontal(classes="buttons"):
                yield Button(self.verb, variant="primary", id="ok")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.set_focus(self.query(Input).first())  # now, not on a later turn: keys typed at once land here

    def values(self) -> dict[str, str]:
        return {fid: self.query_one(f"#prompt-{fid}", Input).value.strip() for fid, *_ in self.fields}

    def action_cancel(self) -> None:
        self.dismiss(None)

    def _answer(self) -> None:
        values = self.values()
        missing = [label for fid, label, *_ in self.fields if fid in self.required and not values[fid]]
        if missing:
            error = self.query_one("#prompt-error", Static)
            error.update(f"{', '.join(missing).lower()}: required")
            error.display = True
            return
        self.dismiss(values)

    @on(Input.Submitted)
    def _submitted(self) -> None:
        """Enter on the last field answers (on the others it moves to the next field)."""
        self._answer()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            self._answer()
        else:
            self.dismiss(None)
