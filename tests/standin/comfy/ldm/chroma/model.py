# ruff: noqa: B006  (mutable defaults mirror the host signatures)
"""Tiny Chroma (``comfy.ldm.chroma.model``): FLUX-like, but with the host's Chroma conventions.

Reproduced: ``forward(x, timestep, context, guidance, control=None, transformer_options={}, **kwargs)``
with DIFFUSION_MODEL wrapper args ``(x, timestep, context, guidance, control, transformer_options)``;
ids built in **x.dtype** (bf16 rounding of large positions happens before ``rope``), no
``rope_options``, no reference latents, 3 axes. Simplified: the distilled-guidance approximator
is replaced by one embedder of the concatenated 16-dim timestep and guidance embeddings.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ...patcher_extension import WrapperExecutor, WrappersMP, get_all_wrappers
from ..flux.layers import MLPEmbedder, timestep_embedding
from ..flux.model import Flux, pad_to_patch_size, patchify, unpatchify


class Chroma(Flux):
    def __init__(self, image_model=None, final_layer=True, dtype=None, device=None, operations=None, **kwargs):
        kwargs.setdefault("vec_in_dim", None)
        kwargs.setdefault("guidance_embed", False)
        super().__init__(image_model, final_layer, None, device, operations, **kwargs)
        self.distilled_guidance_layer = MLPEmbedder(32, self.hidden_size)
        self.dtype = dtype
        if dtype is not None:
            self.to(dtype=dtype)

    def _vec(self, img: Tensor, timesteps: Tensor, y: Tensor, guidance: Tensor) -> Tensor:
        emb = torch.cat([timestep_embedding(timesteps, 16), timestep_embedding(guidance, 16)], dim=-1)
        return self.distilled_guidance_layer(emb.to(img.dtype))

    def forward_orig(self, img, img_ids, txt, txt_ids, timesteps, guidance=None, control=None,
                     transformer_options={}, attn_mask=None) -> Tensor:
        img, txt = self.img_in(img), self.txt_in(txt)
        vec = self._vec(img, timesteps, None, guidance)
        pe = self.pe_embedder(torch.cat((txt_ids, img_ids), dim=1))
        return self._blocks(img, txt, vec, pe, attn_mask, transformer_options)

    def forward(self, x, timestep, context, guidance, control=None, transformer_options={}, **kwargs):
        wrappers = get_all_wrappers(WrappersMP.DIFFUSION_MODEL, transformer_options)
        return WrapperExecutor.new_class_executor(self._forward, self, wrappers).execute(
            x, timestep, context, guidance, control, transformer_options, **kwargs)

    def _forward(self, x, timestep, context, guidance, control=None, transformer_options={}, **kwargs):
        bs, _, h, w = x.shape
        ps = self.patch_size
        img = patchify(pad_to_patch_size(x, (ps, ps)), ps)
        h_len, w_len = (h + ps // 2) // ps, (w + ps // 2) // ps
        like_x = dict(device=x.device, dtype=x.dtype)
        img_ids = torch.zeros((h_len, w_len, 3), **like_x)
        img_ids[:, :, 1] += torch.linspace(0, h_len - 1, steps=h_len, **like_x).unsqueeze(1)
        img_ids[:, :, 2] += torch.linspace(0, w_len - 1, steps=w_len, **like_x).unsqueeze(0)
        img_ids = img_ids.reshape(1, h_len * w_len, 3).repeat(bs, 1, 1)
        txt_ids = torch.zeros((bs, context.shape[1], 3), **like_x)
        out = self.forward_orig(img, img_ids, context, txt_ids, timestep, guidance, control, transformer_options,
                                attn_mask=kwargs.get("attention_mask"))
        return unpatchify(out, h_len, w_len, ps)[:, :, :h, :w]
