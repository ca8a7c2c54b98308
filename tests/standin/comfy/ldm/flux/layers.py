# ruff: noqa: B006  (mutable defaults mirror the host signatures)
"""Building blocks of the tiny FLUX-architecture DiT (``comfy.ldm.flux.layers``).

``EmbedND`` reproduces the host exactly (no parameters; per-axis ``rope`` tables concatenated on
the frequency axis, then a head axis): ``ids [B, L, n_axes] -> [B, 1, L, sum(axes_dim)/2, 2, 2]``
float32. The blocks are a compact own design with the host's calling conventions: joint txt+img
attention with ``pe`` covering txt tokens first, and ``transformer_options["patches"]["attn1_patch"]``
hooks called as ``p(q, k, v, pe=pe, attn_mask=..., extra_options=...)`` that may return a new ``pe``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .math import attention, rope


class EmbedND(nn.Module):
    def __init__(self, dim: int, theta: int, axes_dim: list):
        super().__init__()
        self.dim, self.theta, self.axes_dim = dim, theta, axes_dim

    def forward(self, ids: Tensor) -> Tensor:
        tables = [rope(ids[..., i], self.axes_dim[i], self.theta) for i in range(ids.shape[-1])]
        return torch.cat(tables, dim=-3).unsqueeze(1)


def timestep_embedding(t: Tensor, dim, max_period=10000, time_factor: float = 1000.0) -> Tensor:
    """Sinusoidal embedding ``[cos | sin]`` of ``time_factor * t``."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = (time_factor * t)[:, None].float() * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    return emb.to(t) if torch.is_floating_point(t) else emb


class MLPEmbedder(nn.Module):
    def __init__(self, in_dim: int, hidden_dim: int):
        super().__init__()
        self.in_layer, self.out_layer = nn.Linear(in_dim, hidden_dim), nn.Linear(hidden_dim, hidden_dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.out_layer(F.silu(self.in_layer(x)))


def _mod(vec: Tensor, lin: nn.Linear, n: int) -> list[Tensor]:
    """adaLN modulation: ``n`` chunks of ``[B, 1, hidden]`` from the conditioning vector."""
    return lin(F.silu(vec))[:, None, :].chunk(n, dim=-1)


def _norm(x: Tensor) -> Tensor:
    return F.layer_norm(x, x.shape[-1:], eps=1e-6)


def _heads(qkv: Tensor, num_heads: int):
    """``[B, L, 3*hidden] -> 3 x [B, H, L, D]`` with RMS-normalised q and k."""
    q, k, v = qkv.unflatten(-1, (3, num_heads, -1)).permute(2, 0, 3, 1, 4)
    return F.rms_norm(q, q.shape[-1:]).to(v), F.rms_norm(k, k.shape[-1:]).to(v), v


def _attend(q, k, v, pe, attn_mask, transformer_options, txt_len):
    extra = dict(transformer_options, img_slice=[txt_len, q.shape[2]])
    for patch in transformer_options.get("patches", {}).get("attn1_patch", []):
        out = patch(q, k, v, pe=pe, attn_mask=attn_mask, extra_options=extra)
        q, k, v = out.get("q", q), out.get("k", k), out.get("v", v)
        pe, attn_mask = out.get("pe", pe), out.get("attn_mask", attn_mask)
    return attention(q, k, v, pe=pe, mask=attn_mask, transformer_options=transformer_options)


def _mlp(hidden: int, ratio: float) -> nn.Sequential:
    return nn.Sequential(nn.Linear(hidden, int(hidden * ratio)), nn.GELU(approximate="tanh"),
                         nn.Linear(int(hidden * ratio), hidden))


class DoubleStreamBlock(nn.Module):
    """Separate img/txt weights, one joint attention over ``cat(txt, img)``."""

    def __init__(self, hidden_size: int, num_heads: int, mlp_ratio: float = 4.0, qkv_bias: bool = True):
        super().__init__()
        self.num_heads = num_heads
        for s in ("img", "txt"):
            setattr(self, f"{s}_mod", nn.Linear(hidden_size, 6 * hidden_size))
            setattr(self, f"{s}_qkv", nn.Linear(hidden_size, 3 * hidden_size, bias=qkv_bias))
            setattr(self, f"{s}_proj", nn.Linear(hidden_size, hidden_size))
            setattr(self, f"{s}_mlp", _mlp(hidden_size, mlp_ratio))

    def forward(self, img: Tensor, txt: Tensor, vec: Tensor, pe: Tensor, attn_mask=None, transformer_options={}):
        mods, qkvs = {}, []
        for s, x in (("txt", txt), ("img", img)):
            mods[s] = _mod(vec, getattr(self, f"{s}_mod"), 6)
            shift, scale = mods[s][0], mods[s][1]
            qkvs.append(_heads(getattr(self, f"{s}_qkv")(_norm(x) * (1 + scale) + shift), self.num_heads))
        q, k, v = (torch.cat([t[i] for t in qkvs], dim=2) for i in range(3))
        attn = _attend(q, k, v, pe, attn_mask, transformer_options, txt.shape[1])
        outs = []
        for s, x, a in (("txt", txt, attn[:, : txt.shape[1]]), ("img", img, attn[:, txt.shape[1]:])):
            _, _, gate1, shift2, scale2, gate2 = mods[s]
            x = x + gate1 * getattr(self, f"{s}_proj")(a)
            outs.append(x + gate2 * getattr(self, f"{s}_mlp")(_norm(x) * (1 + scale2) + shift2))
        return outs[1], outs[0]


class SingleStreamBlock(nn.Module):
    """One weight set over the concatenated ``[txt, img]`` sequence, parallel attention + MLP."""

    def __init__(self, hidden_size: int, num_heads: int, mlp_ratio: float = 4.0):
        super().__init__()
        self.num_heads, self.hidden_size, self.mlp_hidden = num_heads, hidden_size, int(hidden_size * mlp_ratio)
        self.modulation = nn.Linear(hidden_size, 3 * hidden_size)
        self.linear1 = nn.Linear(hidden_size, 3 * hidden_size + self.mlp_hidden)
        self.linear2 = nn.Linear(hidden_size + self.mlp_hidden, hidden_size)

    def forward(self, x: Tensor, vec: Tensor, pe: Tensor, attn_mask=None, transformer_options={}) -> Tensor:
        shift, scale, gate = _mod(vec, self.modulation, 3)
        qkv, mlp = self.linear1(_norm(x) * (1 + scale) + shift).split([3 * self.hidden_size, self.mlp_hidden], -1)
        txt_len = transformer_options.get("img_slice", [0])[0]
        attn = _attend(*_heads(qkv, self.num_heads), pe, attn_mask, transformer_options, txt_len)
        return x + gate * self.linear2(torch.cat([attn, F.gelu(mlp, approximate="tanh")], dim=-1))


class LastLayer(nn.Module):
    def __init__(self, hidden_size: int, patch_size: int, out_channels: int):
        super().__init__()
        self.adaLN_modulation = nn.Linear(hidden_size, 2 * hidden_size)
        self.linear = nn.Linear(hidden_size, patch_size * patch_size * out_channels)

    def forward(self, x: Tensor, vec: Tensor) -> Tensor:
        shift, scale = _mod(vec, self.adaLN_modulation, 2)
        return self.linear(_norm(x) * (1 + scale) + shift)
