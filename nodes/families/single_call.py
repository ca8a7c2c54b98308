"""Families whose forward builds one ids tensor around the image: HiDream-I1, Krea 2, Lens.

HiDream-I1: image first ``(0, r, c)`` then zero text ids, float32; its own ``EmbedND``
returns ``[B, L, 1, ...]``. Native 1024 px (HiDream-ai/HiDream-I1 ``gradio_demo.py``
resolutions, all about 1 MP). The Full model's own scheduler shift there is 3.0, but ComfyUI's
config leaves the shift at 1, which ``time_shift = base`` restores (ComfyUI's HiDream workflows set
the shift with a ``ModelSamplingSD3`` node, which ``model`` keeps).
Krea 2: zero text ids then the image ``(0, r, c)``, float32; axes from the head dim
(32/48/48 at 128), theta 1000. Native "1K" (Krea's Krea 2 guide); ``ModelSamplingFlux`` 1.15.
Lens: image first, centred ``(0, r - ceil(rows / 2), c - ceil(cols / 2))``, then text on
the diagonal after it, float32, batch 1. One latent pixel is one token (Flux.2 VAE, /16); its
``patch_size`` of 2 sizes only the output layer.
Native: up to 1440 x 1440 px (microsoft Lens model card); ``ModelSamplingFlux`` 1.829.
"""

from __future__ import annotations

from ...dype_core.models import MODELS
from ..tokens import Locator
from .family import Call, Family, UnsupportedInput, first

#: HiDream-I1's forward: ``(x, t, y, context, encoder_hidden_states_llama3, image_cond, ...)``.
_IMAGE_COND = 5


def hidream_image(call: Call) -> Locator:
    """The image comes first; HiDream-E1 editing (``image_cond``) is refused."""
    image_cond = call.kwargs.get("image_cond", call.args[_IMAGE_COND] if len(call.args) > _IMAGE_COND else None)
    if image_cond is not None:
        raise UnsupportedInput(
            "HiDream-E1 editing places the reference image beside the target in one token grid, so the "
            "target's positions are not one image grid DyPE can scale; remove DyPE for HiDream-E1 edits"
        )
    return first(call)


def centred_up(rows: int, cols: int) -> tuple[int, int]:
    """The first token of Lens's centred grid: ``(-ceil(rows / 2), -ceil(cols / 2))``."""
    return -(rows - rows // 2), -(cols - cols // 2)


FAMILIES = (
    Family(
        name="HiDream-I1", members="Full, Dev, Fast",
        classes=("comfy.ldm.hidream.model.HiDreamImageTransformer2DModel",),
        model=MODELS["hidream-i1"], image=hidream_image, head_axis=2,
    ),
    Family(
        name="Krea 2", members="Raw, Turbo",
        classes=("comfy.ldm.krea2.model.SingleStreamDiT",),
        model=MODELS["krea2"],
    ),
    Family(
        name="Lens", members="Lens",
        classes=("comfy.ldm.lens.model.LensTransformer2DModel",),
        model=MODELS["lens"], embedder="diffusion_model.pos_embed", image=first, origin=centred_up,
        patch_from_model=False,
    ),
)
