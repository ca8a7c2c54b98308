"""``VideoRopePosition3DEmb`` (``comfy.ldm.cosmos.position_embedding``): rotary positions from the grid.

Reproduced from the host: no ids; ``forward(x [B, T, H, W, D], fps=None, device=None, dtype=None)`` reads only
the grid shape and returns float32 rotation matrices ``[T*H*W, D/2, 2, 2]`` for corner-origin ``arange``
positions, pairs ordered ``[t | h | w]`` (``dim_h = dim_w = D // 6 * 2``, ``dim_t = D - 2 dim_h``). Each axis's
frequencies are ``1 / theta_axis ** (arange(0, d, 2) / d)`` in float32 with ``theta_axis = 10000 * ratio **
(d / (d - 2))`` (the built-in NTK factor), kept as ``h_ntk_factor``, ``w_ntk_factor``, ``t_ntk_factor``.
"""

from __future__ import annotations

import torch
from torch import nn


class VideoRopePosition3DEmb(nn.Module):
    def __init__(self, *, head_dim: int, h_extrapolation_ratio: float = 1.0, w_extrapolation_ratio: float = 1.0,
                 t_extrapolation_ratio: float = 1.0, device=None, **kwargs):
        super().__init__()
        dim_h = head_dim // 6 * 2
        dim_t = head_dim - 2 * dim_h
        self.register_buffer("dim_spatial_range", torch.arange(0, dim_h, 2, device=device).float() / dim_h,
                             persistent=False)
        self.register_buffer("dim_temporal_range", torch.arange(0, dim_t, 2, device=device).float() / dim_t,
                             persistent=False)
        self.h_ntk_factor = h_extrapolation_ratio ** (dim_h / (dim_h - 2))
        self.w_ntk_factor = w_extrapolation_ratio ** (dim_h / (dim_h - 2))
        self.t_ntk_factor = t_extrapolation_ratio ** (dim_t / (dim_t - 2))

    def forward(self, x, fps=None, device=None, dtype=None):
        _, frames, rows, cols, _ = x.shape

        def axis(n: int, spread: torch.Tensor, factor: float) -> torch.Tensor:
            angle = torch.outer(torch.arange(n, dtype=torch.float32, device=device), 1.0 / (10000.0 * factor) ** spread)
            return torch.stack([angle.cos(), -angle.sin(), angle.sin(), angle.cos()], dim=-1)

        t = axis(frames, self.dim_temporal_range, self.t_ntk_factor)[:, None, None].expand(-1, rows, cols, -1, -1)
        h = axis(rows, self.dim_spatial_range, self.h_ntk_factor)[None, :, None].expand(frames, -1, cols, -1, -1)
        w = axis(cols, self.dim_spatial_range, self.w_ntk_factor)[None, None].expand(frames, rows, -1, -1, -1)
        return torch.cat([t, h, w], dim=-2).reshape(frames * rows * cols, -1, 2, 2).float()
