"""FLUX.1, Flux.2 and Chroma: ``cat(text, image, references)`` ids, image after the text.

Sources: ComfyUI ``comfy/supported_models.py`` (axes, theta, sampling shift), the FLUX.1 and
Flux.2 model cards (1024 px, 64 tokens of 16 px). Chroma builds image ids in the model dtype.
"""

from __future__ import annotations

from dataclasses import replace

from ...dype_core import FLUX1, FLUX2
from .family import Family

FAMILIES = (
    Family(
        name="FLUX.1", members="dev, schnell, Krea, Fill, Kontext",
        model_class="comfy.ldm.flux.model.Flux", layout=FLUX1, base_mu=1.15, controlnets=True,
    ),
    # Flux.2 samples with mu 2.02 (ComfyUI's Flux2 model config, sampling_settings shift).
    Family(
        name="Flux.2", members="dev, Klein",
        model_class="comfy.ldm.flux.model.Flux", layout=FLUX2, base_mu=2.02, controlnets=True,
    ),
    Family(
        name="Chroma", members="Chroma",
        model_class="comfy.ldm.chroma.model.Chroma", layout=replace(FLUX1, name="Chroma"), base_mu=1.15,
        exact_ids=True, controlnets=True,
    ),
)
