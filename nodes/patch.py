"""Installing DyPE on a MODEL: one clone, up to two object patches, up to three keyed wrappers.

- object patch of the family's rotary embedder with a ``DyPEEmbedder`` (no state);
- object patch of ``model_sampling`` when the time-shift policy pins the shift;
- a wrapper at the family's hook (``DIFFUSION_MODEL``, or ``APPLY_MODEL`` for models whose
  forward runs no wrappers) that reads the sigma and the latent's token grid of each model
  call and hands them to the embedder through ``context.STEP``;
- for families with ControlNets, a ``CALC_COND_BATCH`` wrapper that does the same for them
  (``controlnet.py``);
- an ``OUTER_SAMPLE`` wrapper that scopes a table cache to the sampling run, gives the run's
  FLUX ControlNets DyPE, re-shifts the schedule for the ``linear`` policy, and reports the
  run's plan once (log and readout).

Nothing on the shared model or its modules is changed; the model handed in is only cloned.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from ..dype_core import DyPESettings, Plan, RotaryLayout, TableCache, plan
from . import time_shift
from .context import CONTROL_STEP, RUN, STEP, Run, Step
from .controlnet import patch_run_controls
from .embedder import DyPEComponentTable, DyPEEmbedder, DyPEGridEmbedder, host_embedder
from .families import Call, Family, class_name, detect
from .families.family import last
from .host import comfyui_version
from .readout import report
from .tokens import LayoutMismatch, Locator


class HostMismatch(RuntimeError):
    """What DyPE found in a model call is not what the model's family says: the host changed it."""

    def __init__(self, model: Any, family: Family, what: str) -> None:
        super().__init__(
            f"DyPE stopped this run: {class_name(model)} on ComfyUI {comfyui_version()} does not match what "
            f"DyPE expects of the {family.name} family: {what}. DyPE would otherwise sample with plain or wrong "
            "position tables. Remove the DyPE node for this model, or update the pack."
        )


#: The key of DyPE's wrappers; applying DyPE again replaces them rather than stacking.
WRAPPER_KEY = "dype"
OUTER_SAMPLE = "outer_sample"
CALC_COND_BATCH = "calc_cond_batch"
DIFFUSION_MODEL = "diffusion_model"
APPLY_MODEL = "apply_model"
#: The replacement for each ``Family.source``.
REPLACEMENTS = {"ids": DyPEEmbedder, "grid": DyPEGridEmbedder, "components": DyPEComponentTable}


@dataclass(frozen=True)
class Patch:
    """Everything a patched model needs at sampling time; immutable, shared by its wrappers.

    ``pinned`` is the ``model_sampling`` object DyPE installed for ``base`` and ``custom`` (``None``
    otherwise) and ``replaced`` the object patch it took the place of (``None``: the model's own), so
    that DyPE applied again can undo it.
    """

    family: Family
    layout: RotaryLayout
    settings: DyPESettings
    time_shift: str
    node_id: str | None = None
    pinned: Any = None
    replaced: Any = None

    def geometry(self, latent: torch.Tensor) -> tuple[int, tuple[int, int]]:
        """``(frames, (rows, cols))`` of the main image for a latent."""
        return self.family.geometry(latent, self.layout)

    def pixels(self, latent: torch.Tensor) -> tuple[int, int]:
        """``(width, height)`` in pixels of the image a latent decodes to."""
        return latent.shape[-1] * self.layout.latent_downscale, latent.shape[-2] * self.layout.latent_downscale

    def run_plan(
        self, size: tuple[int, int], sigmas: torch.Tensor, sampling: Any, frames: int = 1
    ) -> tuple[torch.Tensor, Plan, float | None]:
        """The run's sigmas (re-shifted for ``linear``), its plan and its ``mu``, for an image of
        ``size = (width, height)`` px (``frames`` latent frames of a video) sampled with ``sampling``.

        A policy that sets the shift needs a shifted flow schedule: checked here too, against
        the sampling the run actually uses (a sampling node after DyPE may have replaced it).
        """
        width, height = size
        if self.time_shift != "model":
            time_shift.require_shift_sampling(sampling, self.time_shift)
        rows, cols = self.layout.grid_for_pixels(width, height)
        mu = time_shift.run_mu(self.time_shift, sampling, rows * cols, self.family, self.layout.px_per_token)
        if self.time_shift == "linear":
            sigmas = time_shift.reshift(sigmas, time_shift.sampling_mu(sampling), mu)
        schedule = sigmas.detach().float().cpu()
        return sigmas, plan(self.layout, width, height, schedule, self.settings, self.family.time, frames), mu

    def step(self, call: Call, sigmas: Any, locate: Callable[[Call], Locator], exact_ids: bool) -> Step | None:
        """The ``Step`` of ``call`` at ``sigmas``, its image tokens found by ``locate``; ``None`` (and
        nothing located) at or below the base size."""
        scales = self.scales(call.frames, call.grid)
        if max(scales) == 1.0:
            return None
        if sigmas is None:
            raise RuntimeError(
                "DyPE needs the sampler's sigma (transformer_options['sigmas']) in every model call; "
                "this call came without one."
            )
        return Step(
            family=self.family,
            layout=self.layout,
            settings=self.settings,
            t=self.family.time(float(sigmas.max())),
            scales=scales,
            frames=call.frames,
            grid=call.grid,
            tokens=locate(call),
            exact_ids=exact_ids,
        )

    def scales(self, frames: int, grid: tuple[int, int]) -> tuple[float, ...]:
        """Per-axis scales of the main image's ``frames x rows x cols`` tokens; all 1 (DyPE inactive) when
        the method is off. Only a video family's own frames count on its time axis."""
        if self.settings.method == "none":
            return (1.0,) * len(self.layout.axes_dim)
        return self.layout.axis_scales(*grid, self.settings.scaling, frames)


