"""Rotary layouts: which rotary dims belong to which position axis, and how big the grid was.

A layout is data: per-axis dims, theta, which axes are rows and columns (and time, for
video), the base grid in tokens (the training resolution), and how many pixels one token
covers. The per-axis scale of the current main-image grid follows from it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

SCALINGS = ("per_axis", "isotropic", "area")


@dataclass(frozen=True)
class RotaryLayout:
    """A model's rotary geometry.

    ``axes_dim`` lists the rotary dims of each id axis in table order; ``row_axis`` and
    ``col_axis`` name the spatial ones, ``time_axis`` the time one of a video model.
    ``base_grid`` is the ``(rows, cols)`` token grid of the training resolution; one token
    covers ``latent_downscale * patch`` pixels per side. ``base_frames`` is the trained clip
    length in latent frames (``None``: the time axis is never scaled).
    """

    name: str
    axes_dim: tuple[int, ...]
    theta: float
    row_axis: int
    col_axis: int
    base_grid: tuple[float, float]
    latent_downscale: int
    patch: int
    time_axis: int | None = None
    base_frames: float | None = None

    def __post_init__(self) -> None:
        n = len(self.axes_dim)
        if any(d < 2 or d % 2 for d in self.axes_dim):
            raise ValueError(f"{self.name}: every rotary axis dim must be even and >= 2, got {self.axes_dim}")
        roles = [a for a in (self.row_axis, self.col_axis, self.time_axis) if a is not None]
        if len(set(roles)) != len(roles) or not all(0 <= a < n for a in roles):
            raise ValueError(f"{self.name}: row/col/time axes {roles} must be distinct axes of 0..{n - 1}")
        if min(self.base_grid) <= 0:
            raise ValueError(f"{self.name}: base grid must be positive, got {self.base_grid}")
        if self.base_frames is not None and (self.time_axis is None or self.base_frames <= 0):
            raise ValueError(f"{self.name}: base_frames needs a time axis and must be positive, got {self.base_frames}")

    @property
    def pairs(self) -> int:
        """Rotary pairs per token: ``sum(axes_dim) / 2``."""
        return sum(self.axes_dim) // 2

    @property
    def pair_slices(self) -> tuple[tuple[int, int], ...]:
        """``(first, end)`` pair indices of each axis in the concatenated table."""
        ends = [sum(self.axes_dim[: a + 1]) // 2 for a in range(len(self.axes_dim))]
        return tuple(zip([0, *ends[:-1]], ends))

    @property
    def px_per_token(self) -> int:
        """Image pixels per token along one side."""
        return self.latent_downscale * self.patch

    def base_len(self, axis: int) -> float:
        """Base length ``L`` of an axis: the trained rows, columns (tokens) or clip (latent frames)."""
        if axis == self.time_axis and self.base_frames is not None:
            return self.base_frames
        return self.base_grid[0] if axis == self.row_axis else self.base_grid[1]

    def trained_tokens(self, frames: int = 1) -> float:
        """The main image's tokens at the trained size for ``frames`` latent frames: the base grid's, times
        the frames up to the trained clip length of a video layout."""
        return self.base_grid[0] * self.base_grid[1] * min(frames, self.base_frames or frames)

    def tokens(self, latent_size: int) -> int:
        """Tokens along a latent side of ``latent_size``, as the host patchifies (padding up)."""
        return (latent_size + self.patch - 1) // self.patch

    def grid_for_pixels(self, width: int, height: int) -> tuple[int, int]:
        """The ``(rows, cols)`` token grid of a ``width x height`` image (latent = pixels // VAE)."""
        return self.tokens(height // self.latent_downscale), self.tokens(width // self.latent_downscale)

    def with_base_resolution(self, pixels: int) -> RotaryLayout:
        """The same layout trained at ``pixels x pixels``; must be a whole number of tokens."""
        token = self.px_per_token
        if pixels <= 0 or pixels % token:
            nearest = max(1, round(pixels / token)) * token
            raise ValueError(
                f"base resolution {pixels} px is not a positive multiple of {token} px, "
                f"the size of one {self.name} token; try {nearest}"
            )
        side = pixels // token
        return replace(self, base_grid=(float(side), float(side)))

    def axis_scales(self, rows: int, cols: int, scaling: str = "per_axis", frames: int = 1) -> tuple[float, ...]:
        """Scale factor ``s`` of every axis for a ``frames x rows x cols`` main-image grid.

        ``per_axis``: ``s = max(1, N / L)`` on each spatial axis (the authors' code);
        ``isotropic``: the larger of the two on both; ``area``: ``sqrt(N_h N_w / (L_h L_w))``
        on both (Lumina-Next). The time axis of a video layout gets ``s_t = max(1, T / T_train)``
        (``base_frames``); every other axis is 1.
        """
        if scaling not in SCALINGS:
            raise ValueError(f"unknown scaling {scaling!r}; choose one of {', '.join(SCALINGS)}")
        s_rows = max(1.0, rows / self.base_grid[0])
        s_cols = max(1.0, cols / self.base_grid[1])
        if scaling == "isotropic":
            s_rows = s_cols = max(s_rows, s_cols)
        elif scaling == "area":
            s_rows = s_cols = max(1.0, math.sqrt(rows * cols / (self.base_grid[0] * self.base_grid[1])))
        scales = [1.0] * len(self.axes_dim)
        scales[self.row_axis], scales[self.col_axis] = s_rows, s_cols
        if self.base_frames is not None:
            scales[self.time_axis] = max(1.0, frames / self.base_frames)
        return tuple(scales)


#: FLUX.1 dev / schnell / Krea / Fill / Kontext and Chroma: axes (index, row, col) 16/56/56,
#: theta 1e4, VAE /8 and patch 2, trained at 1024 px (64 tokens). ComfyUI's
#: ``comfy/supported_models.py`` (Flux: ``axes_dim [16, 56, 56]``, ``theta 10000``).
FLUX1 = RotaryLayout(
    name="FLUX.1", axes_dim=(16, 56, 56), theta=10000.0, row_axis=1, col_axis=2,
    base_grid=(64.0, 64.0), latent_downscale=8, patch=2,
)
#: Flux.2 dev / Klein: axes (index, row, col, text) 32/32/32/32, theta 2000, VAE /16 and
#: patch 1, trained at 1024 px (64 tokens); ComfyUI ``Flux2`` model config.
FLUX2 = RotaryLayout(
    name="Flux.2", axes_dim=(32, 32, 32, 32), theta=2000.0, row_axis=1, col_axis=2,
    base_grid=(64.0, 64.0), latent_downscale=16, patch=1,
)
