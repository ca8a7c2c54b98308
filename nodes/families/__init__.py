"""The model families DyPE patches, and their detection from a loaded model.

Each module holds the families of one model code base as data (``Family`` entries); adding a
family is an entry and its tests. Detection looks at the diffusion model's class and its
rotary embedder, never at a user switch. Models DyPE cannot reach are refused by name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ...dype_core import RotaryLayout
from . import apply_model, cosmos, flux, hunyuan, joyimage, lumina, qwen, single_call, video
from .family import APPLY_MODEL, DIFFUSION_MODEL, Call, Family, Hook
from .refusals import REFUSED, VARIANTS

FAMILIES: tuple[Family, ...] = (
    *flux.FAMILIES, *qwen.FAMILIES, *lumina.FAMILIES, *single_call.FAMILIES, *hunyuan.FAMILIES,
    *video.FAMILIES, *apply_model.FAMILIES, *cosmos.FAMILIES, *joyimage.FAMILIES,
)

__all__ = ["APPLY_MODEL", "DIFFUSION_MODEL", "FAMILIES", "Call", "Family", "Hook", "UnsupportedModel", "detect"]


class UnsupportedModel(ValueError):
    """The model has no rotary embedder DyPE knows how to patch."""


def supported() -> str:
    """The supported families, for messages."""
    return ", ".join(f.name for f in FAMILIES)


def class_name(obj: Any) -> str:
    kind = type(obj)
    return f"{kind.__module__}.{kind.__qualname__}"


def detect(
    diffusion_model: Any, embedder_at: Callable[[str], Any], latent_downscale: int | None = None
) -> tuple[Family, RotaryLayout]:
    """The family of ``diffusion_model`` and its layout, read from the host's embedder.

    ``embedder_at(path)`` returns the host's embedder at a path on the BaseModel. The layout
    takes the embedder's axis dims and theta and the model's patch size, so a checkpoint's own
    numbers win over the family's defaults; ``latent_downscale`` is the VAE's, from the
    model's latent format.
    """
    name = class_name(diffusion_model)
    for family in FAMILIES:
        if name not in family.classes:
            continue
        embedder = embedder_at(family.embedder)
        if family.matches(diffusion_model, embedder):
            return family, _layout(family, diffusion_model, embedder, latent_downscale)
    reason = REFUSED.get(name) or REFUSED.get(type(diffusion_model).__name__)
    if reason is None and any(name in family.classes for family in FAMILIES):
        reason = VARIANTS.get(name, "this variant's rotary layout is not one DyPE knows")
    reason = reason or "it is not a rotary-position transformer DyPE knows"
    raise UnsupportedModel(
        f"DyPE cannot patch {type(diffusion_model).__name__} ({name}): {reason}. Supported families: {supported()}."
    )


def _layout(family: Family, diffusion_model: Any, embedder: Any, latent_downscale: int | None) -> RotaryLayout:
    """The family's layout with the checkpoint's axis dims, theta and pixels per token, and the
    base grid of the family's native size in those tokens."""
    layout = family.layout
    rotary = family.rotary(embedder)
    if "axes_dim" in rotary:
        layout = replace(layout, axes_dim=tuple(int(d) for d in rotary["axes_dim"]))
    if "theta" in rotary:
        layout = replace(layout, theta=float(rotary["theta"]))
    patch = getattr(diffusion_model, "patch_size", layout.patch) if family.patch_from_model else layout.patch
    if isinstance(patch, (tuple, list)):
        patch = patch[-1]
    if family.downscale_from_format and latent_downscale:
        layout = replace(layout, latent_downscale=latent_downscale)
    layout = replace(layout, patch=int(patch))
    height, width = family.native
    return replace(layout, base_grid=(height / layout.px_per_token, width / layout.px_per_token))
