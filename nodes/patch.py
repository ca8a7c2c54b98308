"""Installing DyPE on a MODEL: one clone, two object patches, two keyed wrappers.

- object patch of the family's rotary embedder with a ``DyPEEmbedder`` (no state);
- object patch of ``model_sampling`` when the time-shift policy pins ``mu``;
- a ``DIFFUSION_MODEL`` wrapper that reads the sigma and the latent's token grid of each
  forward call and hands them to the embedder through ``context.STEP``;
- an ``OUTER_SAMPLE`` wrapper that scopes a table cache to the sampling run, re-shifts the
  schedule for the ``linear`` policy, and reports the run's plan once (log and readout).

Nothing on the shared model or its modules is changed; the model handed in is only cloned.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ..dype_core import DyPESettings, Plan, RotaryLayout, TableCache, plan, sigma_to_t
from . import time_shift
from .context import RUN, STEP, Run, Step
from .embedder import DyPEEmbedder
from .families import Family, detect
from .readout import report

#: The key of DyPE's wrappers; applying DyPE again replaces them rather than stacking.
WRAPPER_KEY = "dype"
OUTER_SAMPLE = "outer_sample"
DIFFUSION_MODEL = "diffusion_model"


@dataclass(frozen=True)
class Patch:
    """Everything a patched model needs at sampling time; immutable, shared by its wrappers."""

    family: Family
    layout: RotaryLayout
    settings: DyPESettings
    time_shift: str
    node_id: str | None = None

    def grid(self, latent: torch.Tensor) -> tuple[int, int]:
        """The main image's ``(rows, cols)`` token grid for a latent ``[..., H, W]``."""
        return self.layout.tokens(latent.shape[-2]), self.layout.tokens(latent.shape[-1])

    def run_plan(
        self, grid: tuple[int, int], sigmas: torch.Tensor, sampling: Any
    ) -> tuple[torch.Tensor, Plan, float | None]:
        """The run's sigmas (re-shifted for ``linear``), its plan and its ``mu``, for ``grid``."""
        rows, cols = grid
        mu = time_shift.run_mu(self.time_shift, sampling, rows * cols)
        if self.time_shift == "linear":
            sigmas = time_shift.reshift(sigmas, float(sampling.shift), mu)
        px = self.layout.px_per_token
        schedule = sigmas.detach().float().cpu()
        return sigmas, plan(self.layout, cols * px, rows * px, schedule, self.settings, self.family.sigma_max), mu

    def scales(self, grid: tuple[int, int]) -> tuple[float, ...]:
        """Per-axis scales; all 1 (DyPE inactive) when the method is off."""
        if self.settings.method == "none":
            return (1.0,) * len(self.layout.axes_dim)
        return self.layout.axis_scales(*grid, self.settings.scaling)


@dataclass(frozen=True)
class DiffusionModelWrapper:
    """Sets ``STEP`` for one forward call above the base resolution; below it, does nothing."""

    patch: Patch

    def __call__(self, executor: Any, *args: Any, **kwargs: Any) -> Any:
        patch = self.patch
        grid = patch.grid(args[0] if args else kwargs["x"])
        scales = patch.scales(grid)
        if max(scales) == 1.0:
            return executor(*args, **kwargs)
        options = patch.family.transformer_options(args, kwargs)
        sigmas = options.get("sigmas")
        if sigmas is None:
            raise RuntimeError(
                "DyPE needs the sampler's sigma (transformer_options['sigmas']) in every forward call; "
                "this call came without one."
            )
        text = patch.family.text_tokens(args, kwargs)
        step = Step(
            layout=patch.layout,
            settings=patch.settings,
            t=sigma_to_t(float(sigmas.max()), patch.family.sigma_max),
            scales=scales,
            grid=grid,
            image=slice(text, text + grid[0] * grid[1]),
            exact_image_ids=patch.family.exact_image_ids,
            head_axis=patch.family.head_axis,
        )
        token = STEP.set(step)
        try:
            return executor(*args, **kwargs)
        finally:
            STEP.reset(token)


