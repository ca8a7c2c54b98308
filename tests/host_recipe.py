"""ComfyUI's own FLUX-family rotary table, written from COMFYUI-HOST.md as a test oracle.

``rope(pos, D, b)``: ``omega = 1 / b ** linspace(0, (D - 2) / D, D / 2)`` in float64, angles
``pos x omega`` in float64, ``[cos, -sin, sin, cos]`` reshaped to ``(..., D/2, 2, 2)`` and cast
to float32; the axes concatenated along the pair dimension, then a head dimension inserted.
"""

from __future__ import annotations

import torch


def rope(pos: torch.Tensor, dim: int, theta: float) -> torch.Tensor:
    omega = 1.0 / (theta ** torch.linspace(0, (dim - 2) / dim, dim // 2, dtype=torch.float64, device=pos.device))
    angles = pos.to(torch.float64).unsqueeze(-1) * omega
    out = torch.stack([torch.cos(angles), -torch.sin(angles), torch.sin(angles), torch.cos(angles)], dim=-1)
    return out.reshape(*angles.shape, 2, 2).float()


def host_table(ids: torch.Tensor, axes_dim: tuple[int, ...], theta: float, head_axis: int = 1) -> torch.Tensor:
    """The host embedder's output for ``ids [B, L, n_axes]``."""
    table = torch.cat([rope(ids[..., a], d, theta) for a, d in enumerate(axes_dim)], dim=-3)
    return table.unsqueeze(head_axis)


def flux_ids(
    rows: int, cols: int, *, batch: int = 1, text: int = 512, refs: tuple[tuple[int, int], ...] = ()
) -> torch.Tensor:
    """FLUX.1 ids as ``Flux.forward`` builds them: text zeros, image ``(0, r, c)``, then Kontext
    references ``(1, r + dh, c + dw)`` offset past the image."""
    def grid(index: float, h: int, w: int, dh: int = 0, dw: int = 0) -> torch.Tensor:
        ids = torch.zeros(h, w, 3)
        ids[..., 0] = index
        ids[..., 1] = torch.arange(h, dtype=torch.float32)[:, None] + dh
        ids[..., 2] = torch.arange(w, dtype=torch.float32)[None, :] + dw
        return ids.reshape(1, h * w, 3)

    parts = [torch.zeros(1, text, 3), grid(0, rows, cols)]
    dh, dw = 0, 0
    for h, w in refs:
        parts.append(grid(1, h, w, dh=rows if h + dh > dw else 0, dw=0 if h + dh > dw else cols))
        dh, dw = max(dh, h), max(dw, w)
    return torch.cat(parts, dim=1).repeat(batch, 1, 1)
