"""Procedural images with a known truth at any size.

A scene is drawn from a seed in canvas-relative units and can be rendered at any size:

* background: smooth grey shading, a ``1/f^2`` field band-limited to ``BACKGROUND_SHELLS``
  cycles per image. Its Fourier coefficients ``c(k) ~ N(0, 1) / |k|`` (``|c|^2 ~ 1/f^2``)
  come from one fixed grid, so every size shows the same shading (the global layout);
* exactly one main object (disk, rotated square or ellipse) of a saturated colour whose
  size and position are fractions of the canvas, so "one object" is the truth at every size;
* fine grey grain of a fixed size in pixels: the local detail, which a blurred sample lacks
  and which a larger canvas holds more of.

Every scene also has a *prompt*, ``condition``: its object's shape and hue, which the model
is conditioned on as FLUX is on its pooled text embedding.

Pixel values are in ``[-1, 1]``, channels first. Only the main object is coloured: the
background and the grain are grey (``R = G = B``), which makes the object detector of
``lab.metrics`` exact on real images.
"""

from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass

import numpy as np
import torch

#: Size of the background's frequency grid in cycles per image (canvases up to 2 * MAX_FREQ px).
MAX_FREQ = 64
#: Highest background frequency, in cycles per image: the shading is global, the grain local.
BACKGROUND_SHELLS = 4
#: Shapes of the main object.
SHAPES = ("disk", "square", "ellipse")
#: Standard deviation of the pixel grain, in the ``[-1, 1]`` range.
GRAIN = 0.06
#: Background contrast: standard deviation of the grey field, in the ``[-1, 1]`` range.
BACKGROUND_STD = 0.35


@dataclass(frozen=True)
class Scene:
    """One scene in canvas units: object centre ``(cy, cx)`` and radius ``radius`` are
    fractions of the side; ``hue`` in ``[0, 1)`` and ``rgb`` in ``[0, 1]``; ``seed`` drives
    background and grain."""

    seed: int
    shape: str
    cy: float
    cx: float
    radius: float
    angle: float
    aspect: float
    hue: float
    rgb: tuple[float, float, float]


def draw_scene(seed: int) -> Scene:
    """The scene of ``seed``: shape, colour, size and position drawn uniformly."""
    rng = np.random.default_rng([seed, 0])
    shape = SHAPES[int(rng.integers(len(SHAPES)))]
    radius = float(rng.uniform(0.12, 0.22))
    margin = radius + 0.04
    cy, cx = (float(v) for v in rng.uniform(margin, 1.0 - margin, size=2))
    hue = float(rng.uniform())
    rgb = colorsys.hsv_to_rgb(hue, float(rng.uniform(0.8, 1.0)), float(rng.uniform(0.85, 1.0)))
    return Scene(
        seed=seed, shape=shape, cy=cy, cx=cx, radius=radius, angle=float(rng.uniform(0, math.pi)),
        aspect=float(rng.uniform(0.5, 0.8)), hue=hue, rgb=(rgb[0], rgb[1], rgb[2]),
    )


_FREQS = np.arange(2 * MAX_FREQ) - MAX_FREQ
_SHELL = np.maximum(np.abs(_FREQS)[:, None], np.abs(_FREQS)[None, :]).ravel()
#: Grid cells ordered by shell ``max(|k_y|, |k_x|)``: the random stream fills low shells first,
#: so a small canvas draws only the prefix it needs and every size shares it.
_ORDER = np.argsort(_SHELL, kind="stable")
_RADIUS = np.hypot(_FREQS[:, None], _FREQS[None, :])
_RADIUS[MAX_FREQ, MAX_FREQ] = np.inf  # no DC term: the field has mean 0


def _spectrum_coefficients(seed: int) -> np.ndarray:
    """The background's complex coefficients on the fixed ``2 MAX_FREQ`` grid (``fftshift``
    order) for shells ``<= BACKGROUND_SHELLS``, zero elsewhere; amplitude ``N(0, 1) / |k|``,
    ``|k|`` in cycles per image."""
    rng = np.random.default_rng([seed, 1])
    count = int(np.sum(_SHELL <= BACKGROUND_SHELLS))
    draws = rng.standard_normal((count, 2))
    flat = np.zeros(_SHELL.size, dtype=np.complex128)
    flat[_ORDER[:count]] = draws[:, 0] + 1j * draws[:, 1]
    return flat.reshape(_RADIUS.shape) / _RADIUS


def _field_std() -> float:
    """Standard deviation of the unnormalised field: the real part of ``sum_k c(k) e^(...)``
    has variance ``sum_k E|c(k)|^2 / 2 = sum_k 1/|k|^2`` over the shells it holds."""
    radius2 = _RADIUS[_SHELL.reshape(_RADIUS.shape) <= BACKGROUND_SHELLS] ** 2
    return math.sqrt(float(np.sum(1.0 / radius2)))


