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


def simple_schedule(steps: int, mu: float) -> list[float]:
    """The sigmas of ComfyUI's ``simple`` scheduler on a FLUX-shifted flow model, ending with 0."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    return [flux_time_shift(mu, 1.0 - i / steps) for i in range(steps)] + [0.0]
