"""Wan 2.1 / 2.2 and Kandinsky 5: an embedder for the image tokens alone (text attends by
cross-attention), called first in the forward.

Wan: ``rope_embedder`` (44/42/42, theta 10000; host code reads its ``.theta``) on ids
``(t, r, c)`` formed in the model dtype; a Fun reference frame comes before the video and
Phantom's subject frames after it in the same call; in-context references, S2V and HuMo
frames, and Wan Animate 2's pose video (``rope_encode_pose``, ComfyUI 0.31) are later calls and
keep the host's table. Sampling: discrete flow, shift 8. Trained at 832 x 480 and 1280 x 720
in both orientations (Wan-AI/Wan2.1 and Wan2.2 READMEs: sizes 1280*720, 720*1280, 832*480,
480*832), so each spatial axis saw 1280 px: 80 tokens of 16 px. Wan 2.2 TI2V-5B
(VAE /16, 32 px per token) supports 1280 x 704 and 704 x 1280: 40 tokens. Wan 2.1 1.3B was
trained at 480p only: 832 px, 52 tokens. Time: clips of 81 frames, 21 latent frames (Wan 2.1 and
2.2 A14B READMEs, ``--frame_num 81``; VAE /4 in time), and 121 frames, 31 latent frames, for Wan 2.2
TI2V-5B (its README); above that the time axis is extrapolated (``DyPESettings.time``).
Kandinsky 5 Image Lite: ``rope_embedder_3d`` (32/48/48) on ids ``(0, r, c)`` in the model
dtype; the text embedder is separate. Native "1K" (1024 x 1024, 1280 x 768; kandinskylab
Kandinsky-5.0-T2I-Lite model card, arXiv 2511.14993). Shift 3. Its video models divide
positions by a built-in scale factor and are not covered.
"""

from __future__ import annotations

from typing import Any

from ...dype_core.models import MODELS
from ..tokens import Locator, Segments
from .family import Call, Family

WAN_CLASSES = tuple(
    f"comfy.ldm.wan.{name}"
    for name in (
        "model.WanModel", "model.VaceWanModel", "model.CameraWanModel", "model.HumoWanModel",
        "model.WanModel_S2V", "model.SCAILWanModel", "model.SCAIL2WanModel", "model_animate.AnimateWanModel",
        "model_wandancer.WanDancerModel", "model_animate2.WanAnimate2Model",
    )
)


def first_call(call: Call) -> Locator:
    """The forward's first embedder call holds exactly the main image's tokens."""
    return Segments(index=0, image=slice(0, call.count), length=call.count)


def wan_video(call: Call) -> Locator:
    """Wan's first embedder call: the video's frames, after the reference frame of Fun reference
    models (``reference_latent`` through ``ref_conv``) and before Phantom's subject frames
    (``time_dim_concat``)."""
    reference = call.argument("reference_latent") is not None and getattr(call.model, "ref_conv", None) is not None
    start = call.grid[0] * call.grid[1] if reference else 0
    return Segments(index=0, image=slice(start, start + call.count))


def _wan_5b(model: Any, embedder: Any) -> bool:
    """Wan 2.2 TI2V 5B: 48 output channels (its VAE's)."""
    return getattr(model, "out_dim", None) == 48


def _wan_1_3b(model: Any, embedder: Any) -> bool:
    """Wan 2.1 1.3B: width 1536."""
    return getattr(model, "dim", None) == 1536 and not _wan_5b(model, embedder)


def _wan_14b(model: Any, embedder: Any) -> bool:
    """Wan 2.1 14B and Wan 2.2 A14B: every other Wan."""
    return not _wan_5b(model, embedder) and not _wan_1_3b(model, embedder)


_WAN = dict(classes=WAN_CLASSES, embedder="diffusion_model.rope_embedder", image=wan_video, exact_ids=True,
            rope_options=True, head_axis=1)

FAMILIES = (
    Family(
        name="Wan", members="Wan 2.1 14B, Wan 2.2 A14B (+VACE, Camera, HuMo, S2V, Animate, Animate 2)",
        model=MODELS["wan"], variant=_wan_14b, **_WAN,
    ),
    Family(
        name="Wan 2.1 1.3B", members="Wan 2.1 T2V 1.3B",
        model=MODELS["wan-1.3b"], variant=_wan_1_3b, **_WAN,
    ),
    Family(
        name="Wan 2.2 5B", members="Wan 2.2 TI2V 5B",
        model=MODELS["wan-2.2-5b"], variant=_wan_5b, **_WAN,
    ),
    Family(
        name="Kandinsky 5 Image", members="Kandinsky 5.0 Image Lite (T2I, I2I)",
        classes=("comfy.ldm.kandinsky5.model.Kandinsky5",),
        model=MODELS["kandinsky5-image"], embedder="diffusion_model.rope_embedder_3d", image=first_call, exact_ids=True,
        rope_options=True, variant=lambda model, embedder: tuple(getattr(model, "rope_scale_factor", ())) == (1, 1, 1),
    ),
)