_FIELD_STD = _field_std()


def background(seed: int, size: int) -> np.ndarray:
    """Grey shading ``[size, size]``: ``Re sum_k c(k) exp(2 pi i k.x)`` on pixel centres,
    the same field at every size (every canvas of ``2 (BACKGROUND_SHELLS + 1)`` px or more
    holds all its frequencies)."""
    if not 2 * (BACKGROUND_SHELLS + 1) <= size <= 2 * MAX_FREQ:
        raise ValueError(f"size must be in [{2 * (BACKGROUND_SHELLS + 1)}, {2 * MAX_FREQ}], got {size}")
    half = size // 2
    coeffs = _spectrum_coefficients(seed)
    band = coeffs[MAX_FREQ - half: MAX_FREQ + half, MAX_FREQ - half: MAX_FREQ + half]
    # sample at pixel centres (x = (j + 0.5) / size): a phase shift of pi k / size per axis
    k = np.arange(-half, -half + band.shape[0])
    shift = np.exp(1j * np.pi * k / size)
    band = band * shift[:, None] * shift[None, :]
    field = np.fft.ifft2(np.fft.ifftshift(band)) * band.size
    return (field.real / _FIELD_STD * BACKGROUND_STD).astype(np.float32)


def object_mask(scene: Scene, size: int) -> np.ndarray:
    """Coverage in ``[0, 1]`` of the main object on a ``size``-pixel canvas, anti-aliased over
    one pixel (``clip(0.5 - d, 0, 1)`` with ``d`` the signed distance in pixels)."""
    coords = (np.arange(size, dtype=np.float64) + 0.5) / size
    y, x = coords[:, None] - scene.cy, coords[None, :] - scene.cx
    c, s = math.cos(scene.angle), math.sin(scene.angle)
    u, v = c * x + s * y, -s * x + c * y
    r = scene.radius
    if scene.shape == "disk":
        dist = np.hypot(u, v) - r
    elif scene.shape == "square":
        side = r * 0.85
        dist = np.maximum(np.abs(u), np.abs(v)) - side
    else:  # ellipse: radii r and aspect * r, distance approximated by the scaled radius
        dist = (np.hypot(u / r, v / (scene.aspect * r)) - 1.0) * scene.aspect * r
    return np.clip(0.5 - dist * size, 0.0, 1.0).astype(np.float32)


def grain(seed: int, size: int) -> np.ndarray:
    """Pixel-scale grey texture: white noise smoothed by the ``[1, 2, 1] / 4`` kernel per
    axis (standard deviation ``6 / 16`` of the white noise's), scaled to ``GRAIN``. Its scale is
    in pixels, not canvas units."""
    rng = np.random.default_rng([seed, 2, size])
    noise = rng.standard_normal((size + 2, size + 2))
    noise = (noise[:-2] + 2 * noise[1:-1] + noise[2:]) / 4
    noise = (noise[:, :-2] + 2 * noise[:, 1:-1] + noise[:, 2:]) / 4
    return (noise / (6 / 16) * GRAIN).astype(np.float32)


def render(scene: Scene, size: int) -> np.ndarray:
    """The scene as a ``[3, size, size]`` float32 image in ``[-1, 1]``: grey background plus grain,
    and over it (alpha ``object_mask``) the object's colour with half the grain."""
    texture = grain(scene.seed, size)
    grey = background(scene.seed, size) + texture
    mask = object_mask(scene, size)
    colour = np.asarray(scene.rgb, dtype=np.float32)[:, None, None] * 2.0 - 1.0
    image = grey[None] * (1.0 - mask) + (colour + 0.5 * texture[None]) * mask
    return np.clip(image, -1.0, 1.0)


def batch(seeds: range | list[int], size: int) -> torch.Tensor:
    """Images of ``seeds`` at ``size`` pixels, ``[len(seeds), 3, size, size]`` float32."""
    return torch.from_numpy(np.stack([render(draw_scene(int(s)), size) for s in seeds]))


#: Width of ``condition``'s vector.
CONDITION_DIM = len(SHAPES) + 2


def condition(scene: Scene) -> np.ndarray:
    """The scene's prompt as a vector: one-hot shape, then ``(cos 2 pi hue, sin 2 pi hue)``."""
    angle = 2 * math.pi * scene.hue
    shape = np.eye(len(SHAPES), dtype=np.float32)[SHAPES.index(scene.shape)]
    return np.concatenate([shape, np.array([math.cos(angle), math.sin(angle)], dtype=np.float32)])


def conditions(seeds: range | list[int]) -> torch.Tensor:
    """Prompts of ``seeds``, ``[len(seeds), CONDITION_DIM]`` float32."""
    return torch.from_numpy(np.stack([condition(draw_scene(int(s))) for s in seeds]))
