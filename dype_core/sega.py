"""SEGA, Spectral-Energy Guided Attention (Rajabi et al. 2026, arXiv 2605.22668), in pure torch.

SEGA keeps NTK-aware frequencies and multiplies the rotation of every spatial pair ``d`` by its own
magnitude, ``f_SEGA(x, n, d) = m_d f_RoPE(x, n, d)`` (the project page's core formula). ``m_d`` is set
at every model call from the spectral energy of the current noisy latent along the pair's axis: a pair
whose band holds little energy is scaled more, one whose band holds much is scaled less, around the
reference magnitude ``m_ref = s^kappa``, and the spectrum's flatness sets how far they spread.

The paper's method section was not available to us (only its abstract, the project page and the
authors' constants as two public ports carry them), so the steps below are numbered as this module
implements them, not by the paper's equations; ``docs/SEGA.md`` lists the sources and every place
where the ports differ from each other or from us.

1. ``energy_map``: the latent's channel mean on the token grid, mean-centred, per image.
2. ``axis_energy``: the power of its 1-D DFT along one axis, averaged over the other axis and the
   images, in ``L // 2`` bands from DC to Nyquist (Nyquist shares the top band).
3. ``spread``: ``sigma = 1 - SF ** 1.5`` from the spectral flatness ``SF`` (geometric over
   arithmetic mean) of the radial 2-D power: 0 for white noise, towards 1 for a structured latent.
4. ``pair_gains``: pair ``i`` of ``P`` (0 the fastest) reads the band at ``(1 - i / (P - 1))`` of
   the way from DC to Nyquist, log-energy interpolated; ``z`` standardises the log energies,
   ``u_i = tanh(beta z_i) - mean(tanh(beta z))`` and ``m_i = max(m_min, m_ref (1 - alpha sigma u_i))``.

Nothing here reads a tensor back to the host: the gains stay on the latent's device.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

#: The authors' constants (both public ports): band contrast ``alpha``, tanh gain ``beta``, the exponent
#: ``kappa`` of ``m_ref = s^kappa``, the floor ``m_min`` and the flatness exponent of the spread.
ALPHA, BETA, KAPPA, M_MIN, SPREAD_POWER = 0.15, 1.5, 0.08, 1.0, 1.5
EPS = 1e-8
#: The shortest axis, in tokens, whose spectrum has a band between DC and Nyquist.
MIN_TOKENS = 4


@dataclass(frozen=True, eq=False)
class Spectrum:
    """The spectral energy of one model call's latent: ``rows`` and ``cols`` hold the mean power per
    band along each axis (DC first, float32, on the latent's device), ``spread`` the 0-d ``sigma``.
    Compared by identity: a table built for one call's spectrum is not another call's."""

    rows: torch.Tensor
    cols: torch.Tensor
    spread: torch.Tensor


def reference_magnitude(scale: float, kappa: float = KAPPA) -> float:
    """``m_ref = s^kappa``: SEGA's magnitude for a flat spectrum, at ``s = N / L`` of the axis (the ports'
    ``(R / R_train)^kappa`` in pixels, the same ratio); exactly 1 at ``s = 1``."""
    return scale**kappa


def energy_map(latent: torch.Tensor, patch: int) -> torch.Tensor:
    """Step 1: ``[images, rows, cols]`` float32 maps of a latent ``[B, C, H, W]`` or ``[B, C, T, H, W]``
    (each frame an image): the mean over channels and over each ``patch x patch`` token, mean-centred.
    ``H`` and ``W`` are cropped to whole tokens (a model that pads its latent adds no content)."""
    if latent.ndim == 5:
        latent = latent.transpose(1, 2).flatten(0, 1)
    if latent.ndim != 4:
        raise ValueError(f"SEGA reads a latent [B, C, H, W] or [B, C, T, H, W], got {list(latent.shape)}")
    mean = latent.detach().float().mean(dim=1, keepdim=True)
    rows, cols = mean.shape[-2] // patch, mean.shape[-1] // patch
    tokens = torch.nn.functional.avg_pool2d(mean[..., : rows * patch, : cols * patch], patch)[:, 0]
    return tokens - tokens.mean(dim=(-2, -1), keepdim=True)


def axis_energy(maps: torch.Tensor, axis: int) -> torch.Tensor:
    """Step 2: mean power per band along ``axis`` (-2 rows, -1 columns) of ``maps [images, rows, cols]``:
    ``L // 2`` bands for ``L`` tokens, band ``k`` holding DFT frequency ``k`` and the top one Nyquist too."""
    length = maps.shape[axis]
    if length < MIN_TOKENS:
        raise ValueError(f"SEGA needs at least {MIN_TOKENS} tokens along each axis, got {length}")
    power = torch.fft.rfft(maps, dim=axis).abs().square()
    per_frequency = power.mean(dim=(0, -1 if axis == -2 else -2))
    bands = length // 2
    return torch.cat([per_frequency[: bands - 1], per_frequency[bands - 1:].mean(dim=0, keepdim=True)])


