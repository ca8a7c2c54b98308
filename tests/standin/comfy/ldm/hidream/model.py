# ruff: noqa: B006  (mutable defaults mirror the host signatures)
"""Tiny HiDream-I1 (``comfy.ldm.hidream.model``) with the host's ids and its own ``EmbedND``.

Reproduced from the host: ``forward(x, t, y, context, encoder_hidden_states_llama3, image_cond, control,
transformer_options)`` (no ``**kwargs``) runs the DIFFUSION_MODEL wrapper chain with these eight positional
arguments; ``t`` is the sigma times the sampling multiplier. HiDream-E1's ``image_cond`` is appended along the
width before patchifying, so the token grid is twice as wide. One ids tensor per call, IMAGE FIRST: float32
zeros plus ``(0, r, c)`` from ``arange`` (corner origin), then zero ids for the text: T5 tokens plus the last
and the first selected Llama layer's tokens. The embedder is HiDream's own: FLUX's per-axis ``rope``
concatenated, then ``unsqueeze(2)``, so tables are ``[B, L, 1, P, 2, 2]``, used as returned; it has
``theta`` and ``axes_dim`` but no ``dim``. The output is negated and cropped to the target.
"""

from __future__ import annotations

import torch
from torch import nn

from ...patcher_extension import WrapperExecutor, WrappersMP, get_all_wrappers
from ..flux.math import rope
from ..tiny import TinyCore, patchify, unpatchify


class EmbedND(nn.Module):
    def __init__(self, theta: int, axes_dim: list):
        super().__init__()
        self.theta, self.axes_dim = theta, axes_dim

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return torch.cat([rope(ids[..., i], self.axes_dim[i], self.theta) for i in range(ids.shape[-1])],
                         dim=-3).unsqueeze(2)


class HiDreamImageTransformer2DModel(nn.Module):
    def __init__(self, patch_size=2, in_channels=16, out_channels=16, axes_dims_rope=(64, 32, 32),
                 caption_channels=(32, 32), llama_layers=(0, 1), dtype=None, device=None, **kwargs):
        super().__init__()
        self.dtype, self.patch_size, self.out_channels = dtype, patch_size, out_channels
        self.llama_layers = llama_layers
        self.pe_embedder = EmbedND(theta=10000, axes_dim=list(axes_dims_rope))
        self.core = TinyCore(in_channels * patch_size * patch_size, sum(axes_dims_rope), caption_channels[-1],
                             device=device, dtype=dtype)

    def forward(self, x, t, y=None, context=None, encoder_hidden_states_llama3=None, image_cond=None, control=None,
                transformer_options={}):
        wrappers = get_all_wrappers(WrappersMP.DIFFUSION_MODEL, transformer_options)
        return WrapperExecutor.new_class_executor(self._forward, self, wrappers).execute(
            x, t, y, context, encoder_hidden_states_llama3, image_cond, control, transformer_options)

    def _forward(self, x, t, y=None, context=None, encoder_hidden_states_llama3=None, image_cond=None, control=None,
                 transformer_options={}):
        b, c, h, w = x.shape
        if image_cond is not None:
            x = torch.cat([x, image_cond], dim=-1)
        p = self.patch_size
        img = patchify(x, p)
        rows, cols = -(-x.shape[-2] // p), -(-x.shape[-1] // p)
        img_ids = torch.zeros(rows, cols, 3, device=x.device)
        img_ids[..., 1] = img_ids[..., 1] + torch.arange(rows, device=x.device)[:, None]
        img_ids[..., 2] = img_ids[..., 2] + torch.arange(cols, device=x.device)[None, :]
        img_ids = img_ids.reshape(1, rows * cols, 3).repeat(b, 1, 1)
        llama = encoder_hidden_states_llama3.movedim(1, 0)
        layers = [llama[k] for k in self.llama_layers]
        text = torch.cat((context, layers[-1], layers[0]), dim=1)
        txt_ids = torch.zeros(b, text.shape[1], 3, device=img_ids.device, dtype=img_ids.dtype)
        pe = self.pe_embedder(torch.cat((img_ids, txt_ids), dim=1))
        tokens = torch.cat((self.core.img_in(img), self.core.txt_in(text)), dim=1)
        out = self.core.out(self.core(tokens, pe, t / 1000.0, transformer_options=transformer_options)[:, :rows * cols])
        return -unpatchify(out, p, self.out_channels, x.shape[-2], x.shape[-1])[:, :, :h, :w]
