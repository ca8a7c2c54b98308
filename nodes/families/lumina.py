"""Lumina-Image 2.0, NewBie and Z-Image (with Omni editing and the pixel-space model).

``NextDiT`` calls its embedder once per segment, always with batch 1: for each reference
(Omni editing) and then the main image, a caption, a SigLIP segment (Omni on a
SigLIP-capable checkpoint) and the image, padded to ``pad_tokens_multiple`` with zero ids;
leftover captions follow. So the main image is a fixed call of the forward. Image ids
``(caption + 1, r, c)`` are float32. Native sizes: 1024 px (Lumina-Image 2.0 model card,
arXiv 2503.21758; Z-Image technical report, Tongyi-MAI). Sampling: discrete flow, shift 6
(Lumina 2) and 3 (Z-Image), ``supported_models.Lumina2`` and ``ZImage``.
"""

from __future__ import annotations

import math
from typing import Any

from ...dype_core import RotaryLayout
from ..tokens import Locator, Segments
from .family import Call, Family

NEXTDIT = "comfy.ldm.lumina.model.NextDiT"
PIXEL = "comfy.ldm.lumina.model.NextDiTPixelSpace"


def main_segment(call: Call) -> Locator:
    """The main image's call: after each reference's caption, [SigLIP] and image calls, and its own
    caption and [SigLIP] call (SigLIP segments only in Omni mode on a SigLIP-capable checkpoint)."""
    model = call.model
    references = len(call.argument("ref_latents") or [])
    per_segment = 3 if references and getattr(model, "siglip_embedder", None) is not None else 2
    pad = getattr(model, "pad_tokens_multiple", None) or 1
    length = -(-call.count // pad) * pad
    return Segments(index=per_segment * references + per_segment - 1, image=slice(0, call.count), length=length)


def _axes(axes_dim: tuple[int, ...]) -> Any:
    return lambda model, embedder: tuple(getattr(embedder, "axes_dim", ())) == axes_dim


LUMINA2 = RotaryLayout(
    name="Lumina 2", axes_dim=(32, 32, 32), theta=10000.0, row_axis=1, col_axis=2,
    base_grid=(64.0, 64.0), latent_downscale=8, patch=2,
)
ZIMAGE = RotaryLayout(
    name="Z-Image", axes_dim=(32, 48, 48), theta=256.0, row_axis=1, col_axis=2,
    base_grid=(64.0, 64.0), latent_downscale=8, patch=2,
)

_COMMON = dict(embedder="diffusion_model.rope_embedder", image=main_segment)

FAMILIES = (
    Family(
        name="Lumina 2", members="Lumina-Image 2.0, NewBie", classes=(NEXTDIT,), layout=LUMINA2,
        native=(1024, 1024), base_mu=math.log(6.0), variant=_axes(LUMINA2.axes_dim), **_COMMON,
    ),
    Family(
        name="Z-Image", members="Turbo, Base, Omni, Edit", classes=(NEXTDIT,), layout=ZIMAGE,
        native=(1024, 1024), base_mu=math.log(3.0), variant=_axes(ZIMAGE.axes_dim), **_COMMON,
    ),
    # The pixel-space model patchifies RGB directly: one token is ``patch_size`` pixels.
    Family(
        name="Z-Image pixel space", members="Z-Image pixel-space", classes=(PIXEL,),
        layout=RotaryLayout(
            name="Z-Image pixel space", axes_dim=(32, 48, 48), theta=256.0, row_axis=1, col_axis=2,
            base_grid=(64.0, 64.0), latent_downscale=1, patch=16,
        ),
        native=(1024, 1024), base_mu=math.log(3.0), **_COMMON,
    ),
)
