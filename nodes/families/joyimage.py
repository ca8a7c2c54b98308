"""JoyImage and JoyImage-Edit (ComfyUI 0.29): a table made by a method of the model.

``JoyImageTransformer3DModel.get_rotary_pos_embed_for_components([(t, h, w), ...], device)``
builds one table ``[1, N, 1, P, 2, 2]`` (float32) for the main image and then each reference,
every component's rows and columns from 0 and its frames after the previous component's; axes
16/56/56 (``rope_dim_list``) and theta 10000 (both from ComfyUI's model config, read from the
model). The model applies it with comfy-kitchen's fused ``rms_rope``; text tokens are not
rotated. Wan 2.1 VAE (/8), patch (1, 2, 2): 16 px per token; discrete flow, shift 1.5.
Native 1024 px: ComfyUI's JoyAI-Image-Edit template (comfyui-workflow-templates 0.11.44) scales
the input to one megapixel and samples 1024 x 1024.
"""

from __future__ import annotations

from typing import Any

from ...dype_core.models import MODELS
from .family import Family, first


def joyimage_layout(method: Any) -> dict:
    """Axes and theta of the model whose table ``method`` builds."""
    model = method.__self__
    return {"axes_dim": tuple(model.rope_dim_list), "theta": float(model.theta)}


FAMILIES = (
    Family(
        name="JoyImage", members="JoyImage, JoyImage-Edit",
        classes=("comfy.ldm.joyimage.model.JoyImageTransformer3DModel",),
        model=MODELS["joyimage"], embedder="diffusion_model.get_rotary_pos_embed_for_components",
        source="components", image=first, read_layout=joyimage_layout,
    ),
)
