# ruff: noqa: B006  (mutable defaults mirror the host signatures)
"""Tiny ``BooguTransformer2DModel`` (``comfy.ldm.boogu.model``): an OmniGen2 derivative, not a subclass.

Reproduced from the host: its own ``nn.Module`` class that borrows OmniGen2's methods and its
``OmniGen2RotaryPosEmbed`` (same int32 ids ``cat(text, references, image)``, one inner ``EmbedND`` call per
forward, no wrapper chain); the text projection is ``instruction_feat_dim`` wide.
"""

from __future__ import annotations

from torch import nn

from ..omnigen.omnigen2 import OmniGen2RotaryPosEmbed, OmniGen2Transformer2DModel
from ..tiny import TinyCore


class BooguTransformer2DModel(nn.Module):
    def __init__(self, patch_size=2, in_channels=16, out_channels=None, hidden_size=120, axes_dim_rope=(40, 40, 40),
                 axes_lens=(2048, 1664, 1664), instruction_feat_dim=32, image_model=None, device=None, dtype=None,
                 operations=None, **kwargs):
        super().__init__()
        self.patch_size, self.dtype = patch_size, dtype
        self.out_channels = out_channels or in_channels
        self.rope_embedder = OmniGen2RotaryPosEmbed(10000, axes_dim_rope, axes_lens, patch_size)
        self.core = TinyCore(in_channels * patch_size**2, sum(axes_dim_rope), instruction_feat_dim, device=device)

    forward = OmniGen2Transformer2DModel.forward
