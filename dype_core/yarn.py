"""YaRN's frequency blend ("NTK-by-parts") in its three DyPE variants, and its attention scale.

Notation as in DYPE-MATH.md: pair ``i`` of a ``D``-dim axis has plain frequency
``w_i = b ** (-2i / D)`` and completes ``r_i = L * w_i / (2 pi)`` rotations over the base
length ``L``. High-frequency pairs (many rotations) keep ``w_i``; low-frequency pairs are
interpolated to ``w_i / s``; the ramps in between decide how.
"""

from __future__ import annotations

import math

import torch

from .schedule import kappa

#: The authors' thresholds in rotations: band 1 ``(b0, b1)`` blends PI into NTK-aware
#: frequencies, band 2 ``(g0, g1)`` blends that result into the unscaled ones.
BAND1 = (1.25, 0.75)
BAND2 = (16.0, 2.0)
#: The paper's single ramp, linear in rotations (Eq. 7-8): ``alpha``, ``beta``.
PAPER_ALPHA, PAPER_BETA = 1.0, 32.0

RAMPS = ("official", "paper", "legacy")


def attention_scale(scale: float) -> float:
    """YaRN's attention factor ``m(s) = 0.1 ln s + 1`` for ``s > 1``, else 1."""
    return 0.1 * math.log(scale) + 1.0 if scale > 1.0 else 1.0


def correction_index(log_rotations: float, dim: int, theta: float, base_len: float) -> float:
    """``c(r) = D ln(L / (2 pi r)) / (2 ln b)``: the pair completing ``r`` rotations over ``L``, from
    ``ln r`` (thresholds ``r ** k`` would overflow a float; their logarithm does not).

    ``ln r = -inf`` (``r = 0``) gives ``+inf``: no pair completes zero rotations.
    """
    return dim * (math.log(base_len) - math.log(2.0 * math.pi) - log_rotations) / (2.0 * math.log(theta))


def ramp_bounds(
    log_fast: float, log_slow: float, dim: int, theta: float, base_len: float
) -> tuple[float, float]:
    """Pair-index bounds ``(lo, hi)`` of the ramp between ``fast`` and ``slow`` rotations, given
    as their logarithms.

    ``lo = floor(c(fast))`` and ``hi = ceil(c(slow))``, both clamped to ``[0, D/2]``
    (the authors' code leaves ``lo`` unclamped above, which inverts the ramp for small
    ``t``; DYPE-MATH.md, "official"). Equal bounds are separated by 0.001.
    """
    half = dim // 2

    def index(log_rotations: float) -> float:
        return min(max(correction_index(log_rotations, dim, theta, base_len), 0.0), half)

    lo, hi = math.floor(index(log_fast)), math.ceil(index(log_slow))
    return float(lo), hi + 0.001 if lo == hi else float(hi)


def _keep(pairs: torch.Tensor, bounds: tuple[float, float]) -> torch.Tensor:
    """``keep_i = 1 - clamp((i - lo) / (hi - lo), 0, 1)``: 1 for fast pairs, 0 for slow ones."""
    lo, hi = bounds
    return 1.0 - ((pairs - lo) / (hi - lo)).clamp(0.0, 1.0)


def _by_parts(
    omega: torch.Tensor, scale: float, theta: float, base_len: float, factor: float, raise_: bool
) -> torch.Tensor:
    """The authors' two-band blend; thresholds are multiplied by ``factor`` (or raised to it)."""
    dim = 2 * omega.numel()
    pairs = torch.arange(omega.numel(), dtype=omega.dtype, device=omega.device)
    ntk = omega * scale ** (-pairs * 2.0 / max(dim - 2, 1))

    def bounds(band: tuple[float, float]) -> tuple[float, float]:
        # ln(r ** k) = k ln r and ln(r k) = ln r + ln k: thresholds as logarithms never overflow.
        log_factor = math.log(factor) if factor > 0.0 else -math.inf
        fast, slow = ((factor * math.log(r) if raise_ else math.log(r) + log_factor) for r in band)
        return ramp_bounds(fast, slow, dim, theta, base_len)

    keep1 = _keep(pairs, bounds(BAND1))
    blended = (omega / scale) * (1.0 - keep1) + ntk * keep1
    keep2 = _keep(pairs, bounds(BAND2))
    return blended * (1.0 - keep2) + omega * keep2


def official(
    omega: torch.Tensor, *, scale: float, theta: float, base_len: float, k_y: float
) -> torch.Tensor:
    """Dy-YaRN as the authors' current code computes it: thresholds times ``k_y`` (Eq. 16-17)."""
    return _by_parts(omega, scale, theta, base_len, k_y, raise_=False)


def legacy(
    omega: torch.Tensor, *, scale: float, theta: float, base_len: float, k: float
) -> torch.Tensor:
    """The authors' code before Feb 2026: thresholds raised to ``k = lambda_s t^lambda_t``.

    Its end state (``k = 0``) is a hard split at one rotation, not plain RoPE.
    """
    return _by_parts(omega, scale, theta, base_len, k, raise_=True)


def paper(
    omega: torch.Tensor, *, scale: float, theta: float, base_len: float, k_y: float
) -> torch.Tensor:
    """The paper's ramp (Eq. 7-8 with Eq. 16): ``g_i`` linear in rotations ``r_i``.

    ``g_i = clamp((r_i - alpha k_y) / ((beta - alpha) k_y), 0, 1)`` and
    ``w'_i = (1 - g_i) w_i / s + g_i w_i``. At ``k_y = 0`` every pair is unscaled.
    """
    if k_y <= 0.0:
        return omega.clone()
    rotations = base_len * omega / (2.0 * math.pi)
    gamma = ((rotations - PAPER_ALPHA * k_y) / ((PAPER_BETA - PAPER_ALPHA) * k_y)).clamp(0.0, 1.0)
    return (1.0 - gamma) * (omega / scale) + gamma * omega


def blend(
    omega: torch.Tensor,
    *,
    scale: float,
    theta: float,
    base_len: float,
    t: float | None,
    lambda_s: float,
    lambda_t: float,
    ramp: str,
) -> torch.Tensor:
    """YaRN (``t is None``) or Dy-YaRN with the named ramp variant."""
    static = t is None
    if ramp == "legacy":
        k = 1.0 if static else kappa(t, lambda_s, lambda_t)
        return legacy(omega, scale=scale, theta=theta, base_len=base_len, k=k)
    k_y = 1.0 if static else kappa(t, 1.0, lambda_t)
    variant = official if ramp == "official" else paper
    return variant(omega, scale=scale, theta=theta, base_len=base_len, k_y=k_y)
