# ruff: noqa: B006  (mutable defaults mirror the host signatures)
"""Tiny ``Kandinsky5`` (``comfy.ldm.kandinsky5.model``): Kandinsky 5 image and video.

Reproduced from the host: ``forward`` runs the DIFFUSION_MODEL wrapper chain with positional
``(x, timestep, context, y)`` and ``time_dim_replace`` and ``transformer_options`` as keywords; a 4-D image
latent is given a time axis of 1. Two embedders, ``EmbedND`` with theta 10000: ``rope_embedder_3d``
(``axes_dims``) on the visual tokens only, ids ``[1, L, 3]`` ``(t, r, c)`` in ``x.dtype`` with ``linspace``,
positions divided by ``rope_scale_factor`` unless ``rope_options`` are set (then scaled and shifted by them
instead); ``rope_embedder_1d`` (``[head_dim]``) on text ids ``0 .. L_txt - 1``. 3-D first, then 1-D; both
tables get ``movedim(1, 2)``. The body is ``TinyCore``: text attends with the 1-D table, the visual tokens
(plus the text mean and pooled ``y``) with the 3-D one.
"""

from __future__ import annotations

import torch
from torch import nn

from ...patcher_extension import WrapperExecutor, WrappersMP, get_all_wrappers
from ..flux.layers import EmbedND
from ..tiny import TinyCore, patchify_frames, unpatchify_frames


class Kandinsky5(nn.Module):
    def __init__(self, in_visual_dim=16, out_visual_dim=16, in_text_dim=32, in_text_dim2=24, model_dim=128,
                 patch_size=(1, 2, 2), axes_dims=(16, 24, 24), rope_scale_factor=(1.0, 2.0, 2.0),
                 visual_embed_dim=64, image_model=None, dtype=None, device=None, operations=None, **kwargs):
        super().__init__()
        self.dtype, self.model_dim, self.patch_size = dtype, model_dim, patch_size
        self.rope_scale_factor, self.visual_embed_dim = rope_scale_factor, visual_embed_dim
        self.in_visual_dim, self.out_visual_dim = in_visual_dim, out_visual_dim
        head_dim = sum(axes_dims)
        self.rope_embedder_3d = EmbedND(dim=head_dim, theta=10000.0, axes_dim=list(axes_dims))
        self.rope_embedder_1d = EmbedND(dim=head_dim, theta=10000.0, axes_dim=[head_dim])
        self.core = TinyCore(visual_embed_dim, head_dim, in_text_dim, device=device)
        self.pooled_in = nn.Linear(in_text_dim2, head_dim, device=device)

    def rope_encode_1d(self, seq_len, device=None, dtype=None):
        ids = torch.linspace(0, seq_len - 1, steps=seq_len, device=device, dtype=dtype).reshape(1, -1, 1)
        return self.rope_embedder_1d(ids).movedim(1, 2)

    def rope_encode_3d(self, t, h, w, device=None, dtype=None, transformer_options={}):
        steps = [(n + p // 2) // p for n, p in zip((t, h, w), self.patch_size)]
        lens, starts = [float(n) for n in steps], [0.0, 0.0, 0.0]
        rope_options = transformer_options.get("rope_options")
        for i, axis in enumerate("tyx"):
            if rope_options is not None:
                lens[i] = (lens[i] - 1.0) * rope_options.get(f"scale_{axis}", 1.0) + 1.0
                starts[i] += rope_options.get(f"shift_{axis}", 0.0)
            else:
                lens[i] = (lens[i] - 1.0) / self.rope_scale_factor[i] + 1.0
        axes = [torch.linspace(s, s + (n - 1), steps=k, device=device, dtype=dtype)
                for s, n, k in zip(starts, lens, steps)]
        img_ids = torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1).reshape(1, -1, 3)
        return self.rope_embedder_3d(img_ids).movedim(1, 2)

    def forward(self, x, timestep, context, y, time_dim_replace=None, transformer_options={}, **kwargs):
        wrappers = get_all_wrappers(WrappersMP.DIFFUSION_MODEL, transformer_options)
        return WrapperExecutor.new_class_executor(self._forward, self, wrappers).execute(
            x, timestep, context, y, time_dim_replace=time_dim_replace, transformer_options=transformer_options,
            **kwargs)

    def _forward(self, x, timestep, context, y, time_dim_replace=None, transformer_options={}, **kwargs):
        image = x.ndim == 4
        x = x.unsqueeze(2) if image else x
        _, _, t, h, w = x.shape
        freqs = self.rope_encode_3d(t, h, w, device=x.device, dtype=x.dtype, transformer_options=transformer_options)
        freqs_text = self.rope_encode_1d(context.shape[1], device=x.device, dtype=x.dtype)
        time = timestep / 1000
        text = self.core(self.core.txt_in(context), freqs_text, time, transformer_options=transformer_options)
        patch = self.patch_size[-1]
        visual = self.core.img_in(patchify_frames(x, patch)) + text.mean(dim=1, keepdim=True)
        out = self.core.out(self.core(visual + self.pooled_in(y).unsqueeze(1), freqs, time,
                                          transformer_options=transformer_options))
        features = self.out_visual_dim * patch * patch
        out = unpatchify_frames(out[..., :features], patch, self.out_visual_dim, x.shape)
        return out.squeeze(2) if image else out
