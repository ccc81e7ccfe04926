"""The run dialog (``n``): a new container from a form that is ``tuidock run`` with boxes."""

from __future__ import annotations

from dataclasses import fields, replace
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from ..runform import RunForm, check
from .prompt import FieldsDialog

if TYPE_CHECKING:
    from ..app import TuidockApp

TEXT_FIELDS = (
    ("name", "Name", "a name (default: a random one)"),
    ("command", "Command", "sh -c 'echo hello; sleep 1000' (default: the image's)"),
    ("env", "Environment", "K=V K2=V2"),
    ("volumes", "Volumes and binds", "data:/data /srv/conf:/etc/app:ro /cache"),
    ("ports", "Published ports", "8080:80 127.0.0.1:5353:53/udp 80"),
    ("memory", "Memory limit", "64m"),
    ("cpus", "CPUs", "0.5"),
    ("pids", "Pids limit", "100"),
)
SWITCHES = (("tty", "-t  a terminal"), ("interactive", "-i  keep stdin open"), ("rm", "--rm  remove on exit"))


class RunDialog(FieldsDialog[str | None]):
    """Fields for image, name, command, env, volumes, ports, limits, tty, stdin and --rm.

    Errors appear under the field as you type; the equivalent command line is
    shown at the bottom. Enter on the last field or the Run button starts it.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+r", "submit", "Run"),
    ]
    AUTO_FOCUS = "#name"  # focused as the dialog opens, not on a later turn of the loop

    def __init__(self, form: RunForm | None = None) -> None:
        super().__init__()
        self.form = form or RunForm()
        self.image_names: list[str] = []
        self._images_loaded = False

    @property
    def tapp(self) -> TuidockApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog run", id="rundialog"):
            yield Static("[b]New container[/b]", classes="title")
            yield Static("", id="cmdline", classes="cmdline")
            yield Static("", id="form-error", classes="error")
            with Horizontal(classes="field"):
                yield Label("Image")
                yield Select[str]([], id="image", allow_blank=True, prompt="choose an image")
            yield Static("", id="image-error", classes="error")
            for name, label, hint in TEXT_FIELDS:
                with Horizontal(classes="field"):
                    yield Label(label)
                    yield Input(value=str(getattr(self.form, name)), placeholder=hint, id=name)
                yield Static("", id=f"{name}-error", classes="error")
            with Horizontal(classes="switches"):
                for name, label in SWITCHES:
                    yield Checkbox(label, value=bool(getattr(self.form, name)), id=name)
            with Horizontal(classes="buttons"):
                yield Button("Run", variant="primary", id="run")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.tapp.engine_call("list images", self._image_names, self._show_images)
        self._validate()

    def _image_names(self) -> list[str]:
        from runtime.images.reference import parse as parse_ref

        names: list[str] = []
        for img in self.tapp.engine.images.images():
            names += [parse_ref(t).familiar for t in img.repo_tags]
        return sorted(set(names))

    def _show_images(self, names: list[str]) -> None:
        self.image_names = names
        self._images_loaded = True
        select = self.query_one("#image", Select)
        if self.form.image and self.form.image not in names:
            names = [*names, self.form.image]
        select.set_options([(n, n) for n in names])
        if self.form.image:
            select.value = self.form.image
        self._validate()

    def _read(self) -> RunForm:
        values: dict[str, Any] = {}
        for f in fields(RunForm):
            if f.name == "image":
                if not self._images_loaded:
                    continue  # the list is still loading: keep the image the form came with
                v = self.query_one("#image", Select).value
                values["image"] = v if isinstance(v, str) else ""
            elif f.type in (bool, "bool"):
                values[f.name] = self.query_one(f"#{f.name}", Checkbox).value
            else:
                values[f.name] = self.query_one(f"#{f.name}", Input).value
        return replace(self.form, **values)

    def _validate(self) -> bool:
        self.form = self._read()
        result = check(self.form, self.image_names or None)
        for name in [f.name for f in fields(RunForm)] + ["form"]:
            try:
                box = self.query_one(f"#{name}-error", Static)
            except Exception:
                continue
            msg = result.errors.get(name, "")
            box.update(msg)
            box.display = bool(msg)
        self.query_one("#cmdline", Static).update(f"[dim]$[/dim] {self.form.command_line()}")
        self.query_one("#run", Button).disabled = result.options is None
        return result.options is not None

    @on(Input.Changed)
    @on(Checkbox.Changed)
    @on(Select.Changed)
    def _changed(self, event: Any) -> None:
        self._validate()

    @on(Input.Submitted)
    def _submitted(self) -> None:
        """Enter on the last field runs the container (on the others it moves to the next field)."""
        self.action_submit()

    @on(Button.Pressed, "#run")
    def _run(self) -> None:
        self.action_submit()

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.action_cancel()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_submit(self) -> None:
        if not self._validate():
            self.notify("fix the fields marked in red first", severity="warning")
            return
        form = self.form
        result = check(form, self.image_names or None)
        assert result.options is not None
        self.dismiss(form.command_line())
        app = self.tapp
        if form.tty and form.interactive:
            # An interactive container gets the real terminal, exactly as `tuidock run -it` would.
            app.run_in_terminal(app.cli_argv("run", *form.argv()),
                                f"run {form.image} (detach: {app.detach_keys}; exit to come back)")
            return
        opts = result.options

        def start() -> str:
            cid, conn = app.engine.run(opts)
            conn.close()
            return cid

        app.engine_call(f"run {form.image}", start, lambda cid: app.notify(f"started {cid[:12]}", timeout=3))
