"""The DyPE time schedule: from a sampler sigma to diffusion time ``t`` and ``k(t)``."""

from __future__ import annotations

import math


def sigma_to_t(sigma: float, sigma_max: float = 1.0) -> float:
    """Diffusion time ``t = clamp(sigma / sigma_max, 0, 1)``; 1 is pure noise.

    Flow models (FLUX and its relatives) have ``sigma_max = 1``. The sigma is the one the
    sampler hands the model, so any time shift is already applied. Every sigma a scheduler
    can produce maps into ``[0, 1]``: 0 (the last step), tiny values (karras and exponential
    schedules reach about 3e-4), and values above ``sigma_max`` (clamped to 1).
    """
    if not math.isfinite(sigma) or sigma_max <= 0:
        raise ValueError(
            f"cannot convert sigma={sigma!r} with sigma_max={sigma_max!r} to diffusion time: "
            "sigma must be a finite number and sigma_max positive"
        )
    return min(max(sigma / sigma_max, 0.0), 1.0)


def edm_flow_time(sigma: float) -> float:
    """Flow time ``t = sigma / (1 + sigma)`` of a rectified flow written in EDM sigmas (Cosmos
    Predict2: ``x = (x0 + sigma * noise) / (1 + sigma)``, sigma up to 80); 1 is pure noise."""
    if not math.isfinite(sigma) or sigma < 0:
        raise ValueError(f"cannot convert sigma={sigma!r} to flow time: sigma must be a finite number >= 0")
    return sigma / (1.0 + sigma)


def kappa(t: float, lambda_s: float = 2.0, lambda_t: float = 2.0) -> float:
    """The DyPE scheduler ``k(t) = lambda_s * t ** lambda_t`` (paper Eq. 13).

    ``k(1) = lambda_s`` (the first, noisiest step extrapolates most) and ``k(0) = 0``
    (the last step uses plain RoPE). ``t = 0`` with ``lambda_t = 0`` counts as ``0 ** 0 = 1``.
    """
    return lambda_s * t**lambda_t
