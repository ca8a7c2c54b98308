# ruff: noqa: B006  (mutable defaults mirror the host signatures)
"""Tiny ``HunyuanVideo`` (``comfy.ldm.hunyuan_video.model``): HunyuanImage 2.1, its Refiner and HunyuanVideo.

Reproduced from the host: ``forward`` runs the DIFFUSION_MODEL wrapper chain with all 13 arguments
positional (``transformer_options`` last); ids are formed in ``x.dtype`` with ``linspace`` from a corner
origin, 2-D ``(r, c)`` for a 2-entry ``patch_size`` and ``(t, r, c)`` for a 3-entry one; text ids are zeros,
ByT5 tokens append zero ids after the text, a ``ref_latent`` block (axis 0 = -1, columns shifted by the image's
token width) goes before the image, the image is last; ONE ``pe_embedder`` call per forward on
``cat(txt_ids, img_ids)``, its ``[B, 1, L, P, 2, 2]`` table used as is. The body is ``TinyCore``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ...patcher_extension import WrapperExecutor, WrappersMP, get_all_wrappers
from ..flux.layers import EmbedND
from ..tiny import TinyCore, patchify_frames, unpatchify_frames


class HunyuanVideo(nn.Module):
    def __init__(self, image_model=None, in_channels=16, out_channels=16, patch_size=(1, 2, 2), axes_dim=(16, 56, 56),
                 theta=256, context_in_dim=32, byt5=False, byt5_dim=24, vec_in_dim=None, dtype=None, device=None,
                 operations=None, **kwargs):
        super().__init__()
        self.dtype = dtype
        self.patch_size = list(patch_size)
        self.in_channels, self.out_channels = in_channels, out_channels
        head_dim = sum(axes_dim)
        self.pe_embedder = EmbedND(dim=head_dim, theta=theta, axes_dim=list(axes_dim))
        self.core = TinyCore(in_channels * patch_size[-1] ** 2, head_dim, context_in_dim, device=device)
        self.byt5_in = nn.Linear(byt5_dim, head_dim, device=device) if byt5 else None
        self.vector_in = nn.Linear(vec_in_dim, head_dim, device=device) if vec_in_dim else None

    def _grid(self, shape: torch.Size, like: Tensor) -> Tensor:
        """Corner-origin ids of a latent ``shape`` in ``like``'s dtype: one axis per patch entry."""
        lens = [(n + p // 2) // p for n, p in zip(shape[-len(self.patch_size):], self.patch_size)]
        axes = [torch.linspace(0, n - 1, steps=n, device=like.device, dtype=like.dtype) for n in lens]
        return torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1).reshape(1, -1, len(lens))

    def forward(self, x, timestep, context, y=None, txt_byt5=None, clip_fea=None, guidance=None, attention_mask=None,
                guiding_frame_index=None, ref_latent=None, disable_time_r=False, control=None,
                transformer_options={}, **kwargs):
        wrappers = get_all_wrappers(WrappersMP.DIFFUSION_MODEL, transformer_options)
        return WrapperExecutor.new_class_executor(self._forward, self, wrappers).execute(
            x, timestep, context, y, txt_byt5, clip_fea, guidance, attention_mask, guiding_frame_index, ref_latent,
            disable_time_r, control, transformer_options, **kwargs)

    def _forward(self, x, timestep, context, y=None, txt_byt5=None, clip_fea=None, guidance=None, attention_mask=None,
                 guiding_frame_index=None, ref_latent=None, disable_time_r=False, control=None,
                 transformer_options={}, **kwargs):
        bs, patch = x.shape[0], self.patch_size[-1]
        img_ids = self._grid(x.shape, x).repeat(bs, 1, 1)
        txt_ids = torch.zeros((bs, context.shape[1], img_ids.shape[-1]), device=x.device, dtype=x.dtype)
        streams = [self.core.txt_in(context)]
        if self.byt5_in is not None and txt_byt5 is not None:
            streams.append(self.byt5_in(txt_byt5))
            txt_ids = torch.cat((txt_ids, txt_ids.new_zeros(bs, txt_byt5.shape[1], txt_ids.shape[-1])), dim=1)
        if ref_latent is not None:
            ref_ids = self._grid(ref_latent.shape, x).repeat(bs, 1, 1)
            ref_ids[..., 0] = -1
            ref_ids[..., 2] += x.shape[-1] // patch
            img_ids = torch.cat((ref_ids, img_ids), dim=1)
            streams.append(self.core.img_in(patchify_frames(ref_latent, patch)))
        img = self.core.img_in(patchify_frames(x, patch))
        if self.vector_in is not None and y is not None:
            img = img + self.vector_in(y).unsqueeze(1)
        pe = self.pe_embedder(torch.cat((txt_ids, img_ids), dim=1))
        out = self.core.out(self.core(torch.cat(streams + [img], dim=1), pe.movedim(1, 2), timestep / 1000,
                                          transformer_options=transformer_options))
        features = self.out_channels * patch * patch  # the Refiner takes 128 channels (with its condition), gives 64
        return unpatchify_frames(out[:, -img.shape[1]:, :features], patch, self.out_channels, x.shape)