@dataclass(frozen=True)
class OuterSampleWrapper:
    """Scopes a table cache to one sampling run, applies the ``linear`` shift, reports the plan."""

    patch: Patch

    def __call__(self, executor: Any, noise: torch.Tensor, latent_image: Any, sampler: Any,
                 sigmas: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
        patch = self.patch
        sampling = executor.class_obj.model_patcher.get_model_object("model_sampling")
        if sigmas.numel() >= 2:
            sigmas, run, mu = patch.run_plan(patch.grid(noise), sigmas, sampling)
            report(run, patch.node_id, mu, patch.time_shift)
        token = RUN.set(Run(cache=TableCache()))
        try:
            return executor(noise, latent_image, sampler, sigmas, *args, **kwargs)
        finally:
            RUN.reset(token)


def apply_dype(
    model: Any,
    settings: DyPESettings,
    *,
    base_resolution: int = 0,
    time_shift_policy: str = "model",
    mu: float = 1.15,
    node_id: str | None = None,
) -> Any:
    """A clone of ``model`` (a ComfyUI ``ModelPatcher``) that samples with DyPE.

    ``base_resolution`` in pixels overrides the family's training resolution (0: the
    family's). ``time_shift_policy`` is one of ``time_shift.POLICIES``; ``mu`` is used by
    ``custom``. ``node_id`` is the graph node to show the run's readout on. Raises
    ``ValueError`` (``UnsupportedModel``) with what is wrong and allowed.
    """
    if time_shift_policy not in time_shift.POLICIES:
        raise ValueError(
            f"unknown time_shift {time_shift_policy!r}; choose one of {', '.join(time_shift.POLICIES)}"
        )
    if base_resolution < 0:
        raise ValueError(f"base_resolution must be 0 (the model's own) or a size in pixels, got {base_resolution}")
    family, layout = detect(model.get_model_object("diffusion_model"), lambda path: _original_embedder(model, path))
    original = _original_embedder(model, family.embedder)
    if base_resolution:
        layout = layout.with_base_resolution(base_resolution)

    sampling = model.get_model_object("model_sampling")
    if time_shift_policy != "model":
        time_shift.require_flux_sampling(sampling, time_shift_policy)
    patched = model.clone()
    patched.add_object_patch(family.embedder, DyPEEmbedder(original))
    if time_shift_policy in ("base", "custom"):
        fixed = family.base_mu if time_shift_policy == "base" else mu
        pinned = time_shift.pinned_sampling(sampling, model.model.model_config, fixed)
        patched.add_object_patch("model_sampling", pinned)

    patch = Patch(family=family, layout=layout, settings=settings, time_shift=time_shift_policy, node_id=node_id)
    for kind, wrapper in ((OUTER_SAMPLE, OuterSampleWrapper(patch)), (DIFFUSION_MODEL, DiffusionModelWrapper(patch))):
        patched.remove_wrappers_with_key(kind, WRAPPER_KEY)
        patched.add_wrapper_with_key(kind, WRAPPER_KEY, wrapper)
    return patched


def _original_embedder(model: Any, path: str) -> Any:
    """The host's embedder at ``path``, looking through a DyPE patch applied earlier."""
    embedder = model.get_model_object(path)
    return embedder.original if isinstance(embedder, DyPEEmbedder) else embedder


def patch_of(model: Any) -> Patch:
    """The DyPE patch on ``model``, or the one the DyPE node's defaults would install on it."""
    installed = model.get_wrappers(DIFFUSION_MODEL, WRAPPER_KEY)
    if installed:
        return installed[-1].patch
    family, layout = detect(model.get_model_object("diffusion_model"), lambda path: _original_embedder(model, path))
    return Patch(family=family, layout=layout, settings=DyPESettings(), time_shift="model")
