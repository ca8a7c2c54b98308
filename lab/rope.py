"""The lab's rotary geometry and every extrapolation method, all through ``dype_core``.

Position ids are FLUX's: token ``(row, col)`` has ids ``(row, col)`` on two axes. The table
is ``dype_core.build_table``'s ``[B, 1, L, D/2, 2, 2]`` of matrices
``[[cos a, -sin a], [sin a, cos a]]`` with ``a = position * w_i`` and it is applied as FLUX
applies it: ``x`` (pairs interleaved) is viewed as ``[..., D/2, 1, 2]`` and
``out = T[..., 0] * x[..., 0] + T[..., 1] * x[..., 1]``, i.e. ``out = T x`` per pair.
"""

from __future__ import annotations

import torch

from dype_core import DyPESettings, RotaryLayout, build_table, sega
from dype_core import frequencies as freqs

#: Methods the lab compares, in report order: label -> settings (None is plain RoPE).
METHODS: dict[str, DyPESettings | None] = {
    "none": None,
    "PI": DyPESettings(method="pi", dynamic=False),
    "NTK": DyPESettings(method="ntk", dynamic=False),
    "YaRN": DyPESettings(method="yarn", dynamic=False),
    "Dy-PI": DyPESettings(method="pi", dynamic=True),
    "Dy-NTK": DyPESettings(method="ntk", dynamic=True),
    "Dy-YaRN": DyPESettings(method="yarn", dynamic=True),
    "Lumina": DyPESettings(method="lumina", dynamic=True, scaling="area"),
    "SEGA": DyPESettings(method="sega", dynamic=False),
    # Dy-YaRN's frequencies without its attention factor 0.1 ln s + 1: with +PA, proportional attention
    # replaces that factor instead of stacking on it.
    "Dy-YaRN/no-factor": DyPESettings(method="yarn", dynamic=True, attention_scale=False),
}


def layout(axes_dim: tuple[int, int], theta: float, base_tokens: int, patch: int) -> RotaryLayout:
    """A two-axis layout (rows, cols) trained on ``base_tokens x base_tokens`` tokens of
    ``patch`` pixels (no VAE: ``latent_downscale = 1``)."""
    return RotaryLayout(
        name="lab", axes_dim=axes_dim, theta=theta, row_axis=0, col_axis=1,
        base_grid=(float(base_tokens), float(base_tokens)), latent_downscale=1, patch=patch,
    )


def position_ids(rows: int, cols: int) -> torch.Tensor:
    """FLUX-style ids ``[1, rows * cols, 2]`` float32: ``(row, col)`` of each token, row-major."""
    grid = torch.stack(torch.meshgrid(torch.arange(rows), torch.arange(cols), indexing="ij"), dim=-1)
    return grid.reshape(1, rows * cols, 2).to(torch.float32)


def table(
    lay: RotaryLayout, rows: int, cols: int, settings: DyPESettings | None, t: float,
    latent: torch.Tensor | None = None,
) -> torch.Tensor:
    """The rotary table ``[1 | B, 1, rows * cols, D/2, 2, 2]`` of a ``rows x cols`` grid at diffusion
    time ``t`` (``t = sigma`` for a rectified-flow model): plain RoPE when ``settings`` is None,
    else ``dype_core.frequencies.dype`` at the layout's per-axis scales (``s = max(1, N/L)``).
    SEGA's magnitudes follow each image of ``latent [B, C, H, W]`` (the step's input) on its own, one
    table per image, so that a sample does not depend on the batch it is drawn in."""
    ids = position_ids(rows, cols)
    if settings is None:
        return build_table(ids, lay, freqs.plain(lay))
    scales = lay.axis_scales(rows, cols, settings.scaling)
    if settings.method != "sega" or max(scales) == 1.0:
        return build_table(ids, lay, freqs.dype(lay, settings, scales, t))
    if latent is None:
        raise ValueError("SEGA's table follows the latent: pass the step's input as latent")
    return torch.cat([
        build_table(ids, lay, freqs.dype(lay, settings, scales, t, spectrum=sega.spectrum(image[None], lay.patch)))
        for image in latent
    ])


def apply_rope(x: torch.Tensor, rope: torch.Tensor) -> torch.Tensor:
    """Rotate ``x [B, H, L, D]`` by ``rope [B|1, 1, L, D/2, 2, 2]``, FLUX's way (pairs interleaved)."""
    pairs = x.float().reshape(*x.shape[:-1], -1, 1, 2)
    out = rope[..., 0] * pairs[..., 0] + rope[..., 1] * pairs[..., 1]
    return out.reshape(*x.shape).type_as(x)
