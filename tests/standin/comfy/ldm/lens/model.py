"""Tiny Microsoft Lens DiT (``comfy.ldm.lens.model``) with the host's ids.

Reproduced from the host: ``forward(x, timestep, context, attention_mask=None, transformer_options=None,
**kwargs)`` runs the DIFFUSION_MODEL wrapper chain with five positional arguments. The latent is not
patchified: one latent pixel is one token, although the model has ``patch_size`` (2; it only sizes the
output projection in the host). The context ``[B, L, layers * enc_hidden_dim]`` holds ``L`` text tokens.
The embedder is ``pos_embed``. One ids tensor per call with BATCH 1 whatever the latent's batch, IMAGE
FIRST: float32 zeros plus ``(0, r - ceil(h / 2), c - ceil(w / 2))`` from integer ranges, then the text on
the diagonal ``s + i`` on all three axes, ``s = max(h // 2, w // 2)``; the table is used as returned.
"""

from __future__ import annotations

import torch
from torch import nn

from ...patcher_extension import WrapperExecutor, WrappersMP, get_all_wrappers
from ..flux.layers import EmbedND
from ..tiny import TinyCore


def position_ids(height: int, width: int, text: int, device=None) -> torch.Tensor:
    """``[h*w + text, 3]``: the centred image grid, then the text diagonal."""
    ids = torch.zeros(height, width, 3, device=device)
    ids[..., 1] = (torch.arange(height, device=device) - (height - height // 2))[:, None]
    ids[..., 2] = (torch.arange(width, device=device) - (width - width // 2))[None, :]
    start = max(height // 2, width // 2)
    txt_ids = torch.arange(start, start + text, device=device).float()[:, None].expand(text, 3)
    return torch.cat([ids.reshape(-1, 3), txt_ids], dim=0)


class LensTransformer2DModel(nn.Module):
    def __init__(self, patch_size=2, in_channels=128, out_channels=32, attention_head_dim=64, num_attention_heads=1,
                 enc_hidden_dim=32, multi_layer_encoder_feature=True, selected_layer_index=(0, 1),
                 axes_dims_rope=(8, 28, 28), dtype=None, device=None, **kwargs):
        super().__init__()
        self.dtype, self.patch_size, self.out_channels = dtype, patch_size, out_channels
        self.layers = len(selected_layer_index) if multi_layer_encoder_feature else 1
        self.pos_embed = EmbedND(dim=attention_head_dim, theta=10000, axes_dim=list(axes_dims_rope))
        self.core = TinyCore(in_channels, attention_head_dim, enc_hidden_dim, device=device, dtype=dtype)

    def forward(self, x, timestep, context, attention_mask=None, transformer_options=None, **kwargs):
        if transformer_options is None:
            transformer_options = {}
        wrappers = get_all_wrappers(WrappersMP.DIFFUSION_MODEL, transformer_options)
        return WrapperExecutor.new_class_executor(self._forward, self, wrappers).execute(
            x, timestep, context, attention_mask, transformer_options, **kwargs)

    def _forward(self, x, timestep, context, attention_mask=None, transformer_options=None, control=None, **kwargs):
        b, c, h, w = x.shape
        img = x.permute(0, 2, 3, 1).reshape(b, h * w, c)
        text = context.reshape(b, context.shape[1], self.layers, -1).mean(2)
        freqs = self.pos_embed(position_ids(h, w, text.shape[1], device=x.device).unsqueeze(0))
        tokens = torch.cat((self.core.img_in(img), self.core.txt_in(text)), dim=1)
        out = self.core.out(self.core(tokens, freqs.movedim(1, 2), timestep,
                                      transformer_options=transformer_options or {})[:, :h * w])
        return out.reshape(b, h, w, c).permute(0, 3, 1, 2).contiguous()
