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

from typing import Any

from ...dype_core.models import MODELS
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


_COMMON = dict(embedder="diffusion_model.rope_embedder", image=main_segment)

FAMILIES = (
    Family(
        name="Lumina 2", members="Lumina-Image 2.0, NewBie", classes=(NEXTDIT,), model=MODELS["lumina2"],
        variant=_axes(MODELS["lumina2"].layout.axes_dim), **_COMMON,
    ),
    Family(
        name="Z-Image", members="Turbo, Base, Omni, Edit", classes=(NEXTDIT,), model=MODELS["z-image"],
        variant=_axes(MODELS["z-image"].layout.axes_dim), **_COMMON,
    ),
    # The pixel-space model patchifies RGB directly: one token is ``patch_size`` pixels.
    Family(
        name="Z-Image pixel space", members="Z-Image pixel-space", classes=(PIXEL,), model=MODELS["z-image-pixel"],
        **_COMMON,
    ),
)
