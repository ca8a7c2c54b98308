# ruff: noqa: B006  (mutable defaults mirror the host signatures)
"""Tiny ``ErnieImageModel`` (``comfy.ldm.ernie.model``) and its rotary embedder ``ErnieImageEmbedND3``.

Reproduced from the host: ``forward(x, timesteps, context, **kwargs)`` runs NO wrapper chain (APPLY_MODEL
only), ``transformer_options`` in kwargs, ``timesteps`` = sigma x 1000; patch 1. Ids float32 ``[B, N + T, 3]``
(``expand``-ed over the batch): the IMAGE FIRST ``(T, r, c)`` with ``rope_options`` scale and shift
(``shift_t`` on axis 0), then the text ``(i, 0, 0)``; ONE ``pos_embed`` call. ``ErnieImageEmbedND3`` forms per
axis ``omega = 1 / theta ** (arange(0, d, 2) / d)`` in float64 and angles in float64, concatenates the 64
angles ``a`` of a token and returns ``[B, L, 1, 64, 2, 2]`` float32 whose entry ``k`` is
``[[cos a[k // 2], -sin a[k // 2]], [sin a[32 + k // 2], cos a[32 + k // 2]]]``: element ``k`` of a head
is paired with element ``k + 64`` (``split_half``). The body is ``TinyCore`` over ``cat(image, text)``.
"""

from __future__ import annotations

import torch
from torch import nn

from ..tiny import TinyCore, patchify, unpatchify


class ErnieImageEmbedND3(nn.Module):
    def __init__(self, dim: int, theta: int, axes_dim: tuple):
        super().__init__()
        self.dim, self.theta, self.axes_dim = dim, theta, list(axes_dim)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        angles = []
        for axis, d in enumerate(self.axes_dim):
            omega = 1.0 / (self.theta ** (torch.arange(0, d, 2, dtype=torch.float64, device=ids.device) / d))
            angles.append(ids[..., axis].to(torch.float64).unsqueeze(-1) * omega)
        a = torch.cat(angles, dim=-1)
        cos, sin = torch.cos(a).float(), torch.sin(a).float()
        half = a.shape[-1] // 2
        top, bottom = slice(0, half), slice(half, None)
        rows = [cos[..., top], -sin[..., top], sin[..., bottom], cos[..., bottom]]
        table = torch.stack([r.repeat_interleave(2, dim=-1) for r in rows], dim=-1)
        return table.reshape(*table.shape[:-1], 2, 2).unsqueeze(2)


class ErnieImageModel(nn.Module):
    def __init__(self, hidden_size=128, num_attention_heads=1, in_channels=128, out_channels=128, patch_size=1,
                 text_in_dim=32, rope_theta=256, rope_axes_dim=(32, 48, 48), image_model=None, device=None,
                 dtype=None, operations=None, **kwargs):
        super().__init__()
        self.dtype, self.patch_size, self.out_channels = dtype, patch_size, out_channels
        self.head_dim = hidden_size // num_attention_heads
        self.pos_embed = ErnieImageEmbedND3(dim=self.head_dim, theta=rope_theta, axes_dim=rope_axes_dim)
        self.core = TinyCore(in_channels * patch_size**2, self.head_dim, text_in_dim, device=device)

    def forward(self, x, timesteps, context, **kwargs):
        b, _, h, w = x.shape
        p = self.patch_size
        rows, cols, text = h // p, w // p, context.shape[1]
        text_ids = torch.zeros((b, text, 3), device=x.device, dtype=torch.float32)
        text_ids[:, :, 0] = torch.linspace(0, text - 1, steps=text, device=x.device, dtype=torch.float32)
        index, lens, offsets = float(text), [float(rows), float(cols)], [0.0, 0.0]
        rope_options = kwargs.get("transformer_options", {}).get("rope_options")
        if rope_options is not None:
            index += rope_options.get("shift_t", 0.0)
            for i, axis in enumerate("yx"):
                lens[i] = (lens[i] - 1.0) * rope_options.get(f"scale_{axis}", 1.0) + 1.0
                offsets[i] += rope_options.get(f"shift_{axis}", 0.0)
        r, c = torch.meshgrid(*(torch.linspace(o, n - 1 + o, steps=k, device=x.device, dtype=torch.float32)
                                for o, n, k in zip(offsets, lens, (rows, cols))), indexing="ij")
        image_ids = torch.stack((torch.full_like(r, index), r, c), dim=-1).view(1, rows * cols, 3).expand(b, -1, -1)
        table = self.pos_embed(torch.cat([image_ids, text_ids], dim=1))
        tokens = torch.cat([self.core.img_in(patchify(x, p)), self.core.txt_in(context)], dim=1)
        out = self.core.out(self.core(tokens, table, timesteps / 1000, split_half=True))
        return unpatchify(out[:, :rows * cols], p, self.out_channels, h, w)
