"""``tuidock build``: an image from a Dockerfile, printed step by step as docker's classic builder does."""

from __future__ import annotations

import os
import sys
import tempfile

from runtime.errors import InvalidArgument

from ..common import cancellable, engine
from ..options import Command, opt

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from runtime.engine.build import BuildEvent

COMMAND = Command("build", "[OPTIONS] PATH | -", "Build an image from a Dockerfile", [
    opt("-t, --tag", kind="list", help="Name and optionally a tag in the 'name:tag' format"),
    opt("-f, --file", kind="str", help="Name of the Dockerfile (default: 'PATH/Dockerfile'; - for STDIN)"),
    opt("--build-arg", kind="list", help="Set build-time variables"),
    opt("--no-cache", help="Do not use cache when building the image"),
    opt("--target", kind="str", help="Set the target build stage to build"),
    opt("-q, --quiet", help="Suppress the build output and print image ID on success"),
    opt("--label", kind="list", help="Set metadata for an image"),
    opt("--network", kind="str", default="none", help="Networking mode for the RUN instructions (default none)"),
    opt("--rm", default=True, help="Remove intermediate containers after a successful build (always done)"),
    opt("--force-rm", help="Always remove intermediate containers (always done)"),
], min_args=1, max_args=1, aliases=("image build",))


def key_values(items: list[str], what: str) -> dict[str, str]:
    out = {}
    for item in items:
        k, eq, v = item.partition("=")
        if not k:
            raise InvalidArgument(f"{what} {item!r}: must be KEY=VALUE")
        if not eq:
            if k not in os.environ:
                continue  # docker: --build-arg KEY without a value takes it from the environment, if set
            v = os.environ[k]
        out[k] = v
    return out


def printer(quiet: bool) -> Any:
    def show(e: BuildEvent) -> None:
        from runtime.engine.build import EventKind

        if quiet:
            return
        if e.kind is EventKind.OUTPUT:
            sys.stdout.flush()
            os.write(1, e.data)  # docker's classic builder streams a RUN's stdout and stderr to stdout
            return
        sys.stdout.write(e.line() + "\n")
        sys.stdout.flush()

    return show


def execute(values: dict[str, Any], operands: list[str]) -> int:
    from runtime.engine.build import BuildOptions

    context = operands[0]
    dockerfile = values["file"]
    text = None
    tmp = None
    if context == "-" or dockerfile == "-":
        if context == "-" and dockerfile == "-":
            raise InvalidArgument("build: the Dockerfile and the context cannot both come from STDIN")
        text = sys.stdin.read()
        dockerfile = None
    if context == "-":
        tmp = tempfile.TemporaryDirectory(prefix="tuidock-build-")
        context = tmp.name  # no context: COPY and ADD have nothing to take
    elif not os.path.isdir(context):
        raise InvalidArgument(f"build: unable to prepare context: path {context!r} not found")
    try:
        opts = BuildOptions(context=os.path.abspath(context), dockerfile=dockerfile, dockerfile_text=text,
                            tags=tuple(values["tag"]), build_args=key_values(values["build_arg"], "--build-arg"),
                            no_cache=values["no_cache"], target=values["target"], network=values["network"],
                            labels=key_values(values["label"], "--label"))
        eng = engine()
        result = cancellable(lambda cancel: eng.build(opts, printer(values["quiet"]), cancel=cancel))
    finally:
        if tmp is not None:
            tmp.cleanup()
    if values["quiet"]:
        print(result.image.id)
    return 0
