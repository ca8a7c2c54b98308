"""The shared core of the stand-in rotary transformers: patchify, one rotary attention, unpatchify.

Family stand-ins (``comfy.ldm.<family>.model``) differ only in how they build ids and call their
embedder, which they reproduce from the host; this core applies whatever table they get, so a
table change shows in the output. Tables are applied on interleaved pairs (FLUX's ``apply_rope``),
or split in halves (Ernie, Cosmos: element ``k`` with ``k + D/2``).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .modules.attention import optimized_attention


def rotate(x: Tensor, table: Tensor, split_half: bool = False) -> Tensor:
    """Rotate ``x [B, L, H, D]`` by ``table [B|1, L, 1, D/2, 2, 2]``."""
    if split_half:
        half = x.shape[-1] // 2
        pairs = torch.stack((x[..., :half], x[..., half:]), dim=-1)
    else:
        pairs = x.reshape(*x.shape[:-1], -1, 2)
    out = table[..., 0] * pairs[..., :1] + table[..., 1] * pairs[..., 1:]
    if split_half:
        return torch.cat((out[..., 0], out[..., 1]), dim=-1)
    return out.reshape(x.shape)


class TinyCore(nn.Module):
    """Tokens in, tokens out: one single-head attention whose q and k are rotated by the table."""

    def __init__(self, channels: int, head_dim: int, context_dim: int = 32, device=None, dtype=None):
        super().__init__()
        self.head_dim = head_dim
        self.img_in = nn.Linear(channels, head_dim, device=device, dtype=dtype)
        self.txt_in = nn.Linear(context_dim, head_dim, device=device, dtype=dtype)
        self.qkv = nn.Linear(head_dim, 3 * head_dim, device=device, dtype=dtype)
        self.out = nn.Linear(head_dim, channels, device=device, dtype=dtype)

    def forward(self, tokens: Tensor, table: Tensor, t: Tensor, split_half: bool = False,
                transformer_options: dict | None = None) -> Tensor:
        """``tokens [B, L, head_dim]`` (already embedded) attended with ``table [B|1, L, 1, D/2, 2, 2]``: through
        ``optimized_attention`` with ``transformer_options`` when the family's host model passes them, else by
        its own softmax (a model whose attention has no override seam)."""
        q, k, v = self.qkv(tokens + t.reshape(-1, 1, 1).to(tokens)).unsqueeze(2).chunk(3, dim=-1)
        table = table.to(torch.float32)
        q, k = rotate(q.float(), table, split_half).to(v), rotate(k.float(), table, split_half).to(v)
        if transformer_options is not None:
            return tokens + optimized_attention(q.squeeze(2), k.squeeze(2), v.squeeze(2), 1,
                                                transformer_options=transformer_options)
        weights = torch.softmax((q.squeeze(2) @ k.squeeze(2).transpose(1, 2)) / self.head_dim**0.5, dim=-1)
        return tokens + weights @ v.squeeze(2)


def patchify(x: Tensor, patch: int) -> Tensor:
    """``[B, C, H, W] -> [B, (H/p)(W/p), C p p]``, padding H and W up to a multiple of ``patch``."""
    b, c, h, w = x.shape
    x = nn.functional.pad(x, (0, (-w) % patch, 0, (-h) % patch))
    rows, cols = x.shape[-2] // patch, x.shape[-1] // patch
    return x.reshape(b, c, rows, patch, cols, patch).permute(0, 2, 4, 1, 3, 5).reshape(b, rows * cols, -1)


def unpatchify(tokens: Tensor, patch: int, channels: int, h: int, w: int) -> Tensor:
    """The inverse of ``patchify``, cropped to ``h x w``."""
    b = tokens.shape[0]
    rows, cols = -(-h // patch), -(-w // patch)
    x = tokens.reshape(b, rows, cols, channels, patch, patch).permute(0, 3, 1, 4, 2, 5)
    return x.reshape(b, channels, rows * patch, cols * patch)[..., :h, :w]


def patchify_frames(x: Tensor, patch: int) -> Tensor:
    """``[B, C, H, W]`` or ``[B, C, T, H, W]`` (patch 1 along time) to tokens ``(t, r, c)`` row-major."""
    if x.ndim == 4:
        return patchify(x, patch)
    return patchify(x.transpose(1, 2).flatten(0, 1), patch).reshape(x.shape[0], -1, x.shape[1] * patch * patch)


def unpatchify_frames(tokens: Tensor, patch: int, channels: int, shape: torch.Size) -> Tensor:
    """The inverse of ``patchify_frames`` for a latent of ``shape`` with ``channels`` channels."""
    h, w = shape[-2], shape[-1]
    if len(shape) == 4:
        return unpatchify(tokens, patch, channels, h, w)
    b, t = shape[0], shape[2]
    frames = unpatchify(tokens.reshape(b * t, -1, tokens.shape[-1]), patch, channels, h, w)
    return frames.reshape(b, t, channels, h, w).transpose(1, 2)
