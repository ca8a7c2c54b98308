"""The time-shift policy: which ``mu`` FLUX's shifted schedule uses at high resolution.

``model`` keeps the model's own sampling (a ``ModelSamplingFlux`` node upstream included);
``base`` pins the family's base ``mu`` (1.15 on FLUX.1, as the DyPE paper's experiments);
``custom`` pins a given ``mu``; ``linear`` uses ComfyUI's linear-in-tokens ``mu`` for the
latent being sampled. Fixed values are an object patch of ``model_sampling``; ``linear``
depends on the latent, so the run's sigmas are re-shifted when sampling starts.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from ..dype_core import linear_mu

POLICIES = ("model", "base", "linear", "custom")


def flux_sampling(sampling: Any) -> bool:
    """Whether ``sampling`` is a FLUX-shifted flow (``sigma = e^mu / (e^mu + 1/t - 1)``)."""
    return any(cls.__name__ == "ModelSamplingFlux" for cls in type(sampling).__mro__)


def require_flux_sampling(sampling: Any, policy: str) -> None:
    if not flux_sampling(sampling):
        raise ValueError(
            f"time_shift '{policy}' sets FLUX's mu, but this model samples with {type(sampling).__name__}, "
            "which has no mu. Use time_shift 'model'."
        )


def pinned_sampling(sampling: Any, model_config: Any, mu: float) -> Any:
    """A new model-sampling object of ``sampling``'s own class with ``mu`` pinned."""
    pinned = type(sampling)(model_config)
    pinned.set_parameters(shift=mu)
    return pinned


def reshift(sigmas: torch.Tensor, from_mu: float, to_mu: float) -> torch.Tensor:
    """Sigmas of a FLUX schedule made with ``from_mu``, as if it had been made with ``to_mu``.

    Shifts compose: ``shift(b, t) = shift(b - a, shift(a, t))``, so 0 and 1 stay fixed and a
    schedule's times are kept. Exact for schedulers uniform in time (simple, normal,
    sgm_uniform, beta); karras and exponential, spaced in sigma, keep their spacing.
    """
    ratio = math.exp(to_mu - from_mu)
    inner = sigmas.clamp(min=0.0, max=1.0)
    shifted = ratio * inner / (ratio * inner + (1.0 - inner))
    return torch.where(inner > 0, shifted, inner)


def run_mu(policy: str, sampling: Any, image_tokens: int) -> float | None:
    """The ``mu`` a run samples with under ``policy`` (``sampling`` is the model's, patched);
    ``None`` when the model's own sampling has no ``mu``."""
    if policy == "linear":
        return linear_mu(image_tokens)
    return float(sampling.shift) if flux_sampling(sampling) else None


def describe(mu: float | None, policy: str) -> str:
    """The run's time shift in words, for the log line and the plan table."""
    return "the model's own sampling (no mu)" if mu is None else f"mu {mu:.4g} ({policy})"
