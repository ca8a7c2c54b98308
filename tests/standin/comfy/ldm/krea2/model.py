# ruff: noqa: B006  (mutable defaults mirror the host signatures)
"""Tiny Krea 2 ``SingleStreamDiT`` (``comfy.ldm.krea2.model``) with the host's ids.

Reproduced from the host: ``forward(x, timesteps, context, attention_mask=None, transformer_options={},
**kwargs)`` runs the DIFFUSION_MODEL wrapper chain with five positional arguments. A 5-D latent
``[B, C, T, H, W]`` is reshaped (not moved) to ``[B*T, C, H, W]`` and back at the end; H and W are padded
to the patch (attribute ``patch``; the model has no ``patch_size``). The context ``[B, L, txtlayers*txtdim]``
must have that width (else ``ValueError``). Rotary axes follow from the head dim ``d``:
``(d - 12 (d // 16), 6 (d // 16), 6 (d // 16))``, theta ``int(theta)``. One ids tensor per call, TEXT
FIRST: float32 zeros for the text, then ``(0, r, c)`` from float32 ``arange`` over the padded grid, repeated
over the batch; the table ``pe_embedder(ids)`` is used as returned.
"""

from __future__ import annotations

import torch
from torch import nn

from ...patcher_extension import WrapperExecutor, WrappersMP, get_all_wrappers
from ..flux.layers import EmbedND
from ..tiny import TinyCore, patchify, unpatchify


class SingleStreamDiT(nn.Module):
    def __init__(self, features=128, heads=1, patch=2, channels=16, txtlayers=2, txtdim=32, theta=1e3,
                 dtype=None, device=None, **kwargs):
        super().__init__()
        self.dtype, self.patch, self.channels, self.txtlayers, self.txtdim = dtype, patch, channels, txtlayers, txtdim
        headdim = features // heads
        axes = [headdim - 12 * (headdim // 16), 6 * (headdim // 16), 6 * (headdim // 16)]
        self.pe_embedder = EmbedND(dim=headdim, theta=int(theta), axes_dim=axes)
        self.core = TinyCore(channels * patch * patch, headdim, txtdim, device=device, dtype=dtype)

    def forward(self, x, timesteps, context, attention_mask=None, transformer_options={}, **kwargs):
        wrappers = get_all_wrappers(WrappersMP.DIFFUSION_MODEL, transformer_options)
        return WrapperExecutor.new_class_executor(self._forward, self, wrappers).execute(
            x, timesteps, context, attention_mask, transformer_options, **kwargs)

    def _forward(self, x, timesteps, context, attention_mask=None, transformer_options={}, **kwargs):
        temporal = x.ndim == 5
        if temporal:
            b5, c5, t5, h5, w5 = x.shape
            x = x.reshape(b5 * t5, c5, h5, w5)
        bs, _, h, w = x.shape
        rows, cols = -(-h // self.patch), -(-w // self.patch)
        batch, seq, fused = context.shape
        if fused != self.txtlayers * self.txtdim:
            raise ValueError(f"Krea2 expects {self.txtlayers}x{self.txtdim} context features, got {fused}")
        context = context.reshape(batch, seq, self.txtlayers, self.txtdim).mean(2)
        txt_ids = torch.zeros(bs, seq, 3, device=x.device, dtype=torch.float32)
        img_ids = torch.zeros(rows, cols, 3, device=x.device, dtype=torch.float32)
        img_ids[..., 1] = torch.arange(rows, device=x.device, dtype=torch.float32)[:, None]
        img_ids[..., 2] = torch.arange(cols, device=x.device, dtype=torch.float32)[None, :]
        pos = torch.cat((txt_ids, img_ids.reshape(1, rows * cols, 3).repeat(bs, 1, 1)), dim=1)
        freqs = self.pe_embedder(pos)
        tokens = torch.cat((self.core.txt_in(context), self.core.img_in(patchify(x, self.patch))), dim=1)
        out = self.core.out(self.core(tokens, freqs.movedim(1, 2), timesteps,
                                      transformer_options=transformer_options)[:, seq:seq + rows * cols])
        out = unpatchify(out, self.patch, self.channels, h, w)
        return out.reshape(b5, t5, self.channels, h, w).movedim(1, 2) if temporal else out
