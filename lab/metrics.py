"""Weight-free image metrics with bootstrap confidence intervals.

All functions take images ``[N, 3, H, W]`` (numpy or torch, values in ``[-1, 1]``).

* ``count_objects``: connected components (4-neighbour) of the saturated pixels,
  ``max(rgb) - min(rgb) > SATURATION`` in ``[0, 1]`` units, of at least ``MIN_AREA`` pixels.
  ``lab.data`` paints only the main object in colour, so a real image counts exactly 1.
* ``PatchSWD``: sliced Wasserstein-1 distance between 7x7 patch sets of a Laplacian pyramid
  (2x2 average pooling down to 16 px), ``SW = E_u W1(<X, u>, <Y, u>)`` over random unit
  directions ``u``, patches standardised by the real set, averaged over pyramid levels.
* ``radial_spectrum`` / ``spectrum_error``: mean radial power ``P(f)`` of the Hann-windowed,
  mean-removed images; ``log10 P_gen(f) / P_real(f)`` averaged over ``f < SPLIT`` (mean
  absolute value) and ``f >= SPLIT`` (signed: negative means missing detail, i.e. blur),
  ``f`` in cycles per pixel.
* ``periodicity``: the normalised autocorrelation ``A(d)`` (zero-padded, unbiased per lag) of
  the mean-removed image; the score is the largest ``A(d) - mean_{|d'| = |d|} A(d')`` over lags
  ``H/8 <= |d| <= H/2``: an off-origin peak above its ring, which a repeated pattern makes.
* ``bootstrap``: percentile (or basic) interval of a statistic over resampled images.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

#: Saturation threshold of the object detector (real objects have 0.68-1, the background 0).
SATURATION = 0.3
#: Smallest object, in pixels: 1% of the 32 px training canvas (the smallest real object at
#: that size covers about 23 px, a duplicate drawn at training scale no less).
MIN_AREA = 10
#: Border between the low- and high-frequency bands, in cycles per pixel (an 8 px period).
SPLIT = 0.125


def _np(images: np.ndarray | torch.Tensor) -> np.ndarray:
    """Float64 numpy view of a batch."""
    if isinstance(images, torch.Tensor):
        images = images.detach().cpu().numpy()
    return np.asarray(images, dtype=np.float64)


def components(mask: np.ndarray) -> list[int]:
    """Areas of the 4-connected components of a boolean ``[H, W]`` mask (flood fill)."""
    seen = np.zeros_like(mask, dtype=bool)
    height, width = mask.shape
    areas = []
    for y0, x0 in zip(*np.nonzero(mask)):
        if seen[y0, x0]:
            continue
        seen[y0, x0] = True
        stack, area = [(y0, x0)], 0
        while stack:
            y, x = stack.pop()
            area += 1
            for ny, nx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
                if 0 <= ny < height and 0 <= nx < width and mask[ny, nx] and not seen[ny, nx]:
                    seen[ny, nx] = True
                    stack.append((ny, nx))
        areas.append(area)
    return areas


def count_objects(images: np.ndarray | torch.Tensor, min_area: int = MIN_AREA) -> np.ndarray:
    """Number of main objects in each image: saturated components of ``>= min_area`` pixels."""
    rgb = (_np(images) + 1.0) / 2.0
    saturated = rgb.max(axis=1) - rgb.min(axis=1) > SATURATION
    return np.array([sum(a >= min_area for a in components(m)) for m in saturated])


def _pyramid(images: np.ndarray, smallest: int = 16) -> list[np.ndarray]:
    """Laplacian-pyramid levels, finest first: ``G_k - up(G_{k+1})`` with ``G_{k+1}`` the 2x2
    average pooling of ``G_k`` and ``up`` its 2x2 repetition, down to ``smallest`` px, where
    the last level is ``G`` itself (band-pass details at every scale, then the coarse image)."""
    gauss = [images]
    while gauss[-1].shape[-1] // 2 >= smallest:
        x = gauss[-1]
        n, c, h, w = x.shape
        gauss.append(x.reshape(n, c, h // 2, 2, w // 2, 2).mean(axis=(3, 5)))
    bands = [g - f.repeat(2, axis=2).repeat(2, axis=3) for g, f in zip(gauss[:-1], gauss[1:])]
    return [*bands, gauss[-1]]


def _patches(level: np.ndarray, per_image: int, rng: np.random.Generator, size: int = 7) -> np.ndarray:
    """``per_image`` random ``size x size`` patches of every image: ``[N, per_image, 3 size^2]``."""
    n, c, h, w = level.shape
    ys = rng.integers(0, h - size + 1, size=(n, per_image))
    xs = rng.integers(0, w - size + 1, size=(n, per_image))
    offsets = np.arange(size)
    rows = (ys[..., None] + offsets)[..., :, None]  # [n, p, size, 1]
    cols = (xs[..., None] + offsets)[..., None, :]  # [n, p, 1, size]
    idx = np.arange(n)[:, None, None, None]
    patches = level.transpose(0, 2, 3, 1)[idx, rows, cols]  # [n, p, size, size, c]
    return patches.reshape(n, per_image, -1)


def quantiles(values: np.ndarray, count: int) -> np.ndarray:
    """Each column's empirical quantile function at ``(j + 0.5) / count``, ``j < count``: the
    sorted values linearly interpolated at position ``q M - 0.5`` (``M`` rows)."""
    ordered = np.sort(values, axis=0)
    rows = ordered.shape[0]
    pos = np.clip((np.arange(count) + 0.5) / count * rows - 0.5, 0, rows - 1)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, rows - 1)
    frac = (pos - lo)[:, None]
    return ordered[lo] * (1 - frac) + ordered[hi] * frac


class PatchSWD:
    """Sliced Wasserstein distance of a generated set to a fixed real set, bootstrappable.

    Both sets are projected once; ``__call__(idx)`` compares the generated images ``idx`` (a
    resample) with the real set's quantiles.
    """

    def __init__(
        self, generated: np.ndarray | torch.Tensor, real: np.ndarray | torch.Tensor,
        per_image: int = 64, directions: int = 128, seed: int = 0,
    ) -> None:
        gen_levels, real_levels = _pyramid(_np(generated)), _pyramid(_np(real))
        rng = np.random.default_rng(seed)
        self.gen: list[np.ndarray] = []
        self.real: list[np.ndarray] = []
        for g, r in zip(gen_levels, real_levels):
            rp = _patches(r, per_image, rng).reshape(-1, 3 * 49)
            gp = _patches(g, per_image, rng)
            mean, std = rp.mean(axis=0), rp.std(axis=0) + 1e-8
            u = rng.standard_normal((rp.shape[1], directions))
            u /= np.linalg.norm(u, axis=0, keepdims=True)
            self.real.append(((rp - mean) / std) @ u)  # [M p, directions]
            flat = ((gp.reshape(-1, rp.shape[1]) - mean) / std) @ u  # one 2-D product: fast BLAS
            self.gen.append(flat.reshape(*gp.shape[:2], directions))  # [N, p, directions]
        # the real set's quantiles at the generated set's sample count (the same for every resample)
        count = self.gen[0].shape[0] * per_image
        self.real_quantiles = [quantiles(r, count) for r in self.real]

    def __call__(self, idx: np.ndarray | None = None) -> float:
        """SWD of the generated images ``idx`` (all when None; a resample of the same size
        otherwise), averaged over pyramid levels: ``mean |sort(<g, u>) - Q_real(<., u>)|``."""
        dists = []
        for g, real_q in zip(self.gen, self.real_quantiles):
            g = (g if idx is None else g[idx]).reshape(-1, g.shape[-1])
            dists.append(float(np.mean(np.abs(np.sort(g, axis=0) - real_q))))
        return float(np.mean(dists))


def radial_spectrum(images: np.ndarray | torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Per-image radial power spectra ``[N, H//2]`` (channels summed) and their frequencies
    (bin centres, cycles per pixel). Bin ``j`` holds ``j/H <= |f| < (j+1)/H``, ``j >= 1``."""
    x = _np(images)
    x = x - x.mean(axis=(2, 3), keepdims=True)
    n, c, h, w = x.shape
    window = np.outer(np.hanning(h), np.hanning(w))
    power = (np.abs(np.fft.fft2(x * window)) ** 2).sum(axis=1) / (h * w)
    fy, fx = np.fft.fftfreq(h)[:, None], np.fft.fftfreq(w)[None, :]
    bins = np.floor(np.hypot(fy, fx) * h).astype(int).ravel()
    keep = bins < h // 2
    counts = np.bincount(bins[keep], minlength=h // 2)
    spectra = np.stack([np.bincount(bins[keep], p.ravel()[keep], minlength=h // 2) for p in power]) / counts
    return spectra[:, 1:], (np.arange(1, h // 2) + 0.5) / h


def spectrum_error(gen_spectra: np.ndarray, real_spectra: np.ndarray, freqs: np.ndarray) -> tuple[float, float]:
    """``(low, high)``: mean ``|log10 P_gen / P_real|`` over ``f < SPLIT`` and mean signed
    ``log10 P_gen / P_real`` over ``f >= SPLIT`` of the set-mean spectra."""
    ratio = np.log10(gen_spectra.mean(axis=0) / real_spectra.mean(axis=0))
    return float(np.mean(np.abs(ratio[freqs < SPLIT]))), float(np.mean(ratio[freqs >= SPLIT]))


def periodicity(images: np.ndarray | torch.Tensor) -> np.ndarray:
    """Off-origin autocorrelation peak above its ring mean, per image (see the module doc)."""
    x = _np(images)
    x = x - x.mean(axis=(2, 3), keepdims=True)
    n, c, h, w = x.shape
    spec = np.fft.rfft2(x, s=(2 * h, 2 * w))
    auto = np.fft.irfft2(np.abs(spec) ** 2, s=(2 * h, 2 * w)).sum(axis=1)  # [n, 2h, 2w]
    ones = np.fft.rfft2(np.ones((h, w)), s=(2 * h, 2 * w))
    overlap = np.fft.irfft2(np.abs(ones) ** 2, s=(2 * h, 2 * w))
    dy = np.fft.fftfreq(2 * h, 1 / (2 * h))[:, None]
    dx = np.fft.fftfreq(2 * w, 1 / (2 * w))[None, :]
    radius = np.hypot(dy, dx)
    valid = (radius >= h / 8) & (np.abs(dy) <= h / 2) & (np.abs(dx) <= w / 2)
    ring = np.round(radius[valid]).astype(int)
    counts = np.bincount(ring)
    scores = []
    for a in auto:
        corr = (a / np.maximum(np.round(overlap), 1.0)) / (a[0, 0] / (h * w))
        values = corr[valid]
        ring_mean = np.bincount(ring, values) / np.maximum(counts, 1)
        scores.append(float(np.max(values - ring_mean[ring])))
    return np.array(scores)


def bootstrap(
    statistic: Callable[[np.ndarray], float], n: int, resamples: int = 1000, seed: int = 0, level: float = 0.95,
    basic: bool = False,
) -> tuple[float, float, float]:
    """``(estimate, low, high)``: the statistic on all ``n`` items and a bootstrap interval over
    ``resamples`` resamples ``idx`` of ``range(n)`` with replacement.

    Percentile interval ``[q_a, q_b]`` of the resampled statistics by default; ``basic`` gives
    the basic (reverse-percentile) interval ``[2 est - q_b, 2 est - q_a]``, which removes the
    upward bias that duplicated items give a set distance such as the SWD.
    """
    rng = np.random.default_rng(seed)
    values = np.array([statistic(rng.integers(0, n, size=n)) for _ in range(resamples)])
    tail = (1.0 - level) / 2.0
    estimate = statistic(np.arange(n))
    low, high = float(np.quantile(values, tail)), float(np.quantile(values, 1.0 - tail))
    if basic:
        low, high = 2 * estimate - high, 2 * estimate - low
    return estimate, low, high