def spread(maps: torch.Tensor, power: float = SPREAD_POWER) -> torch.Tensor:
    """Step 3: ``sigma = 1 - SF^power`` (0-d) from the spectral flatness of the radial profile of the 2-D
    power of ``maps [images, rows, cols]``: mean power in ``max(rows, cols) // 2`` rings of equal width in
    normalised frequency, DC left out (it is zero after centring); ``SF = exp(mean log E) / mean E`` over
    the rings that hold a frequency."""
    rows, cols = maps.shape[-2:]
    power2d = torch.fft.fft2(maps).abs().square().mean(dim=0).flatten()
    fy = torch.fft.fftfreq(rows, device=maps.device)[:, None]
    fx = torch.fft.fftfreq(cols, device=maps.device)[None, :]
    radius = (fy.square() + fx.square()).sqrt().flatten()
    rings = max(rows, cols) // 2
    ring = (radius / radius.max() * rings).long().clamp_(max=rings - 1)
    weight = torch.ones_like(radius)
    weight[0] = 0.0  # DC
    counts = torch.zeros(rings, device=maps.device).scatter_add_(0, ring, weight)
    energy = torch.zeros(rings, device=maps.device).scatter_add_(0, ring, power2d * weight)
    held = (counts > 0).float()
    energy = (energy / counts.clamp(min=1.0)).clamp(min=EPS)
    geometric = torch.exp((energy.log() * held).sum() / held.sum())
    arithmetic = (energy * held).sum() / held.sum()
    flatness = (geometric / (arithmetic + EPS)).clamp(0.0, 1.0)
    return 1.0 - flatness**power


def spectrum(latent: torch.Tensor, patch: int) -> Spectrum:
    """Steps 1-3 for one model call's latent (see ``energy_map`` for the shapes it takes)."""
    maps = energy_map(latent, patch)
    return Spectrum(rows=axis_energy(maps, -2), cols=axis_energy(maps, -1), spread=spread(maps))


def pair_gains(
    energy: torch.Tensor, pairs: int, m_ref: float, sigma: torch.Tensor,
    alpha: float = ALPHA, beta: float = BETA, m_min: float = M_MIN,
) -> torch.Tensor:
    """Step 4: the magnitudes ``m_i`` (float64, on ``energy``'s device) of an axis's ``pairs`` rotary pairs,
    pair 0 the fastest, from the axis's band energies ``energy`` (DC first) and the spread ``sigma``.

    Pair ``i`` reads band position ``b_i = (1 - i / (P - 1)) (B - 1)``: the fastest pair the Nyquist band,
    the slowest DC. Its log energy, linearly interpolated, is standardised over the pairs (``z_i``);
    ``u_i = tanh(beta z_i)`` minus its mean sums to zero, and ``m_i = m_ref (1 - alpha sigma u_i)``, no
    lower than ``m_min``: below-average energy gives ``m_i > m_ref``. With ``sigma = 0`` every ``m_i`` is
    ``max(m_min, m_ref)``.
    """
    if pairs < 2:
        raise ValueError(f"SEGA needs at least 2 rotary pairs on a spatial axis, got {pairs}")
    log_energy = energy.to(torch.float64).clamp(min=EPS).log()
    bands = log_energy.numel()
    position = (1.0 - torch.arange(pairs, dtype=torch.float64, device=energy.device) / (pairs - 1)) * (bands - 1)
    low = position.floor().long().clamp(max=bands - 1)
    high = (low + 1).clamp(max=bands - 1)
    fraction = position - low
    raw = log_energy[low] * (1.0 - fraction) + log_energy[high] * fraction
    z = (raw - raw.mean()) / raw.std().clamp(min=EPS)
    u = torch.tanh(beta * z)
    u = u - u.mean()
    return (m_ref * (1.0 - alpha * sigma.to(torch.float64) * u)).clamp(min=m_min)


def gain_range(m_ref: float, alpha: float = ALPHA, m_min: float = M_MIN) -> tuple[float, float]:
    """The narrowest interval holding every ``m_i`` whatever the latent: ``|u_i| < 2`` and ``0 <= sigma <= 1``
    give ``m_ref (1 - 2 alpha) .. m_ref (1 + 2 alpha)``, floored at ``m_min``."""
    return max(m_min, m_ref * (1.0 - 2.0 * alpha)), max(m_min, m_ref * (1.0 + 2.0 * alpha))


__all__ = [
    "ALPHA", "BETA", "KAPPA", "M_MIN", "SPREAD_POWER", "Spectrum", "axis_energy", "energy_map", "gain_range",
    "pair_gains", "reference_magnitude", "spectrum", "spread",
]
