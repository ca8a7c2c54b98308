"""HunyuanImage 2.1 (and its Refiner) and HunyuanVideo 1.0 / 1.5: one ``HunyuanVideo`` class.

One ids tensor per forward: zero ids for every text stream (LLM, ByT5, vision), HunyuanVideo's
``ref_latent`` block, and the image last, ``(r, c)`` or ``(t, r, c)`` formed in the model
dtype with ``linspace``. Theta 256 (``model_detection`` sets it). Sampling: discrete flow.
HunyuanImage 2.1: 2-D patch, axes 64/64, 32 px per token (VAE /32), native 2048 x 2048
("2K (2048 x 2048)", Tencent-Hunyuan/HunyuanImage-2.1 README, arXiv 2509.04545), shift 5.
Refiner: 3-D patch at 16 px per token on the same 2K output (its VAE downscales 16, though
ComfyUI's latent format for it keeps the default ratio 8), shift 4. HunyuanVideo 1.0 / 1.5:
720p (1280 x 720, HunyuanVideo README), trained in both orientations, so each spatial axis
saw 1280 px; shift 7. Time: clips of 129 frames, 33 latent frames (HunyuanVideo README, ``--video-length
129``; VAE /4 in time); above that the time axis is extrapolated. HunyuanVideo 1.5's README uses 121
frames (31 latent frames); the family keeps 33 for both.
"""

from __future__ import annotations

from typing import Any

from ...dype_core.models import MODELS
from .family import Family, last

HUNYUAN = ("comfy.ldm.hunyuan_video.model.HunyuanVideo",)


def _two_d(model: Any, embedder: Any) -> bool:
    return len(getattr(embedder, "axes_dim", ())) == 2


def _refiner(model: Any, embedder: Any) -> bool:
    """The Refiner: 3-D ids and 128 input channels (two packed frames of a 32-channel VAE, plus the
    condition); HunyuanVideo takes 16 (1.0), 32/33 (I2V) or 65 (1.5)."""
    return len(getattr(embedder, "axes_dim", ())) == 3 and getattr(model, "in_channels", None) == 128


def _video(model: Any, embedder: Any) -> bool:
    return len(getattr(embedder, "axes_dim", ())) == 3 and not _refiner(model, embedder)


_COMMON = dict(classes=HUNYUAN, image=last, exact_ids=True)

FAMILIES = (
    Family(
        name="HunyuanImage 2.1", members="HunyuanImage 2.1, distilled",
        model=MODELS["hunyuanimage-2.1"], variant=_two_d, **_COMMON,
    ),
    Family(
        name="HunyuanImage 2.1 Refiner", members="Refiner",
        model=MODELS["hunyuanimage-2.1-refiner"], variant=_refiner, downscale_from_format=False, **_COMMON,
    ),
    Family(
        name="HunyuanVideo", members="1.0 (T2V, I2V), 1.5 (spatial axes)",
        model=MODELS["hunyuanvideo"], variant=_video, **_COMMON,
    ),
)
