"""The images screen (``2``): every image with its tags, size and users; run, tag, remove, prune, pull, build."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from textual.binding import Binding, BindingType

from runtime.engine.imageops import Summary, timestamp

from ...cli.format import human_duration, human_size
from .listing import ListingScreen

COLUMNS = (("REPOSITORY", "repository"), ("TAG", "tag"), ("IMAGE ID", "id"), ("CREATED", "created"),
           ("SIZE", "size"), ("USED BY", "used"))


@dataclass(frozen=True)
class ImageRow:
    """One row: an image under one of its names (an untagged image has one ``<none>`` row)."""

    summary: Summary
    repository: str
    tag: str

    @property
    def ref(self) -> str:
        """What names it to the engine: ``busybox:latest``, or the id of an untagged image."""
        return f"{self.repository}:{self.tag}" if self.tag != "<none>" else self.summary.image.id

    @property
    def label(self) -> str:
        return self.ref if self.tag != "<none>" else self.summary.image.short_id


def image_rows(summaries: Sequence[Summary], now: float) -> list[tuple[str, ImageRow, tuple[str, ...]]]:
    """(row key, row, cells) for each name of each image, as ``tuidock images`` lists them (intermediates left out)."""
    from runtime.images import reference

    out: list[tuple[str, ImageRow, tuple[str, ...]]] = []
    for s in summaries:
        if s.intermediate:
            continue
        img = s.image
        names = [(r.repository, r.tag or "<none>") for r in (reference.parse(t) for t in img.repo_tags)]
        created = timestamp(img.created)
        when = human_duration(now - created) + " ago" if created else "N/A"
        used = f"{s.used_by} container{'' if s.used_by == 1 else 's'}" if s.used_by else "-"
        for repo, tag in names or [("<none>", "<none>")]:
            row = ImageRow(s, repo, tag)
            out.append((f"{img.id} {row.ref}", row,
                        (repo, tag, img.short_id, when, human_size(s.size), used)))
    return out


class ImagesScreen(ListingScreen[ImageRow]):
    """The images in the store; enter shows the selected one's layers."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "layers", "Layers", id="image_layers"),
        Binding("r", "run", "Run", id="image_run"),
        Binding("t", "tag", "Tag", id="image_tag"),
        Binding("d", "remove", "Remove", id="image_remove"),
        Binding("P", "prune", "Prune", id="image_prune"),
        Binding("p", "pull", "Pull", id="image_pull"),
        Binding("b", "build", "Build", id="image_build"),
    ]
    COLUMNS = COLUMNS
    TABLE_ID = "images"
    NOUN = "image"

    def load(self) -> list[tuple[str, ImageRow, tuple[str, ...]]]:
        return image_rows(self.tapp.engine.image_summaries(), time.time())

    def summary(self) -> str:
        ids = {row.summary.image.id: row.summary.size for row in self.items.values()}
        return f" {len(ids)} image{'' if len(ids) == 1 else 's'}, {human_size(sum(ids.values()))}"

    def chosen(self) -> None:
        self.action_layers()

    def action_layers(self) -> None:
        row = self.selected()
        if row is not None:
            from .layers import LayersScreen

            self.app.push_screen(LayersScreen(row.ref, row.label))

    def action_run(self) -> None:
        row = self.selected()
        if row is None:
            return
        from ..runform import RunForm
        from .rundialog import RunDialog

        self.app.push_screen(RunDialog(RunForm(image=row.ref)))

    def action_tag(self) -> None:
        row = self.selected()
        if row is None:
            return
        from .prompt import PromptDialog

        def answered(values: dict[str, str] | None) -> None:
            if not values:
                return
            target = values["target"]
            engine = self.tapp.engine

            def tag() -> None:
                engine.images.tag(engine.images.get(row.ref), target)

            self.act(f"tag {row.label}", tag, f"{row.label}: tagged {target}")

        self.app.push_screen(PromptDialog(f"Tag {row.label}", "Tag",
                                          [("target", "New name", "myapp:1.0, localhost:5000/app", "")],
                                          required=("target",)), answered)

    def action_remove(self) -> None:
        row = self.selected()
        if row is None:
            return
        from .dialogs import ConfirmDialog

        others = len(row.summary.image.repo_tags) - 1
        question = (f"Remove image {row.label}?" + (f"\nOnly this name goes: the image keeps {others} other "
                                                   f"name{'' if others == 1 else 's'}." if others > 0 else ""))
        engine = self.tapp.engine

        def remove() -> str:
            deleted, errors = engine.remove_images([row.ref])
            if errors:
                from runtime.errors import Conflict

                raise Conflict("; ".join(errors))
            return f"{row.label}: " + ", ".join(
                "untagged" if d.untagged else f"deleted {d.deleted[7:19]}" for d in deleted)

        def answered(yes: bool | None) -> None:
            if yes:
                self.act(f"remove {row.label}", remove, lambda text: str(text))

        self.app.push_screen(ConfirmDialog(question, "Remove"), answered)

    def action_prune(self) -> None:
        from .dialogs import ConfirmDialog

        engine = self.tapp.engine

        def prune() -> tuple[Any, int]:
            return engine.prune_images(False)

        def pruned(result: tuple[Any, int]) -> str:
            deleted, freed = result
            gone = sum(1 for d in deleted if d.deleted)
            return f"{gone} image{'' if gone == 1 else 's'} removed, {human_size(freed)} reclaimed"

        def answered(yes: bool | None) -> None:
            if yes:
                self.act("prune images", prune, pruned)

        self.app.push_screen(ConfirmDialog("Remove every dangling image (untagged and unused)?", "Prune"), answered)

    def action_pull(self) -> None:
        from .transfer import PullScreen
        from .prompt import PromptDialog

        def answered(values: dict[str, str] | None) -> None:
            if values:
                self.app.push_screen(PullScreen(values["name"]), lambda _: self.reload())

        self.app.push_screen(PromptDialog("Pull an image", "Pull",
                                          [("name", "Image", "busybox:latest, localhost:5000/app:1", "")],
                                          required=("name",)), answered)

    def action_build(self) -> None:
        from .transfer import BuildScreen
        from .prompt import PromptDialog

        def answered(values: dict[str, str] | None) -> None:
            if values:
                self.app.push_screen(BuildScreen(values["context"], values["tag"], values["dockerfile"]),
                                     lambda _: self.reload())

        self.app.push_screen(PromptDialog("Build an image", "Build", [
            ("context", "Directory", "/path/to/context", ""),
            ("tag", "Tag", "myapp:latest (optional)", ""),
            ("dockerfile", "Dockerfile", "default: DIRECTORY/Dockerfile", "")], required=("context",)), answered)
