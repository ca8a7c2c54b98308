"""Qwen-Image, Qwen-Image-Edit (2509, 2511) and Qwen-Image-Layered.

``QwenImageTransformer2DModel`` builds one ids tensor per forward: the text first, on the
diagonal ``(s + i, s + i, s + i)`` after the image (``s = max(rows // 2, cols // 2)``), then
the main image's frames (Layered: one per layer) centred on the grid,
``(frame, r - rows // 2, c - cols // 2)`` formed in the model dtype, then the edit
references. Latents are 5-D ``[B, C, frames, H, W]``. Native size 1328 x 1328 px (83 tokens
of 16 px), the 1:1 entry of the aspect-ratio table in the QwenLM/Qwen-Image README and model
card; the authors' DyPE code uses it too. Sampling: ``ModelSamplingFlux``, mu 1.15
(``supported_models.QwenImage``).
"""

from __future__ import annotations

from dataclasses import replace

from ...dype_core import FLUX1
from .family import Family


def centred(rows: int, cols: int) -> tuple[int, int]:
    """The first image token of a centred grid: ``(-(rows // 2), -(cols // 2))``."""
    return -(rows // 2), -(cols // 2)


FAMILIES = (
    Family(
        name="Qwen-Image", members="Qwen-Image, Edit, Edit-2509, Edit-2511, Layered",
        classes=("comfy.ldm.qwen_image.model.QwenImageTransformer2DModel",),
        layout=replace(FLUX1, name="Qwen-Image"), native=(1328, 1328), base_mu=1.15,
        exact_ids=True, origin=centred,
    ),
)
