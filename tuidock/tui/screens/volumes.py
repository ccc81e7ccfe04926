"""The volumes screen (``3``): every volume with its mount point, size and users; create, remove, prune, browse."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual.binding import Binding, BindingType

from runtime.engine.volumes import VolumeInUse, VolumeUsage

from ...cli.format import human_size
from .listing import ListingScreen

COLUMNS = (("VOLUME NAME", "name"), ("SIZE", "size"), ("USED BY", "users"), ("MOUNT POINT", "mountpoint"))


def users_text(u: VolumeUsage) -> str:
    """``web:/data, job:/cache (ro)``, or ``-``."""
    return ", ".join(f"{x.name}:{x.destination}{' (ro)' if x.read_only else ''}" for x in u.users) or "-"


def short_name(name: str) -> str:
    """An anonymous volume's 64-hex name cut to 12 characters, as ids are shown; other names as they are."""
    return name[:12] + "…" if len(name) == 64 and all(c in "0123456789abcdef" for c in name) else name


def volume_rows(usages: Sequence[VolumeUsage]) -> list[tuple[str, VolumeUsage, tuple[str, ...]]]:
    return [(u.volume.name, u, (short_name(u.volume.name), human_size(u.size) if u.size is not None else "-",
                                users_text(u), u.volume.mountpoint))
            for u in sorted(usages, key=lambda u: (u.volume.anonymous, u.volume.name))]


class VolumesScreen(ListingScreen[VolumeUsage]):
    """The volumes; enter browses the selected one's files."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "browse", "Browse", id="volume_browse"),
        Binding("c", "create", "Create", id="volume_create"),
        Binding("d", "remove", "Remove", id="volume_remove"),
        Binding("P", "prune", "Prune", id="volume_prune"),
    ]
    COLUMNS = COLUMNS
    TABLE_ID = "volumes"
    NOUN = "volume"

    def load(self) -> list[tuple[str, VolumeUsage, tuple[str, ...]]]:
        return volume_rows(self.tapp.engine.volume_usage(sizes=True))

    def summary(self) -> str:
        used = sum(1 for u in self.items.values() if u.in_use)
        size = sum(u.size or 0 for u in self.items.values())
        return f" {len(self.items)} volume{'' if len(self.items) == 1 else 's'}, {used} in use, {human_size(size)}"

    def chosen(self) -> None:
        self.action_browse()

    def action_browse(self) -> None:
        usage = self.selected()
        if usage is not None:
            from .volumefiles import VolumeFilesScreen

            self.app.push_screen(VolumeFilesScreen(usage.volume.name))

    def action_create(self) -> None:
        from .prompt import PromptDialog

        engine = self.tapp.engine

        def answered(values: dict[str, str] | None) -> None:
            if values is None:
                return
            name = values["name"] or None
            self.act("create volume", lambda: engine.volume_create(name),
                     lambda vol: f"{vol.name}: created")

        self.app.push_screen(PromptDialog("Create a volume", "Create",
                                          [("name", "Name", "data (empty: an anonymous volume)", "")]), answered)

    def action_remove(self) -> None:
        usage = self.selected()
        if usage is None:
            return
        name = usage.volume.name
        if usage.in_use:
            # The engine would refuse too; say why before asking.
            self.notify(str(VolumeInUse(name, usage.users)), title=f"remove {name}", severity="error")
            return
        from .dialogs import ConfirmDialog

        engine = self.tapp.engine

        def answered(yes: bool | None) -> None:
            if yes:
                self.act(f"remove {name}", lambda: engine.volume_remove(name), f"{name}: removed")

        self.app.push_screen(ConfirmDialog(f"Remove volume {name} and everything in it?", "Remove"), answered)

    def action_prune(self) -> None:
        from .dialogs import ConfirmDialog

        engine = self.tapp.engine

        def pruned(removed: list[tuple[str, int]]) -> str:
            return (f"{len(removed)} volume{'' if len(removed) == 1 else 's'} removed, "
                    f"{human_size(sum(size for _, size in removed))} reclaimed")

        def answered(yes: bool | None) -> None:
            if yes:
                self.act("prune volumes", engine.volume_prune, pruned)

        question = "Remove every anonymous volume no container uses?\nNamed volumes stay, as with volume prune."
        self.app.push_screen(ConfirmDialog(question, "Prune"), answered)
