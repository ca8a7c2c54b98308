"""Cosmos Predict2 (text to image) and Anima: positions built from the token grid, no ids.

``MiniTrainDIT``'s ``pos_embedder`` (``VideoRopePosition3DEmb``) takes the patch-embedded
``[B, T, H, W, D]`` tensor and returns rotation matrices for corner-origin ``(t, r, c)``
positions, pairs ordered ``[t | h | w]`` (``D/2 - 2 (D // 6)``, ``D // 6``, ``D // 6``
pairs), applied in split halves. Its spatial theta carries a built-in NTK factor
(``10000 * ratio ** (d / (d - 2))``, ratio 4 in ComfyUI's detection), which DyPE takes as
the model's plain theta. Predict2 samples a rectified flow in EDM sigmas (up to 80; flow
time ``sigma / (1 + sigma)``); Anima a discrete flow, shift 3. Native about 1 MP, 1024 px
(Cosmos-Predict2 text-to-image model card; Anima inherits Predict2's geometry), 16 px per
token (Wan 2.1 VAE /8, patch 2).
"""

from __future__ import annotations

from typing import Any

from ...dype_core.models import MODELS
from .family import Family, first


def cosmos_layout(embedder: Any) -> dict:
    """Axes and spatial theta of a ``VideoRopePosition3DEmb``; empty when rows and columns differ."""
    pairs_t, pairs_s = len(embedder.dim_temporal_range), len(embedder.dim_spatial_range)
    if embedder.h_ntk_factor != embedder.w_ntk_factor:
        return {}
    return {"axes_dim": (2 * pairs_t, 2 * pairs_s, 2 * pairs_s), "theta": 10000.0 * embedder.h_ntk_factor}


_COMMON = dict(embedder="diffusion_model.pos_embedder", image=first, source="grid", read_layout=cosmos_layout)

FAMILIES = (
    Family(
        name="Cosmos Predict2", members="Cosmos-Predict2 text to image (2B, 14B)",
        classes=("comfy.ldm.cosmos.predict2.MiniTrainDIT",), model=MODELS["cosmos-predict2"], **_COMMON,
    ),
    Family(
        name="Anima", members="Anima", classes=("comfy.ldm.anima.model.Anima",), model=MODELS["anima"], **_COMMON,
    ),
)
