"""``tuidock pull``: an image from a registry into the store, with docker's progress output."""

from __future__ import annotations

import sys

from ..common import cancellable, engine
from ..options import Command, opt

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

COMMAND = Command("pull", "[OPTIONS] NAME[:TAG|@DIGEST]", "Download an image from a registry", [
    opt("-q, --quiet", help="Suppress verbose output"),
    opt("--platform", kind="str", help="Set platform if the image is multi-platform (os/arch[/variant])"),
    # "" = not given: the registry's insecure setting decides (bool flags cannot default to None here).
    opt("--tls-verify", default="", help="Require HTTPS and verify certificates (false: allow an insecure registry)"),
], min_args=1, max_args=1)


def tls_verify(values: dict[str, Any]) -> bool | None:
    v = values["tls_verify"]
    return None if v == "" else bool(v)


def execute(values: dict[str, Any], operands: list[str]) -> int:
    from runtime.images import reference

    from ..progress import Renderer

    name = operands[0]
    ref = reference.parse(name, default_tag=False)
    eng = engine()
    if not values["quiet"] and ref.tag is None and ref.digest is None:
        print("Using default tag: latest", flush=True)
    progress = None if values["quiet"] else Renderer(sys.stdout)
    cancellable(lambda cancel: eng.pull(name, platform=values["platform"], tls_verify=tls_verify(values),
                                        progress=progress, cancel=cancel))
    ref = reference.parse(name)
    print(f"{ref.name}@{ref.digest}" if ref.digest else f"{ref.name}:{ref.tag}")  # docker's last line
    return 0
