"""The low-resolution guide on a MODEL: one post-CFG function and one ``OUTER_SAMPLE`` wrapper.

- ``LowResGuide`` is the post-CFG function (``model_options["sampler_post_cfg_function"]``): the host
  calls it with the clean-image prediction after CFG, for every sampler and every guider, and it
  returns I-Max's corrected prediction (``dype_core.guide.guided``). Its weight comes from where the
  call's sigma is in the sampler's own schedule (``transformer_options["sample_sigmas"]``).
- ``GuideSampleWrapper`` prepares the guide once per sampling run, before the first step: checked
  against the noise latent (channels, batch, image or video), resized to its size, taken into the
  model's latent space (``process_latent_in``, as the host does with a start latent), moved to the
  model's device and projected. The post-CFG function reads it from ``GUIDE_RUN`` (per-call state in
  the call stack, as for DyPE's steps), so the replacement objects hold nothing per run.

Nothing on the model handed in, nor the guide latent, is changed: the node patches a clone.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import torch

from ..dype_core import guide as core_guide
from ..dype_core.guide import Projection
from .host import comfyui_version, require_model

log = logging.getLogger("DyPE")

#: The key of the guide's wrapper; applying the guide again replaces it rather than stacking.
WRAPPER_KEY = "dype_guide"
OUTER_SAMPLE = "outer_sample"
POST_CFG = "sampler_post_cfg_function"


class GuideHostMismatch(RuntimeError):
    """The host did not run the guide the way ComfyUI 0.14-0.33 do."""

    def __init__(self, what: str) -> None:
        super().__init__(
            f"DyPE Guide stopped this run: on ComfyUI {comfyui_version()} {what}, so the guide cannot follow the "
            "sampler. Remove the DyPE Guide node, or update the pack."
        )


def latent_channels(model: Any) -> int | None:
    """The channels of ``model``'s latent space (``None``: the model does not say)."""
    return getattr(getattr(model.model, "latent_format", None), "latent_channels", None)


def check_guide(samples: Any, channels: int | None) -> torch.Tensor:
    """The guide latent ``samples``, or ``ValueError`` saying what is wrong with it: not an image or video
    latent, empty, all zeros (an empty-latent node's output, not a sample), not finite, or of another latent
    space than the model's (``channels``)."""
    if not isinstance(samples, torch.Tensor) or samples.ndim not in (4, 5):
        shape = tuple(samples.shape) if isinstance(samples, torch.Tensor) else type(samples).__name__
        raise ValueError(
            "DyPE Guide: the guide must be a LATENT holding an image [batch, channels, height, width] or a video "
            f"[batch, channels, frames, height, width]; got {shape}. Connect the native-size sample (the first "
            "KSampler's LATENT output)."
        )
    if samples.numel() == 0:
        raise ValueError(f"DyPE Guide: the guide latent {tuple(samples.shape)} is empty.")
    if not torch.isfinite(samples).all():
        raise ValueError("DyPE Guide: the guide latent holds NaN or infinite values; re-run the native-size pass "
                         "(in float32 if it overflowed) and connect its output.")
    if not samples.any():
        raise ValueError("DyPE Guide: the guide latent is all zeros, an empty latent rather than a sample. Connect "
                         "the native-size KSampler's output, not the empty-latent node.")
    if channels is not None and samples.shape[1] != channels:
        raise ValueError(
            f"DyPE Guide: the guide latent has {samples.shape[1]} channels but this model's latent space has "
            f"{channels}: it comes from another model family's VAE. Sample the guide with the same model (or one "
            "of its family) and connect that latent."
        )
    return samples


@dataclass(frozen=True, eq=False)
class LowResGuide:
    """The post-CFG function: ``x0 + w * (P(G) - P(x0))`` with ``w = strength * c(position of sigma)``.

    ``latent`` is the user's guide latent as given (never changed); ``projection`` is ``P``. The projected
    guide of the current run comes from ``GUIDE_RUN``.
    """

    latent: torch.Tensor
    strength: float
    projection: Projection
    label: str = ""

    def __call__(self, args: dict[str, Any]) -> torch.Tensor:
        run = GUIDE_RUN.get()
        if run is None or run.guide is not self:
            raise GuideHostMismatch("its post-CFG function ran outside the sampling run the guide prepared")
        sigmas = args.get("model_options", {}).get("transformer_options", {}).get("sample_sigmas")
        if sigmas is None:
            raise GuideHostMismatch("the sampler did not pass its schedule (transformer_options['sample_sigmas'])")
        denoised = args["denoised"]
        weight = core_guide.weight(args["sigma"], sigmas, self.strength).to(denoised.device)
        return core_guide.guided(denoised, run.low, weight, self.projection)


