"""FLUX's time shift: the shifted sigma schedule and the choices of ``mu``."""

from __future__ import annotations

import math

#: ComfyUI's linear-in-tokens ``mu``: 0.5 at 256 image tokens, 1.15 at 4096, extrapolated.
LINEAR_MU_POINTS = ((256.0, 0.5), (4096.0, 1.15))


def flux_time_shift(mu: float, t: float) -> float:
    """``sigma' = e^mu / (e^mu + (1/t - 1))`` for ``t`` in ``[0, 1]`` (0 stays 0, 1 stays 1).

    Formed as the logistic of ``mu + logit(t)``, ``(1 + tanh(x / 2)) / 2``, which stays finite
    for any finite ``mu`` (``e^mu`` overflows a float above mu 709).
    """
    if t <= 0.0:
        return 0.0
    if t >= 1.0:
        return 1.0
    return 0.5 * (1.0 + math.tanh(0.5 * (mu + math.log(t) - math.log1p(-t))))


def linear_mu(image_tokens: float, base_tokens: float = 4096.0, base_mu: float = 1.15) -> float:
    """``mu`` linear in the image token count, as ComfyUI's ``ModelSamplingFlux`` node sets it.

    3.23 at 2048^2 px and 11.55 at 4096^2 px on FLUX.1 (DYPE-MATH.md, "Time shift"). Another
    model keeps the slope, anchored at its own ``base_mu`` at its ``base_tokens``.
    """
    (x0, y0), (x1, y1) = LINEAR_MU_POINTS
    return base_mu + (y1 - y0) * (image_tokens - base_tokens) / (x1 - x0)


def simple_schedule(steps: int, mu: float, timesteps: int = 10000) -> list[float]:
    """The sigmas of ComfyUI's ``simple`` scheduler on a shifted flow model, ending with 0.

    The model's sampling tabulates ``shift(mu, k / timesteps)`` for ``k = 1 .. timesteps`` (10000 for
    ``ModelSamplingFlux``, 1000 for a discrete flow); the scheduler takes every ``timesteps / steps``-th
    entry from the top, rounding the stride's multiples down.
    """
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    stride = timesteps / steps
    return [flux_time_shift(mu, (timesteps - int(i * stride)) / timesteps) for i in range(steps)] + [0.0]


def edm_simple_schedule(steps: int, sigma_min: float, sigma_max: float) -> list[float]:
    """The sigmas of ComfyUI's ``simple`` scheduler on a continuous EDM sampling (sigmas log-spaced from
    ``sigma_min`` to ``sigma_max`` in a table of 1000), ending with 0: every ``1000 / steps``-th entry
    from the top."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    low, high = math.log(sigma_min), math.log(sigma_max)
    table = [math.exp(low + (high - low) * i / 999) for i in range(1000)]
    stride = 1000 / steps
    return [table[-(1 + int(i * stride))] for i in range(steps)] + [0.0]
