"""A small modal form: a few labelled text fields and an OK button (tag, create a volume or a network)."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static


class PromptDialog(ModalScreen[dict[str, str] | None]):
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
        self.query(Input).first().focus()

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
    def _submitted(self, event: Input.Submitted) -> None:
        inputs = list(self.query(Input))
        if event.input is inputs[-1]:
            self._answer()
        else:
            inputs[inputs.index(event.input) + 1].focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            self._answer()
        else:
            self.dismiss(None)
