# ruff: noqa: B006  (mutable defaults mirror the host signatures)
"""Tiny Qwen-Image DiT (``comfy.ldm.qwen_image.model``) with the host's ids.

Reproduced from the host: ``forward(x, timestep, context, attention_mask, ref_latents, additional_t_cond,
transformer_options, **kwargs)`` runs the DIFFUSION_MODEL wrapper chain with these seven positional
arguments (``class_obj`` = this module). Latents are 5-D ``[B, C, T, H, W]``, patched 2x2 on H and W
only, tokens frame-major. One ids tensor per call, ``cat(text, image frames, references)``:

- text: ``s + i`` on all three axes, ``s = max(cols // 2, rows // 2)`` of the main latent, int64 until
  the concatenation with the float32 image ids;
- each image (main frames, then references): float32 zeros plus ``(index, r - rows // 2, c - cols // 2)``,
  the frame index ``linspace(0, T - 1)`` when T > 1, rows and columns from ``linspace`` formed in the
  MODEL dtype and added into the float32 ids (so bf16 is off beyond 256 tokens a side);
- references by ``ref_latents_method`` (default ``default_ref_method``): ``index`` and
  ``index_timestep_zero`` number them 1, 2, ...; ``negative_index`` -1, -2, ...; ``offset`` gives all
  index 1 and starts each beside the previous ones, the offset (latent pixels) turned into tokens.

The table ``pe_embedder(ids)`` is cast to the model dtype. ``rope_options`` are ignored, as by the host.
Not reproduced (no effect on ids): the t=0 modulation of Edit-2511 references, ``post_input`` patches.
"""

from __future__ import annotations

import torch
from torch import nn

from ...patcher_extension import WrapperExecutor, WrappersMP, get_all_wrappers
from ..flux.layers import EmbedND
from ..tiny import TinyCore, patchify, unpatchify


class QwenImageTransformer2DModel(nn.Module):
    def __init__(self, patch_size=2, in_channels=64, out_channels=16, joint_attention_dim=32,
                 axes_dims_rope=(16, 56, 56), default_ref_method="index", use_additional_t_cond=False,
                 dtype=None, device=None, **kwargs):
        super().__init__()
        self.dtype, self.patch_size, self.out_channels = dtype, patch_size, out_channels
        self.default_ref_method, self.use_additional_t_cond = default_ref_method, use_additional_t_cond
        head_dim = sum(axes_dims_rope)
        self.pe_embedder = EmbedND(dim=head_dim, theta=10000, axes_dim=list(axes_dims_rope))
        self.core = TinyCore(in_channels, head_dim, joint_attention_dim, device=device, dtype=dtype)

    def process_img(self, x, index=0, h_offset=0, w_offset=0):
        """Tokens, ids ``[B, T*rows*cols, 3]`` (centred on its own grid) and the shape of a 5-D latent."""
        b, c, t, h, w = x.shape
        p = self.patch_size
        tokens = patchify(x.movedim(2, 1).reshape(b * t, c, h, w), p).reshape(b, -1, c * p * p)
        rows, cols = (h + p // 2) // p, (w + p // 2) // p
        h_offset, w_offset = (h_offset + p // 2) // p, (w_offset + p // 2) // p
        in_model_dtype = dict(device=x.device, dtype=x.dtype)
        ids = torch.zeros((t, rows, cols, 3), device=x.device)
        if t > 1:
            ids[..., 0] = ids[..., 0] + torch.linspace(0, t - 1, steps=t, **in_model_dtype)[:, None, None]
        else:
            ids[..., 0] = ids[..., 0] + index
        row = torch.linspace(h_offset, rows - 1 + h_offset, steps=rows, **in_model_dtype)
        col = torch.linspace(w_offset, cols - 1 + w_offset, steps=cols, **in_model_dtype)
        ids[..., 1] = ids[..., 1] + row[None, :, None] - rows // 2
        ids[..., 2] = ids[..., 2] + col[None, None, :] - cols // 2
        return tokens, ids.reshape(1, t * rows * cols, 3).repeat(b, 1, 1), x.shape

    def forward(self, x, timestep, context, attention_mask=None, ref_latents=None, additional_t_cond=None,
                transformer_options={}, **kwargs):
        wrappers = get_all_wrappers(WrappersMP.DIFFUSION_MODEL, transformer_options)
        return WrapperExecutor.new_class_executor(self._forward, self, wrappers).execute(
            x, timestep, context, attention_mask, ref_latents, additional_t_cond, transformer_options, **kwargs)

    def _forward(self, x, timesteps, context, attention_mask=None, ref_latents=None, additional_t_cond=None,
                 transformer_options={}, control=None, **kwargs):
        img, img_ids, _ = self.process_img(x)
        count = img.shape[1]
        method = kwargs.get("ref_latents_method", self.default_ref_method)
        index, h, w = 0, 0, 0
        for ref in ref_latents or []:
            h_offset = w_offset = 0
            if method in ("index", "index_timestep_zero"):
                index += 1
            elif method == "negative_index":
                index -= 1
            else:  # "offset": index 1, beside the references placed so far
                index = 1
                if ref.shape[-2] + h > ref.shape[-1] + w:
                    w_offset = w
                else:
                    h_offset = h
                h, w = max(h, ref.shape[-2] + h_offset), max(w, ref.shape[-1] + w_offset)
            tokens, ids, _ = self.process_img(ref, index=index, h_offset=h_offset, w_offset=w_offset)
            img, img_ids = torch.cat((img, tokens), dim=1), torch.cat((img_ids, ids), dim=1)
        p, text = self.patch_size, context.shape[1]
        start = max(((x.shape[-1] + p // 2) // p) // 2, ((x.shape[-2] + p // 2) // p) // 2)
        txt_ids = torch.arange(start, start + text, device=x.device).reshape(1, -1, 1).repeat(x.shape[0], 1, 3)
        pe = self.pe_embedder(torch.cat((txt_ids, img_ids), dim=1)).to(x.dtype).contiguous()
        tokens = torch.cat((self.core.txt_in(context), self.core.img_in(img)), dim=1)
        out = self.core.out(self.core(tokens, pe.movedim(1, 2), timesteps,
                                      transformer_options=transformer_options)[:, text:text + count])
        b, c, t, h, w = x.shape
        frames = unpatchify(out.reshape(b * t, -1, out.shape[-1]), p, self.out_channels, h, w)
        return frames.reshape(b, t, self.out_channels, h, w).movedim(1, 2)