def _within(context: Any, step: Step | None, call: Any, *args: Any, **kwargs: Any) -> Any:
    """``call(*args, **kwargs)`` with ``context`` set to ``step`` (left alone when ``None``)."""
    if step is None:
        return call(*args, **kwargs)
    token = context.set(step)
    try:
        return call(*args, **kwargs)
    finally:
        context.reset(token)


@dataclass(frozen=True)
class ModelCallWrapper:
    """Sets ``STEP`` for one model call above the base resolution; below it, does nothing.

    Installed as the family's hook (``DIFFUSION_MODEL`` or ``APPLY_MODEL``), where the
    sigma and the latent of the call are at hand. It also guards against a host whose model
    no longer matches the family: an embedder call that does not hold the main image where the
    family says, or a run whose first call above the base size never asks DyPE's replacement
    for the main image's table (the model builds its table elsewhere now), stops the run with
    ``HostMismatch``. Later calls may be skipped by step caches, so only the first is required
    to reach the table.
    """

    patch: Patch

    def __call__(self, executor: Any, *args: Any, **kwargs: Any) -> Any:
        family = self.patch.family
        latent = args[0] if args else kwargs["x"]
        frames, grid = self.patch.geometry(latent)
        model = family.hook.diffusion_model(executor.class_obj)
        call = Call(model=model, args=args, kwargs=kwargs, hook=family.hook, frames=frames, grid=grid)
        sigmas = family.hook.sigmas(args, kwargs)
        step = self.patch.step(call, sigmas, family.image, family.exact_ids)
        try:
            out = _within(STEP, step, executor, *args, **kwargs)
        except LayoutMismatch as error:
            raise HostMismatch(model, family, str(error)) from error
        run = RUN.get()
        if step is not None and run is not None and not run.verified:
            if not step.served:
                raise HostMismatch(model, family, (
                    f"the model never asked its rotary embedder ({family.embedder}) for the main image's "
                    f"{step.frames}x{step.grid[0]}x{step.grid[1]} token table in this call, so it would sample "
                    "with tables DyPE did not make"))
            run.verified.append(True)
        return out


