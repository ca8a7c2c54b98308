"""The time-shift policy: which shift the model's flow schedule uses at high resolution.

Shifted flow models sample ``sigma = s t / (1 + (s - 1) t)``: FLUX's ``ModelSamplingFlux``
writes the shift as ``mu = log s``, the discrete-flow models (Lumina, Z-Image, HiDream, Wan,
Hunyuan...) as ``s`` itself. Policies speak ``mu`` for both. ``model`` keeps the model's own
sampling (a sampling node upstream included); ``base`` restores the loaded checkpoint's own
sampling, as its ComfyUI model config makes it (FLUX.1 dev mu 1.15, as the DyPE paper's
experiments; FLUX.1 schnell shift 1; Wan Animate 2 shift 5), whatever a sampling node upstream
set; ``custom`` pins a given ``mu``; ``linear`` raises ``mu`` linearly in image tokens (ComfyUI's
FLUX rule, anchored at that default at the family's native size). Fixed values are an object
patch of ``model_sampling``; ``linear`` depends on the latent, so the run's sigmas are re-shifted
when sampling starts.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from ..dype_core import linear_mu


def _kind(sampling: Any) -> str | None:
    names = {cls.__name__ for cls in type(sampling).__mro__}
    if "ModelSamplingFlux" in names:
        return "flux"
    if "ModelSamplingDiscreteFlow" in names:
        return "discrete_flow"
    return None


def sampling_mu(sampling: Any) -> float | None:
    """The shift of ``sampling`` as ``mu``; ``None`` for a schedule without a shift, ``-inf`` for a shift of 0."""
    kind = _kind(sampling)
    if kind == "flux":
        return float(sampling.shift)
    if kind == "discrete_flow":
        shift = float(sampling.shift)
        return math.log(shift) if shift > 0 else -math.inf  # shift 0 (a node allows it): every sigma is 0
    return None


def own_sampling(model: Any) -> Any:
    """The sampling a loaded model (a ``ModelPatcher``) has by default: a fresh object of its base model's
    own sampling class, made from its model config, as ComfyUI makes it on loading. Object patches (a
    sampling node upstream, an earlier DyPE) do not change it."""
    base = model.model
    return type(base.model_sampling)(base.model_config)


def require_shift_sampling(sampling: Any, policy: str) -> None:
    if _kind(sampling) is None:
        raise ValueError(
            f"time_shift '{policy}' sets the flow schedule's shift, but this model samples with "
            f"{type(sampling).__name__}, which has none. Use time_shift 'model'."
        )


def pinned_sampling(sampling: Any, model_config: Any, mu: float) -> Any:
    """A new model-sampling object of ``sampling``'s own class with its shift pinned to ``mu``."""
    pinned = type(sampling)(model_config)
    if _kind(sampling) == "flux":
        pinned.set_parameters(shift=mu)
    else:
        pinned.set_parameters(shift=math.exp(mu), multiplier=sampling.multiplier)
    return pinned


def require_finite_shift(mu: float | None, policy: str) -> None:
    """``ValueError`` when ``policy`` would re-shift a schedule whose own shift is 0 (``mu = -inf``)."""
    if mu is not None and not math.isfinite(mu):
        raise ValueError(
            f"time_shift '{policy}' re-shifts the model's schedule, but its sampling has shift 0 (a ModelSamplingSD3 "
            "or AuraFlow node set to 0?), which makes every sigma 0. Set that node's shift above 0, or use "
            "time_shift 'model'."
        )


def reshift(sigmas: torch.Tensor, from_mu: float, to_mu: float) -> torch.Tensor:
    """Sigmas of a schedule shifted with ``from_mu``, as if it had been shifted with ``to_mu``.

    Shifts compose: ``shift(b, t) = shift(b - a, shift(a, t))``, so 0 and 1 stay fixed and a
    schedule's times are kept. Exact for schedulers uniform in time (simple, normal,
    sgm_uniform, beta); karras and exponential, spaced in sigma, keep their spacing.

    In float64, as the logistic of ``logit(sigma) + to_mu - from_mu``, so that no size the node
    accepts overflows (``e^mu`` does above mu 709, and float32 ratios far sooner); the result
    comes back in the schedule's dtype.
    """
    inner = sigmas.detach().to(torch.float64).clamp(min=0.0, max=1.0)
    logit = torch.log(inner) - torch.log1p(-inner)  # -inf at 0, +inf at 1
    shifted = 0.5 * (1.0 + torch.tanh(0.5 * (logit + (to_mu - from_mu))))
    return shifted.to(sigmas.dtype)


def run_mu(
    policy: str, sampling: Any, image_tokens: int, native_tokens: float, default_mu: float | None
) -> float | None:
    """The ``mu`` a run samples with under ``policy`` (``sampling`` is the model's, patched);
    ``None`` when the model's own sampling has no shift. ``linear`` is anchored at the model's
    own ``default_mu`` at its family's ``native_tokens`` (not at a user's base resolution)."""
    if policy == "linear":
        return linear_mu(image_tokens, native_tokens, default_mu)
    return sampling_mu(sampling)

