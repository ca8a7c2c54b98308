# ruff: noqa: B006  (mutable defaults mirror the host signatures)
"""Tiny Mage-Flow DiT (``comfy.ldm.mage_flow.model``, ComfyUI 0.29): a QwenImage-style MMDiT with patch 1.

Reproduced from the host: ``forward(x, timestep, context, attention_mask, ref_latents, transformer_options,
**kwargs)`` runs the DIFFUSION_MODEL wrapper chain with these six positional arguments. One latent pixel is
one token (Flux.2 VAE, 128 channels). ids: text zeros (unrotated), then the image ``(0, r - ceil(h / 2),
c - ceil(w / 2))`` in float32, then each reference ``(k, centred on its own grid)``; ``post_input`` patches
may rewrite ``img_ids`` and ``txt_ids``; ``pe = pe_embedder(cat(txt_ids, img_ids))`` once per call.
"""

from __future__ import annotations

import torch
from torch import nn

from ...patcher_extension import WrapperExecutor, WrappersMP, get_all_wrappers
from ..flux.layers import EmbedND
from ..tiny import TinyCore


class MageFlowTransformer2DModel(nn.Module):
    def __init__(self, in_channels=128, out_channels=128, attention_head_dim=128, joint_attention_dim=32,
                 axes_dims_rope=(16, 56, 56), image_model=None, dtype=None, device=None, operations=None, **kwargs):
        super().__init__()
        self.dtype, self.patch_size, self.out_channels = dtype, 1, out_channels
        self.pe_embedder = EmbedND(dim=attention_head_dim, theta=10000, axes_dim=list(axes_dims_rope))
        self.core = TinyCore(in_channels, attention_head_dim, joint_attention_dim, device=device, dtype=dtype)

    def process_img(self, x, index=0):
        b, c, h, w = x.shape
        ids = torch.zeros((h, w, 3), device=x.device)
        ids[:, :, 0] = index
        ids[:, :, 1] = ids[:, :, 1] + torch.arange(h, device=x.device)[:, None] - (h - h // 2)
        ids[:, :, 2] = ids[:, :, 2] + torch.arange(w, device=x.device)[None, :] - (w - w // 2)
        return x.movedim(1, -1).reshape(b, h * w, c), ids.reshape(h * w, 3).unsqueeze(0).expand(b, -1, -1)

    def forward(self, x, timestep, context, attention_mask=None, ref_latents=None, transformer_options={},
                **kwargs):
        wrappers = get_all_wrappers(WrappersMP.DIFFUSION_MODEL, transformer_options)
        return WrapperExecutor.new_class_executor(self._forward, self, wrappers).execute(
            x, timestep, context, attention_mask, ref_latents, transformer_options, **kwargs)

    def _forward(self, x, timestep, context, attention_mask=None, ref_latents=None, transformer_options={},
                 control=None, **kwargs):
        b, _, h, w = x.shape
        img, img_ids = self.process_img(x)
        count = img.shape[1]
        for index, ref in enumerate(ref_latents or [], start=1):
            tokens, ids = self.process_img(ref, index=index)
            img, img_ids = torch.cat([img, tokens], dim=1), torch.cat([img_ids, ids], dim=1)
        txt_ids = torch.zeros((b, context.shape[1], 3), device=x.device)
        img, txt = self.core.img_in(img), self.core.txt_in(context)
        for patch in transformer_options.get("patches", {}).get("post_input", []):
            out = patch({"img": img, "txt": txt, "img_ids": img_ids, "txt_ids": txt_ids,
                         "transformer_options": transformer_options})
            img, txt, img_ids, txt_ids = out["img"], out["txt"], out["img_ids"], out["txt_ids"]
        pe = self.pe_embedder(torch.cat((txt_ids, img_ids), dim=1)).contiguous()
        text = txt.shape[1]
        out = self.core.out(self.core(torch.cat((txt, img), dim=1), pe.movedim(1, 2), timestep,
                                          transformer_options=transformer_options)[:, text:text + count])
        return out.transpose(1, 2).reshape(b, self.out_channels, h, w)
