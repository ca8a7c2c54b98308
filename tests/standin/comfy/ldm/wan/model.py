# ruff: noqa: B006  (mutable defaults mirror the host signatures)
"""Tiny ``WanModel`` (``comfy.ldm.wan.model``): Wan 2.1 / 2.2 video, text by cross-attention only.

Reproduced from the host: ``forward`` runs the DIFFUSION_MODEL wrapper chain with positional
``(x, timestep, context, clip_fea, time_dim_concat, transformer_options)`` and extra conds as keywords;
``rope_embedder`` is ``EmbedND(d, 10000, [d - 4 (d // 6), 2 (d // 6), 2 (d // 6)])`` with ``d = dim / num_heads``;
``rope_encode`` forms ids ``[1, L, 3]`` ``(t, r, c)`` in ``x.dtype`` with ``linspace`` (``rope_options`` scale and
shift honoured), calls the embedder and moves the head axis (``movedim(1, 2)``); the main video is the FIRST
call, with Phantom's ``time_dim_concat`` frames after it and, for Fun reference models (``ref_conv``, built
when ``in_dim_ref_conv`` is set), one ``reference_latent`` frame before it (frame 0, the video from frame 1);
then one call per in-context reference latent (``context_latents``) on its own grid, each composed with a
rotation by ``rope(source_id, d, rope_embedder.theta)``. The body is ``TinyCore``; the text enters as its
mean.
"""

from __future__ import annotations

import torch
from torch import nn

from ...patcher_extension import WrapperExecutor, WrappersMP, get_all_wrappers
from ..flux.layers import EmbedND
from ..flux.math import rope
from ..tiny import TinyCore, patchify_frames, unpatchify_frames


class WanModel(nn.Module):
    def __init__(self, model_type="t2v", patch_size=(1, 2, 2), in_dim=16, dim=128, out_dim=16, num_heads=1,
                 text_dim=32, in_dim_ref_conv=None, image_model=None, device=None, dtype=None, operations=None,
                 **kwargs):
        super().__init__()
        self.model_type, self.patch_size, self.dtype = model_type, patch_size, dtype
        self.in_dim, self.dim, self.out_dim, self.num_heads = in_dim, dim, out_dim, num_heads
        d = dim // num_heads
        self.rope_embedder = EmbedND(dim=d, theta=10000.0, axes_dim=[d - 4 * (d // 6), 2 * (d // 6), 2 * (d // 6)])
        self.core = TinyCore(in_dim * patch_size[-1] ** 2, d, text_dim, device=device)
        features = (in_dim_ref_conv or 0) * patch_size[-1] ** 2
        self.ref_conv = nn.Linear(features, d, device=device) if in_dim_ref_conv is not None else None

    def rope_encode(self, t, h, w, t_start=0, device=None, dtype=None, transformer_options={}, source_id=0):
        steps = [(n + p // 2) // p for n, p in zip((t, h, w), self.patch_size)]
        lens, starts = [float(n) for n in steps], [float(t_start), 0.0, 0.0]
        rope_options = transformer_options.get("rope_options")
        if rope_options is not None:
            for i, axis in enumerate("tyx"):
                lens[i] = (lens[i] - 1.0) * rope_options.get(f"scale_{axis}", 1.0) + 1.0
                starts[i] += rope_options.get(f"shift_{axis}", 0.0)
        axes = [torch.linspace(s, s + (n - 1), steps=k, device=device, dtype=dtype)
                for s, n, k in zip(starts, lens, steps)]
        img_ids = torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1).reshape(1, -1, 3)
        freqs = self.rope_embedder(img_ids).movedim(1, 2)
        if source_id:
            d = self.dim // self.num_heads
            pos = torch.tensor([[float(source_id)]], device=freqs.device, dtype=torch.float32)
            rotation = rope(pos, d, self.rope_embedder.theta).reshape(1, 1, 1, d // 2, 2, 2).to(freqs.dtype)
            freqs = torch.einsum("...ij,...jk->...ik", freqs, rotation)
        return freqs

    def forward(self, x, timestep, context, clip_fea=None, time_dim_concat=None, transformer_options={}, **kwargs):
        wrappers = get_all_wrappers(WrappersMP.DIFFUSION_MODEL, transformer_options)
        return WrapperExecutor.new_class_executor(self._forward, self, wrappers).execute(
            x, timestep, context, clip_fea, time_dim_concat, transformer_options, **kwargs)

    def _forward(self, x, timestep, context, clip_fea=None, time_dim_concat=None, transformer_options={}, **kwargs):
        _, _, t, h, w = x.shape
        patch = self.patch_size[-1]
        if time_dim_concat is not None:
            x = torch.cat([x, time_dim_concat], dim=2)
        reference = kwargs.get("reference_latent") if self.ref_conv is not None else None
        t_len = x.shape[2] + (reference is not None)
        freqs = self.rope_encode(t_len, h, w, device=x.device, dtype=x.dtype, transformer_options=transformer_options)
        tokens = [self.core.img_in(patchify_frames(x, patch))]
        if reference is not None:
            tokens.insert(0, self.ref_conv(patchify_frames(reference, patch)))
        video = slice(tokens[0].shape[1] if reference is not None else 0, sum(part.shape[1] for part in tokens))
        for i, latent in enumerate(kwargs.get("context_latents") or []):
            freqs = torch.cat([freqs, self.rope_encode(*latent.shape[-3:], device=x.device, dtype=x.dtype,
                                                       transformer_options=transformer_options, source_id=i + 1)], 1)
            tokens.append(self.core.img_in(patchify_frames(latent.to(x), patch)))
        text = self.core.txt_in(context).mean(dim=1, keepdim=True)
        out = self.core.out(self.core(torch.cat(tokens, dim=1) + text, freqs, timestep.flatten() / 1000,
                                          transformer_options=transformer_options))
        features = self.out_dim * patch * patch
        return unpatchify_frames(out[:, video, :features], patch, self.out_dim, x.shape)[:, :, :t, :h, :w]
