"""FLUX.1, Flux.2, Chroma and their relatives: one ids tensor ``cat(text, image, references)``.

Axes, theta and sampling shift: ComfyUI's ``comfy/supported_models.py``. Native sizes: the
FLUX.1 and Flux.2 model cards (1024 px, 64 tokens of 16 px); Ovis-Image and LongCat-Image
(``Flux`` with text ids on axes 1 and 2) are 1024 px models too. Chroma and Chroma Radiance
form image ids in the model dtype. Chroma1-Radiance is the pixel-space retune of Chroma
(patch 16 on RGB, so 16 px per token); its checkpoints are used at 1024 px.
"""

from __future__ import annotations

from ...dype_core.models import MODELS
from .family import Family

FLUX_CLASS = "comfy.ldm.flux.model.Flux"

CHROMA = Family(
    name="Chroma", members="Chroma",
    classes=("comfy.ldm.chroma.model.Chroma",), model=MODELS["chroma"], exact_ids=True, controlnets=True,
)

FAMILIES = (
    Family(
        name="FLUX.1", members="dev, schnell, Krea, Fill, Kontext, Ovis-Image, LongCat-Image",
        classes=(FLUX_CLASS,), model=MODELS["flux"], controlnets=True,
    ),
    Family(
        name="Flux.2", members="dev, Klein",
        classes=(FLUX_CLASS,), model=MODELS["flux2"], controlnets=True,
    ),
    CHROMA,
    Family(
        name="Chroma Radiance", members="Chroma1-Radiance (pixel space)",
        classes=("comfy.ldm.chroma_radiance.model.ChromaRadiance",),
        model=MODELS["chroma-radiance"], exact_ids=True,
    ),
)
