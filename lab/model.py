"""A small diffusion transformer (DiT) with axial 2-D RoPE and adaLN conditioning on time and prompt.

Patch embedding -> ``depth`` blocks -> adaLN final layer -> unpatchify. Each block is
adaLN-Zero (Peebles & Xie 2023): ``h = h + g1 * Attn(LN(h) (1 + a1) + b1)`` and
``h = h + g2 * MLP(LN(h) (1 + a2) + b2)`` with ``(b, a, g)`` regressed from the time
embedding plus the prompt embedding (``lab.data.condition``; FLUX adds its pooled text vector
to the time embedding the same way). Attention uses RMS-normalised queries and keys (as FLUX)
rotated by the table of ``lab.rope``; the model predicts the rectified-flow velocity
``v = noise - x0``.

Attention logits are ``lambda q.k / sqrt(d)``. Training always uses ``lambda = 1``; sampling
may pass proportional attention's ``lambda`` (``dype_core.attention.proportional_factor``), which keeps the
attention entropy of a larger token count at its trained level.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from dype_core import RotaryLayout

from . import rope as lab_rope
from .data import CONDITION_DIM


@dataclass(frozen=True)
class ModelConfig:
    """Architecture and training geometry. ``axes_dim`` must sum to ``width / heads``."""

    image_size: int = 32
    patch: int = 2
    channels: int = 3
    width: int = 128
    depth: int = 4
    heads: int = 2
    axes_dim: tuple[int, int] = (32, 32)
    theta: float = 1000.0

    def __post_init__(self) -> None:
        if self.width % self.heads or sum(self.axes_dim) != self.width // self.heads:
            raise ValueError(f"axes_dim {self.axes_dim} must sum to the head dim {self.width // self.heads}")
        if self.image_size % self.patch:
            raise ValueError(f"image_size {self.image_size} is not a multiple of patch {self.patch}")

    @property
    def base_tokens(self) -> int:
        """Tokens per side at the training resolution (the base length ``L``)."""
        return self.image_size // self.patch

    def layout(self) -> RotaryLayout:
        """The ``dype_core`` layout of this model."""
        return lab_rope.layout(self.axes_dim, self.theta, self.base_tokens, self.patch)

    @classmethod
    def from_dict(cls, values: dict) -> ModelConfig:
        """Inverse of ``dataclasses.asdict`` (after a JSON round trip, which makes tuples lists)."""
        axes = values["axes_dim"]
        return cls(**{**values, "axes_dim": (int(axes[0]), int(axes[1]))})


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal embedding of ``1000 t``: ``[cos(1000 t f_j), sin(1000 t f_j)]``, ``f_j = P^(-j/(dim/2))``."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32) / half)
    args = 1000.0 * t[:, None].float() * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """adaLN: ``x (1 + scale) + shift`` with per-sample ``shift, scale [B, W]``."""
    return x * (1 + scale[:, None]) + shift[:, None]


class Block(nn.Module):
    """One adaLN-Zero transformer block with rotary self-attention."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.qkv = nn.Linear(width, 3 * width)
        self.q_norm = nn.RMSNorm(width // heads, eps=1e-6)
        self.k_norm = nn.RMSNorm(width // heads, eps=1e-6)
        self.proj = nn.Linear(width, width)
        self.norm2 = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(approximate="tanh"), nn.Linear(4 * width, width))
        self.ada = nn.Linear(width, 6 * width)
        nn.init.zeros_(self.ada.weight)
        nn.init.zeros_(self.ada.bias)

    def forward(self, h: torch.Tensor, c: torch.Tensor, rope: torch.Tensor, logit_scale: float) -> torch.Tensor:
        """``h [B, L, W]``, conditioning ``c [B, W]``, rotary table ``[1, 1, L, D/2, 2, 2]``,
        attention logits multiplied by ``logit_scale``."""
        b1, a1, g1, b2, a2, g2 = self.ada(F.silu(c)).chunk(6, dim=-1)
        batch, length, width = h.shape
        qkv = self.qkv(modulate(self.norm1(h), b1, a1)).view(batch, length, 3, self.heads, width // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        q = lab_rope.apply_rope(self.q_norm(q), rope)
        k = lab_rope.apply_rope(self.k_norm(k), rope)
        # scale None is SDPA's own 1/sqrt(d): bitwise the trained attention when logit_scale is 1
        scale = None if logit_scale == 1.0 else logit_scale / math.sqrt(q.shape[-1])
        attn = F.scaled_dot_product_attention(q, k, v, scale=scale).transpose(1, 2).reshape(batch, length, width)
        h = h + g1[:, None] * self.proj(attn)
        return h + g2[:, None] * self.mlp(modulate(self.norm2(h), b2, a2))


class DiT(nn.Module):
    """The lab's velocity model ``v(x_t, t)`` for images of any multiple of ``patch`` pixels."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        w, p, ch = config.width, config.patch, config.channels
        self.embed = nn.Linear(ch * p * p, w)
        self.time = nn.Sequential(nn.Linear(w, w), nn.SiLU(), nn.Linear(w, w))
        self.prompt = nn.Sequential(nn.Linear(CONDITION_DIM, w), nn.SiLU(), nn.Linear(w, w))
        self.blocks = nn.ModuleList(Block(w, config.heads) for _ in range(config.depth))
        self.norm_out = nn.LayerNorm(w, elementwise_affine=False, eps=1e-6)
        self.ada_out = nn.Linear(w, 2 * w)
        self.out = nn.Linear(w, ch * p * p)
        for layer in (self.ada_out, self.out):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def patchify(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, C, H, W] -> [B, (H/p)(W/p), C p p]``, row-major tokens."""
        b, ch, hh, ww = x.shape
        p = self.config.patch
        x = x.reshape(b, ch, hh // p, p, ww // p, p).permute(0, 2, 4, 1, 3, 5)
        return x.reshape(b, (hh // p) * (ww // p), ch * p * p)

    def unpatchify(self, tokens: torch.Tensor, rows: int, cols: int) -> torch.Tensor:
        """Inverse of ``patchify`` for a ``rows x cols`` token grid."""
        b = tokens.shape[0]
        p, ch = self.config.patch, self.config.channels
        x = tokens.reshape(b, rows, cols, ch, p, p).permute(0, 3, 1, 4, 2, 5)
        return x.reshape(b, ch, rows * p, cols * p)

    def forward(
        self, x: torch.Tensor, t: torch.Tensor, prompt: torch.Tensor, rope: torch.Tensor, logit_scale: float = 1.0,
    ) -> torch.Tensor:
        """Velocity for ``x [B, C, H, W]`` at times ``t [B]`` and prompts ``prompt [B, CONDITION_DIM]``,
        with the grid's rotary table ``rope`` and attention logits multiplied by ``logit_scale``
        (see ``proportional_attention``)."""
        rows, cols = x.shape[2] // self.config.patch, x.shape[3] // self.config.patch
        h = self.embed(self.patchify(x))
        c = self.time(timestep_embedding(t, self.config.width)) + self.prompt(prompt)
        for block in self.blocks:
            h = block(h, c, rope, logit_scale)
        shift, scale = self.ada_out(F.silu(c)).chunk(2, dim=-1)
        return self.unpatchify(self.out(modulate(self.norm_out(h), shift, scale)), rows, cols)
