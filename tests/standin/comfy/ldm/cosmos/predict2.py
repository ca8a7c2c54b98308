# ruff: noqa: B006  (mutable defaults mirror the host signatures)
"""Tiny ``MiniTrainDIT`` (``comfy.ldm.cosmos.predict2``): Cosmos Predict2, text by cross-attention only.

Reproduced from the host: ``forward(x, timesteps, context, fps=None, padding_mask=None, **kwargs)`` runs the
DIFFUSION_MODEL wrapper chain with ``transformer_options`` among the keywords; the latent ``[B, C, T, H, W]`` is
patch-embedded (``patch_spatial`` 2, one frame per token along time), ``pos_embedder`` gets the embedded
``[B, T, H, W, D]`` tensor and its table is applied as ``[1, L, 1, D/2, 2, 2]`` in split halves (element ``k``
with ``k + D/2``). The body is ``TinyCore``; the text enters as its mean.
"""

from __future__ import annotations

from torch import nn

from ...patcher_extension import WrapperExecutor, WrappersMP, get_all_wrappers
from ..tiny import TinyCore, patchify_frames, unpatchify_frames
from .position_embedding import VideoRopePosition3DEmb


class MiniTrainDIT(nn.Module):
    def __init__(self, in_channels=16, out_channels=16, patch_spatial=2, model_channels=128, num_heads=1,
                 crossattn_emb_channels=32, rope_h_extrapolation_ratio=4.0, rope_w_extrapolation_ratio=4.0,
                 rope_t_extrapolation_ratio=1.0, image_model=None, device=None, dtype=None, operations=None, **kwargs):
        super().__init__()
        self.patch_spatial, self.out_channels, self.dtype = patch_spatial, out_channels, dtype
        head_dim = model_channels // num_heads
        self.pos_embedder = VideoRopePosition3DEmb(
            head_dim=head_dim, h_extrapolation_ratio=rope_h_extrapolation_ratio,
            w_extrapolation_ratio=rope_w_extrapolation_ratio, t_extrapolation_ratio=rope_t_extrapolation_ratio,
            device=device)
        self.core = TinyCore(in_channels * patch_spatial**2, head_dim, crossattn_emb_channels, device=device)

    def forward(self, x, timesteps, context, fps=None, padding_mask=None, **kwargs):
        wrappers = get_all_wrappers(WrappersMP.DIFFUSION_MODEL, kwargs.get("transformer_options", {}))
        return WrapperExecutor.new_class_executor(self._forward, self, wrappers).execute(
            x, timesteps, context, fps, padding_mask, **kwargs)

    def _forward(self, x, timesteps, context, fps=None, padding_mask=None, **kwargs):
        patch = self.patch_spatial
        frames, rows, cols = x.shape[2], x.shape[3] // patch, x.shape[4] // patch
        tokens = self.core.img_in(patchify_frames(x, patch))
        embedded = tokens.reshape(x.shape[0], frames, rows, cols, -1)
        table = self.pos_embedder(embedded, fps=fps, device=x.device).unsqueeze(1).unsqueeze(0)
        text = self.core.txt_in(context).mean(dim=1, keepdim=True)
        out = self.core.out(self.core(tokens + text, table, timesteps.flatten(), split_half=True,
                                          transformer_options=kwargs.get("transformer_options", {})))
        return unpatchify_frames(out, patch, self.out_channels, x.shape)