@dataclass(frozen=True)
class GuideRun:
    """One sampling run's guide: ``low``, the projection of the guide at the run's latent size, on its
    device, in the model's latent space."""

    guide: LowResGuide
    low: torch.Tensor


GUIDE_RUN: ContextVar[GuideRun | None] = ContextVar("dype_guide_run", default=None)


def prepare(guide: LowResGuide, noise: torch.Tensor, model: Any, device: torch.device) -> torch.Tensor:
    """The projection ``P(G)`` of the guide for a run whose noise latent is ``noise``: checked against its
    shape (``ValueError`` naming both), resized to it, in ``model``'s latent space, float32 on ``device``."""
    latent = guide.latent
    if latent.ndim != noise.ndim:
        kind = {4: "an image", 5: "a video"}
        raise ValueError(
            f"DyPE Guide: the guide latent {tuple(latent.shape)} is {kind[latent.ndim]} latent but this sampler "
            f"samples {kind.get(noise.ndim, 'another kind of')} latent {tuple(noise.shape)}; connect a guide "
            "sampled by the same kind of model."
        )
    if latent.shape[1] != noise.shape[1]:
        raise ValueError(
            f"DyPE Guide: the guide latent has {latent.shape[1]} channels and the latent being sampled "
            f"{noise.shape[1]}; they come from different latent spaces."
        )
    if latent.shape[0] not in (1, noise.shape[0]):
        raise ValueError(
            f"DyPE Guide: the guide holds {latent.shape[0]} images and the latent being sampled "
            f"{noise.shape[0]}; give one guide for the whole batch or one per image."
        )
    resized = core_guide.resize(latent.to(device, torch.float32), noise.shape)
    return guide.projection.low(model.process_latent_in(resized).float())


@dataclass(frozen=True)
class GuideSampleWrapper:
    """Prepares the guide for one sampling run (``prepare``) and logs what it does."""

    guide: LowResGuide

    def __call__(self, executor: Any, noise: torch.Tensor, latent_image: Any, sampler: Any,
                 sigmas: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
        patcher = executor.class_obj.model_patcher
        low = prepare(self.guide, noise, patcher.model, patcher.load_device)
        log.info("DyPE Guide: %s", describe(self.guide, noise.shape, sigmas))
        token = GUIDE_RUN.set(GuideRun(self.guide, low))
        try:
            return executor(noise, latent_image, sampler, sigmas, *args, **kwargs)
        finally:
            GUIDE_RUN.reset(token)


def describe(guide: LowResGuide, shape: torch.Size, sigmas: torch.Tensor) -> str:
    """One line: the guide's size against the sampled latent's, the projection, and the weights."""
    size = "x".join(str(v) for v in guide.latent.shape[2:])
    target = "x".join(str(v) for v in shape[2:])
    resized = f"guide {size} resized to {target}" if guide.latent.shape[2:] != shape[2:] else f"guide {size}"
    steps = max(0, sigmas.numel() - 1)
    if not steps:
        return f"{resized} latent px, {guide.label}, no steps"
    values = core_guide.weights(sigmas.detach().float().cpu(), guide.strength)
    return (f"{resized} latent px, {guide.label}, strength {guide.strength:g}: weight {values[0]:.2f} -> "
            f"{values[-1]:.2f} over {steps} step{'s' if steps > 1 else ''}")


def installed(model_options: dict[str, Any]) -> LowResGuide | None:
    """The guide on a model's options, if any."""
    return next((fn for fn in model_options.get(POST_CFG, ()) if isinstance(fn, LowResGuide)), None)


def apply_guide(model: Any, samples: torch.Tensor, strength: float, projection: Projection, label: str = "") -> Any:
    """A clone of ``model`` whose sampling is pulled toward the guide latent ``samples`` (``check_guide``) at
    ``strength`` with ``projection``. A guide applied earlier is replaced; at strength 0 the clone has none."""
    require_model(model, "DyPE Guide")
    guide = LowResGuide(check_guide(samples, latent_channels(model)), float(strength), projection, label)
    patched = model.clone()
    kept = [fn for fn in patched.model_options.get(POST_CFG, ()) if not isinstance(fn, LowResGuide)]
    if kept:
        patched.model_options[POST_CFG] = kept
    else:
        patched.model_options.pop(POST_CFG, None)
    patched.remove_wrappers_with_key(OUTER_SAMPLE, WRAPPER_KEY)
    if guide.strength > 0:
        patched.set_model_sampler_post_cfg_function(guide)
        patched.add_wrapper_with_key(OUTER_SAMPLE, WRAPPER_KEY, GuideSampleWrapper(guide))
    return patched
