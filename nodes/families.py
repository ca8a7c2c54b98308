"""The model families DyPE patches, as data, and their detection from a loaded model.

A family says where the rotary embedder sits, its rotary layout and training resolution,
how to find the main image's tokens in the ids the embedder receives, and how the model
samples. Detection looks at the diffusion model's class and its embedder, never at a
user switch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from ..dype_core import FLUX1, FLUX2, RotaryLayout


class UnsupportedModel(ValueError):
    """The model has no rotary embedder DyPE knows how to patch."""


@dataclass(frozen=True)
class Family:
    """One model family.

    ``model_class`` is the diffusion model's ``module.QualName``; ``axes`` tells apart
    families sharing a class. ``embedder`` is the rotary embedder's path on the BaseModel.
    The host builds ids as ``cat(text, image, references)`` with as many text tokens as the
    ``context`` argument has: the main image is the ``rows x cols`` block after the text.
    ``exact_image_ids`` marks families whose image ids the host builds in the model dtype
    (bf16 is exact only up to 256), so DyPE rebuilds them in float32 from the grid.
    """

    name: str
    members: str
    model_class: str
    axes: int
    layout: RotaryLayout
    embedder: str = "diffusion_model.pe_embedder"
    exact_image_ids: bool = False
    head_axis: int = 1
    base_mu: float = 1.15
    sigma_max: float = 1.0

    @staticmethod
    def transformer_options(args: tuple, kwargs: dict) -> dict:
        """``transformer_options`` of a DIFFUSION_MODEL call (the last positional argument)."""
        return kwargs["transformer_options"] if "transformer_options" in kwargs else args[-1]

    @staticmethod
    def text_tokens(args: tuple, kwargs: dict) -> int:
        """Text tokens before the image in the ids: the length of ``context``."""
        context = kwargs["context"] if "context" in kwargs else args[2]
        return int(context.shape[1])


FAMILIES: tuple[Family, ...] = (
    Family(
        name="FLUX.1", members="dev, schnell, Krea, Fill, Kontext",
        model_class="comfy.ldm.flux.model.Flux", axes=3, layout=FLUX1,
    ),
    # Flux.2 samples with mu 2.02 (ComfyUI's Flux2 model config, sampling_settings shift).
    Family(
        name="Flux.2", members="dev, Klein",
        model_class="comfy.ldm.flux.model.Flux", axes=4, layout=FLUX2, base_mu=2.02,
    ),
    Family(
        name="Chroma", members="Chroma",
        model_class="comfy.ldm.chroma.model.Chroma", axes=3, layout=replace(FLUX1, name="Chroma"),
        exact_image_ids=True,
    ),
)


#: Models known not to work, by the diffusion model's class name, with the reason.
UNPATCHABLE = {
    "ComfyFluxWrapper": "Nunchaku's quantized FLUX computes RoPE inside its own fused kernels and does not run "
    "ComfyUI's model wrappers, so DyPE cannot reach its positions",
    "ComfyFlux2Wrapper": "Nunchaku's quantized Flux.2 computes RoPE inside its own fused kernels and does not run "
    "ComfyUI's model wrappers, so DyPE cannot reach its positions",
}


def supported() -> str:
    """The supported families, for messages."""
    return "; ".join(f"{f.name} ({f.members})" for f in FAMILIES)


def class_name(obj: Any) -> str:
    kind = type(obj)
    return f"{kind.__module__}.{kind.__qualname__}"


def detect(diffusion_model: Any, embedder_at: Callable[[str], Any]) -> tuple[Family, RotaryLayout]:
    """The family of ``diffusion_model`` and its layout, read from the host's embedder.

    ``embedder_at(path)`` returns the host's embedder at a path on the BaseModel. The layout
    takes the embedder's axis dims and theta, so a checkpoint's own numbers win over the
    family's defaults.
    """
    name = class_name(diffusion_model)
    for family in FAMILIES:
        if family.model_class != name:
            continue
        embedder = embedder_at(family.embedder)
        axes_dim = getattr(embedder, "axes_dim", None)
        if axes_dim is not None and len(axes_dim) == family.axes:
            patch = int(getattr(diffusion_model, "patch_size", family.layout.patch))
            layout = replace(
                family.layout, axes_dim=tuple(int(d) for d in axes_dim), theta=float(embedder.theta), patch=patch
            )
            return family, layout
    reason = UNPATCHABLE.get(type(diffusion_model).__name__, "it is not a rotary-position transformer DyPE knows")
    raise UnsupportedModel(
        f"DyPE cannot patch {type(diffusion_model).__name__} ({name}): {reason}. Supported families: {supported()}."
    )
