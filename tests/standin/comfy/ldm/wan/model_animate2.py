# ruff: noqa: B006  (mutable defaults mirror the host signatures)
"""Tiny ``WanAnimate2Model`` (``comfy.ldm.wan.model_animate2``, ComfyUI 0.31): Wan 2.1 I2V driven by a pose video.

Reproduced from the host: ``_forward`` encodes the generation's positions first (``rope_encode``, the call
DyPE scales), then, when the cond carries ``pose_latents`` (one latent frame fewer than the generation: its
first frame is the reference image's slot), the pose video's own positions with ``rope_encode_pose``: frames
from 1, columns shifted past the generation's (``shift_x`` = the generation's columns), the caller's
``rope_options`` ignored. The pose tokens feed the generation's attention as extra keys.
"""

from __future__ import annotations

import torch

from ..tiny import patchify_frames, unpatchify_frames
from .model import WanModel


class WanAnimate2Model(WanModel):
    def rope_encode_pose(self, t, h, w, w_patches, device=None, dtype=None):
        return self.rope_encode(t, h, w, t_start=1, device=device, dtype=dtype,
                                transformer_options={"rope_options": {"shift_x": float(w_patches)}})

    def _forward(self, x, timestep, context, clip_fea=None, time_dim_concat=None, transformer_options={},
                 pose_latents=None, **kwargs):
        _, _, t, h, w = x.shape
        patch = self.patch_size[-1]
        freqs = self.rope_encode(t, h, w, device=x.device, dtype=x.dtype, transformer_options=transformer_options)
        tokens = self.core.img_in(patchify_frames(x, patch))
        video = tokens.shape[1]
        if pose_latents is not None:
            w_patches = (w + patch // 2) // patch
            freqs = torch.cat([freqs, self.rope_encode_pose(pose_latents.shape[2], h, w, w_patches, device=x.device,
                                                            dtype=x.dtype)], dim=1)
            tokens = torch.cat([tokens, self.core.img_in(patchify_frames(pose_latents.to(x), patch))], dim=1)
        text = self.core.txt_in(context).mean(dim=1, keepdim=True)
        out = self.core.out(self.core(tokens + text, freqs, timestep.flatten() / 1000,
                                          transformer_options=transformer_options))
        features = self.out_dim * patch * patch
        return unpatchify_frames(out[:, :video, :features], patch, self.out_dim, x.shape)[:, :, :t, :h, :w]
