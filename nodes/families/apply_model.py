"""Families whose diffusion model runs no wrapper chain: OmniGen2, Boogu, Ernie-Image.

DyPE reads their sigma at ``APPLY_MODEL``. OmniGen2 and Boogu: the outer
``rope_embedder`` builds int32 ids ``cat(text, references, image)`` (the image last) and
calls the inner ``EmbedND`` (40/40/40, theta 10000) once; discrete flow, shift 2.6 (OmniGen2)
and 3.16 (Boogu); native 1024 px (VectorSpaceLab/OmniGen2 README, arXiv 2506.18871).
Ernie-Image: float32 ids ``cat(image, text)`` (the image first) into ``pos_embed``
(32/48/48, theta 256, Flux.2 VAE /16 and patch 1), whose table pairs element ``k`` of a head
with element ``k + 64`` (applied by ``apply_rope_split_half``); discrete flow, shift 3;
native 1024 px (baidu/ERNIE-Image model card).
"""

from __future__ import annotations

import torch

from ...dype_core.models import MODELS
from .family import APPLY_MODEL, Family, first, last


def split_half(table: torch.Tensor) -> torch.Tensor:
    """Ernie-Image's table from FLUX's ``[B, 1, L, P, 2, 2]``: ``[B, L, 1, P, 2, 2]`` whose entry
    ``k`` holds the first row ``[cos, -sin]`` of pair ``k // 2`` and the second row ``[sin, cos]``
    of pair ``P / 2 + k // 2`` (Ernie's ``ErnieImageEmbedND3`` layout)."""
    pairs = table.shape[-3]
    index = torch.arange(pairs, device=table.device) // 2
    rows = torch.stack((table[..., index, 0, :], table[..., index + pairs // 2, 1, :]), dim=-2)
    return rows.squeeze(1).unsqueeze(2)


FAMILIES = (
    Family(
        name="OmniGen2", members="OmniGen2",
        classes=("comfy.ldm.omnigen.omnigen2.OmniGen2Transformer2DModel",), model=MODELS["omnigen2"],
        embedder="diffusion_model.rope_embedder.rope_embedder", hook=APPLY_MODEL, image=last,
    ),
    Family(
        name="Boogu", members="Boogu",
        classes=("comfy.ldm.boogu.model.BooguTransformer2DModel",), model=MODELS["boogu"],
        embedder="diffusion_model.rope_embedder.rope_embedder", hook=APPLY_MODEL, image=last,
    ),
    Family(
        name="Ernie-Image", members="ERNIE-Image",
        classes=("comfy.ldm.ernie.model.ErnieImageModel",),
        model=MODELS["ernie-image"], embedder="diffusion_model.pos_embed", hook=APPLY_MODEL, image=first,
        table=split_half, head_axis=2, attention_override=False,
    ),
)
