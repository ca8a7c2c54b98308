"""Tiny ``Anima`` (``comfy.ldm.anima.model``): Cosmos Predict2's network under another class (the host adds a
text adapter in front, which has no rotary positions of the image)."""

from __future__ import annotations

from ..cosmos.predict2 import MiniTrainDIT


class Anima(MiniTrainDIT):
    pass
