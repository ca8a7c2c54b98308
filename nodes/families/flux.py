"""FLUX.1, Flux.2, Chroma and their relatives: one ids tensor ``cat(text, image, references)``.

Axes, theta and sampling shift: ComfyUI's ``comfy/supported_models.py``. Native sizes: the
FLUX.1 and Flux.2 model cards (1024 px, 64 tokens of 16 px); Ovis-Image and LongCat-Image
(``Flux`` with text ids on axes 1 and 2) are 1024 px models too. Chroma and Chroma Radiance
form image ids in the model dtype. Chroma1-Radiance is the pixel-space retune of Chroma
(patch 16 on RGB, so 16 px per token); its checkpoints are used at 1024 px.
"""

from __future__ import annotations

from dataclasses import replace

from ...dype_core import FLUX1, FLUX2
from .family import Family

FLUX_CLASS = "comfy.ldm.flux.model.Flux"

CHROMA = Family(
    name="Chroma", members="Chroma",
    classes=("comfy.ldm.chroma.model.Chroma",), layout=replace(FLUX1, name="Chroma"),
    native=(1024, 1024), base_mu=1.15,
    exact_ids=True, controlnets=True,
)

FAMILIES = (
    Family(
        name="FLUX.1", members="dev, schnell, Krea, Fill, Kontext, Ovis-Image, LongCat-Image",
        classes=(FLUX_CLASS,), layout=FLUX1, native=(1024, 1024), base_mu=1.15, controlnets=True,
    ),
    # Flux.2 samples with mu 2.02 (ComfyUI's Flux2 model config, sampling_settings shift).
    Family(
        name="Flux.2", members="dev, Klein",
        classes=(FLUX_CLASS,), layout=FLUX2, native=(1024, 1024), base_mu=2.02, controlnets=True,
    ),
    CHROMA,
    Family(
        name="Chroma Radiance", members="Chroma1-Radiance (pixel space)",
        classes=("comfy.ldm.chroma_radiance.model.ChromaRadiance",),
        layout=replace(FLUX1, name="Chroma Radiance", latent_downscale=1, patch=16),
        native=(1024, 1024), base_mu=1.15, exact_ids=True,
    ),
)
