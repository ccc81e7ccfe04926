"""``tuidock tag SOURCE TARGET``: another name for an image."""

from __future__ import annotations

from ..common import engine
from ..options import Command

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

COMMAND = Command("tag", "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
                  min_args=2, max_args=2, aliases=("image tag",))


def execute(values: dict[str, Any], operands: list[str]) -> int:
    eng = engine()
    img = eng.images.get(operands[0])
    eng.images.tag(img, operands[1])
    return 0
