"""Qwen-Image (Edit, Layered), Qwen-Image 2.1 and Mage-Flow: ``EmbedND`` tables around a centred grid.

``QwenImageTransformer2DModel`` builds one ids tensor per forward: the text first, on the
diagonal ``(s + i, s + i, s + i)`` after the image (``s = max(rows // 2, cols // 2)``), then
the main image's frames (Layered: one per layer) centred on the grid,
``(frame, r - rows // 2, c - cols // 2)`` formed in the model dtype, then the edit
references. Latents are 5-D ``[B, C, frames, H, W]``. Its ControlNets (InstantX-style, with their own
embedder; Fun, calling the model's) build ``cat(text, image)`` from the same image ids. Native size
1328 x 1328 px (83 tokens of 16 px), the 1:1 entry of the aspect-ratio table in the QwenLM/Qwen-Image README and model
card; the authors' DyPE code uses it too. Sampling: ``ModelSamplingFlux``, mu 1.15
(``supported_models.QwenImage``).

Qwen-Image 2.1 (ComfyUI 0.37, ``comfy/ldm/qwen_image21/model.py``, read from source; not run here):
one ids tensor per forward, text chunks and references interleaved in the prompt's order on one
running position (text ``(p, p, p)``; a reference ``(p, centred grid)``, then ``p += max(h, w)``),
the target image last at ``(p, r - ceil(rows / 2), c - ceil(cols / 2))``, exact in float32. One latent
pixel is one token (64 channels, VAE /16). The table is transposed to ``[1, N, 1, ...]`` after the
embedder and applied by comfy-kitchen's fused ``rms_rope``; a prefix K/V cache keeps text and
references (host tables) across steps and still embeds the whole sequence each step. Native size
1024 px: ComfyUI's config fixes ``ModelSamplingFlux`` mu 0.69, "scheduler mu at 1024x1024"
(``supported_models.QwenImage21``); confidence medium, no model card was readable here.

Mage-Flow (ComfyUI 0.29, ``comfy/ldm/mage_flow/model.py``; ``model_base.MageFlow`` subclasses
``QwenImage``): zero text ids, then the image ``(0, r - ceil(rows / 2), c - ceil(cols / 2))``, exact
in float32, then references ``(k, centred grid)``; a ``post_input`` patch may rewrite the ids, and
DyPE reads the ids it is given. Flux.2 VAE (/16), patch 1, discrete flow shift 6. Native 2048 px:
trained at native resolutions from 512 to 2048 px a side, "avoid exceeding 2048" (ComfyUI's
Mage-Flow text-to-image template, comfyui-workflow-templates 0.11.44, citing microsoft/Mage).
"""

from __future__ import annotations

from ...dype_core.models import MODELS
from .family import Family, last


def centred(rows: int, cols: int) -> tuple[int, int]:
    """The first image token of a centred grid: ``(-(rows // 2), -(cols // 2))``."""
    return -(rows // 2), -(cols // 2)


FAMILIES = (
    Family(
        name="Qwen-Image", members="Qwen-Image, Edit, Edit-2509, Edit-2511, Layered",
        classes=("comfy.ldm.qwen_image.model.QwenImageTransformer2DModel",),
        model=MODELS["qwen-image"], exact_ids=True, origin=centred, controlnets=True,
    ),
    Family(
        name="Qwen-Image 2.1", members="Qwen-Image 2.1 (text to image, edit)",
        classes=("comfy.ldm.qwen_image21.model.QwenImage21Transformer2DModel",),
        model=MODELS["qwen-image-2.1"], image=last,
    ),
    Family(
        name="Mage-Flow", members="Mage-Flow",
        classes=("comfy.ldm.mage_flow.model.MageFlowTransformer2DModel",),
        model=MODELS["mage-flow"],
    ),
)
