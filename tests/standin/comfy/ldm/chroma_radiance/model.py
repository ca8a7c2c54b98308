# ruff: noqa: B006  (mutable defaults mirror the host signatures)
"""Tiny ``ChromaRadiance`` (``comfy.ldm.chroma_radiance.model``): Chroma on pixels, patch 16.

Reproduced from the host: a subclass of ``Chroma`` that inherits its ``forward`` (DIFFUSION_MODEL wrapper
chain, positional ``(x, timestep, context, guidance, control, transformer_options)``), its
``pe_embedder`` (``EmbedND``) and ``forward_orig`` (one embedder call on ``cat(txt_ids, img_ids)``). Its own
``_forward`` pads the pixels up to the patch size, takes ``h_len = padded_h // patch``, forms image ids
``(0, r, c)`` and text ids in ``x.dtype`` (zeros, or ``arange`` on axis 0 with ``use_sequential_txt_ids``).
Simplified: the NeRF pixel head is a linear unpatchify.
"""

from __future__ import annotations

import torch

from ..chroma.model import Chroma
from ..flux.model import pad_to_patch_size, patchify, unpatchify


class ChromaRadiance(Chroma):
    def __init__(self, image_model=None, final_layer=True, dtype=None, device=None, operations=None,
                 use_sequential_txt_ids=False, **kwargs):
        super().__init__(image_model, final_layer, dtype=dtype, device=device, operations=operations, **kwargs)
        self.use_sequential_txt_ids = use_sequential_txt_ids

    def _forward(self, x, timestep, context, guidance, control=None, transformer_options={}, **kwargs):
        bs, _, h, w = x.shape
        ps = self.patch_size
        img = pad_to_patch_size(x, (ps, ps))
        h_len, w_len = img.shape[-2] // ps, img.shape[-1] // ps
        like = dict(device=x.device, dtype=x.dtype)
        img_ids = torch.zeros((h_len, w_len, 3), **like)
        img_ids[:, :, 1] += torch.linspace(0, h_len - 1, steps=h_len, **like).unsqueeze(1)
        img_ids[:, :, 2] += torch.linspace(0, w_len - 1, steps=w_len, **like).unsqueeze(0)
        img_ids = img_ids.reshape(1, h_len * w_len, 3).repeat(bs, 1, 1)
        txt_ids = torch.zeros((bs, context.shape[1], 3), **like)
        if self.use_sequential_txt_ids:
            txt_ids[:, :, 0] = torch.arange(context.shape[1], **like).unsqueeze(0)
        out = self.forward_orig(patchify(img, ps), img_ids, context, txt_ids, timestep, guidance, control,
                                transformer_options, attn_mask=kwargs.get("attention_mask"))
        return unpatchify(out, h_len, w_len, ps)[:, :, :h, :w]