@dataclass(frozen=True)
class ControlStepWrapper:
    """Sets ``CONTROL_STEP`` while a cond batch runs, for the ControlNets called in it.

    A FLUX ControlNet builds ``cat(text, image)`` ids in the model dtype: the image is the
    last ``rows x cols`` tokens, rebuilt exactly.
    """

    patch: Patch

    def __call__(self, executor: Any, model: Any, conds: Any, x_in: torch.Tensor, timestep: torch.Tensor,
                 *args: Any, **kwargs: Any) -> Any:
        frames, grid = self.patch.geometry(x_in)
        call = Call(model=None, args=(x_in,), kwargs={}, hook=self.patch.family.hook, frames=frames, grid=grid)
        step = self.patch.step(call, timestep, last, exact_ids=True)
        return _within(CONTROL_STEP, step, executor, model, conds, x_in, timestep, *args, **kwargs)


@dataclass(frozen=True)
class OuterSampleWrapper:
    """Scopes a table cache to one sampling run, applies the ``linear`` shift, reports the plan."""

    patch: Patch

    def __call__(self, executor: Any, noise: torch.Tensor, latent_image: Any, sampler: Any,
                 sigmas: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
        patch = self.patch
        guider = executor.class_obj
        patch_run_controls(guider.conds)
        sampling = guider.model_patcher.get_model_object("model_sampling")
        if sigmas.numel() >= 2:
            sigmas, run, mu = patch.run_plan(patch.pixels(noise), sigmas, sampling, patch.geometry(noise)[0])
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
    family, layout = _detect(model)
    original = host_embedder(model.get_model_object(family.embedder))
    if base_resolution:
        layout = layout.with_base_resolution(base_resolution)

    patched = model.clone()
    _undo_time_shift(patched)
    sampling = patched.get_model_object("model_sampling")
    if time_shift_policy != "model":
        time_shift.require_shift_sampling(sampling, time_shift_policy)
    patched.add_object_patch(family.embedder, REPLACEMENTS[family.source](original))
    pinned = replaced = None
    if time_shift_policy in ("base", "custom"):
        fixed = family.base_mu if time_shift_policy == "base" else mu
        pinned = time_shift.pinned_sampling(sampling, model.model.model_config, fixed)
        replaced = patched.object_patches.get("model_sampling")
        patched.add_object_patch("model_sampling", pinned)

    patch = Patch(family=family, layout=layout, settings=settings, time_shift=time_shift_policy, node_id=node_id,
                  pinned=pinned, replaced=replaced)
    wrappers = {OUTER_SAMPLE: OuterSampleWrapper(patch), family.hook.kind: ModelCallWrapper(patch)}
    if family.controlnets:
        wrappers[CALC_COND_BATCH] = ControlStepWrapper(patch)
    for kind in (OUTER_SAMPLE, CALC_COND_BATCH, DIFFUSION_MODEL, APPLY_MODEL):
        patched.remove_wrappers_with_key(kind, WRAPPER_KEY)
    for kind, wrapper in wrappers.items():
        patched.add_wrapper_with_key(kind, WRAPPER_KEY, wrapper)
    return patched


def _undo_time_shift(patched: Any) -> None:
    """On a clone of a model DyPE already patched, put back the ``model_sampling`` its earlier patch
    replaced, if that patch's pin is still the one installed (a sampling node placed after the
    earlier DyPE replaced it on purpose, and stays)."""
    installed = patched.get_wrappers(OUTER_SAMPLE, WRAPPER_KEY)
    earlier = installed[-1].patch if installed else None
    if earlier is None or earlier.pinned is None or patched.object_patches.get("model_sampling") is not earlier.pinned:
        return
    if earlier.replaced is None:
        del patched.object_patches["model_sampling"]
    else:
        patched.object_patches["model_sampling"] = earlier.replaced


def _detect(model: Any) -> tuple[Family, RotaryLayout]:
    """The family and layout of ``model``, read from the host's own embedder."""
    latent_format = getattr(model.model, "latent_format", None)
    return detect(
        model.get_model_object("diffusion_model"),
        lambda path: host_embedder(model.get_model_object(path)),
        getattr(latent_format, "spacial_downscale_ratio", None),
    )


def patch_of(model: Any) -> Patch:
    """The DyPE patch on ``model``, or the one the DyPE node's defaults would install on it."""
    installed = model.get_wrappers(OUTER_SAMPLE, WRAPPER_KEY)
    if installed:
        return installed[-1].patch
    family, layout = _detect(model)
    return Patch(family=family, layout=layout, settings=DyPESettings(), time_shift="model")
