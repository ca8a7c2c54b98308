# ruff: noqa: B006  (mutable defaults mirror the host signatures)
"""Rotary position embedding of the FLUX family (``comfy.ldm.flux.math``).

Table layout reproduced from the host: for positions ``pos [..., N]`` the result is float32
``[..., N, dim/2, 2, 2]`` holding the rotation matrix ``[[cos, -sin], [sin, cos]]`` per frequency,
with ``omega_i = 1 / theta ** (2i / dim)`` built in float64 and angles computed in float64 from the
positions *first cast to float32*. Queries/keys are rotated as interleaved pairs (x0, x1), (x2, x3)...
"""

from __future__ import annotations

import torch
from torch import Tensor

from ... import model_management
from ..modules.attention import optimized_attention


def rope(pos: Tensor, dim: int, theta: int) -> Tensor:
    assert dim % 2 == 0
    device = pos.device if model_management.supports_fp64(pos.device) else torch.device("cpu")
    exponent = torch.linspace(0, (dim - 2) / dim, steps=dim // 2, dtype=torch.float64, device=device)
    omega = 1.0 / theta**exponent
    angle = pos.to(dtype=torch.float32, device=device).unsqueeze(-1) * omega  # float64
    cos, sin = torch.cos(angle), torch.sin(angle)
    table = torch.stack([cos, -sin, sin, cos], dim=-1).reshape(*angle.shape, 2, 2)
    return table.to(dtype=torch.float32, device=pos.device)


def apply_rope1(x: Tensor, freqs_cis: Tensor) -> Tensor:
    """Rotate ``x [B, H, L, D]`` by ``freqs_cis [B|1, 1, L', D/2, 2, 2]`` (L' > L is trimmed, as in v0.25)."""
    pairs = x.to(freqs_cis.dtype).reshape(*x.shape[:-1], -1, 2)
    if pairs.shape[2] != 1 and freqs_cis.shape[2] != 1 and pairs.shape[2] != freqs_cis.shape[2]:
        freqs_cis = freqs_cis[:, :, : pairs.shape[2]]
    first, second = pairs[..., 0:1], pairs[..., 1:2]
    rotated = torch.addcmul(freqs_cis[..., 0] * first, freqs_cis[..., 1], second)
    return rotated.reshape(*x.shape).type_as(x)


def apply_rope(xq: Tensor, xk: Tensor, freqs_cis: Tensor):
    return apply_rope1(xq, freqs_cis), apply_rope1(xk, freqs_cis)


def attention(q: Tensor, k: Tensor, v: Tensor, pe: Tensor, mask=None, transformer_options={}) -> Tensor:
    """Rotate q/k when ``pe`` is given, then ``optimized_attention`` with ``skip_reshape`` and the options:
    ``[B, H, L, D] -> [B, L, H*D]``."""
    if pe is not None:
        q, k = apply_rope(q, k, pe)
    if mask is not None and mask.ndim == 3:
        mask = mask.unsqueeze(1)
    return optimized_attention(q, k, v, q.shape[1], skip_reshape=True, mask=mask,
                               transformer_options=transformer_options)
