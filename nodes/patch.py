"""Installing DyPE on a MODEL: one clone, up to two object patches, up to three keyed wrappers.

- object patch of the family's rotary embedder with a ``DyPEEmbedder`` (no state);
- object patch of ``model_sampling`` when the time-shift policy pins the shift;
- a wrapper at the family's hook (``DIFFUSION_MODEL``, or ``APPLY_MODEL`` for models whose
  forward runs no wrappers) that reads the sigma and the latent's token grid of each model
  call and hands them to the embedder through ``context.STEP``;
- for families with ControlNets, a ``CALC_COND_BATCH`` wrapper that does the same for them
  (``controlnet.py``: their own embedders, or the model's when a ControlNet calls it);
- an ``OUTER_SAMPLE`` wrapper that scopes a table cache to the sampling run, gives the run's
  FLUX ControlNets DyPE, re-shifts the schedule for the ``linear`` policy before sampling, and
  once sampling has ended reports the plan of what the run's model calls received (log and
  readout): their size and their sigmas, not the noise latent's size and the sampler's schedule,
  which context windows, area conditioning, caches and custom samplers may not follow.

Nothing on the shared model or its modules is changed; the model handed in is only cloned.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from ..dype_core import DyPESettings, Plan, RotaryLayout, TableCache, plan, sega
from ..dype_core import guide as core_guide
from ..dype_core.menu import TIME_SHIFTS
from . import attention, guide, time_shift
from .context import CONTROL_STEP, RUN, STEP, Run, Seen, Step
from .controlnet import patch_run_controls, refuse_unreachable_patches
from .embedder import DyPEComponentTable, DyPEEmbedder, DyPEGridEmbedder, host_embedder, is_dype
from .families import FAMILIES, Call, Family, UnsupportedModel, class_name, detect
from .families.family import IDENTITY_PLACEMENT, last
from .host import comfyui_version, require_model
from .readout import report, report_no_calls
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
    that DyPE applied again can undo it. ``own_mu`` is the shift of the checkpoint's own sampling,
    which ``base`` restores and ``linear`` starts from (``None``: its sampling has no shift).
    ``latent_channels`` are the latent's own channels, the ones SEGA reads (a model call's input may
    carry conditioning channels after them, such as Wan's image-to-video ones; ``None``: all).
    """

    family: Family
    layout: RotaryLayout
    settings: DyPESettings
    time_shift: str
    node_id: str | None = None
    pinned: Any = None
    replaced: Any = None
    own_mu: float | None = None
    latent_channels: int | None = None

    def geometry(self, latent: torch.Tensor) -> tuple[int, tuple[int, int]]:
        """``(frames, (rows, cols))`` of the main image for a latent."""
        return self.family.geometry(latent, self.layout)

    def pixels(self, latent: torch.Tensor) -> tuple[int, int]:
        """``(width, height)`` in pixels of the image a latent decodes to."""
        return latent.shape[-1] * self.layout.latent_downscale, latent.shape[-2] * self.layout.latent_downscale

    def run_shift(
        self, size: tuple[int, int], sigmas: torch.Tensor, sampling: Any
    ) -> tuple[torch.Tensor, float | None]:
        """The run's sigmas (re-shifted for ``linear``) and its ``mu``, for an image of ``size = (width,
        height)`` px sampled with ``sampling``.

        A policy that sets the shift needs a shifted flow schedule: checked here too, against
        the sampling the run actually uses (a sampling node after DyPE may have replaced it).
        """
        width, height = size
        if self.time_shift != "model":
            time_shift.require_shift_sampling(sampling, self.time_shift)
        rows, cols = self.layout.grid_for_pixels(width, height)
        native_tokens = math.prod(self.family.native) / self.layout.px_per_token**2
        mu = time_shift.run_mu(self.time_shift, sampling, rows * cols, native_tokens, self.own_mu)
        if self.time_shift == "linear":
            from_mu = time_shift.sampling_mu(sampling)
            time_shift.require_finite_shift(from_mu, self.time_shift)
            sigmas = time_shift.reshift(sigmas, from_mu, mu)
        return sigmas, mu

    def run_plan(
        self, size: tuple[int, int], sigmas: torch.Tensor, sampling: Any, frames: int = 1,
        guide_strength: float | None = None,
    ) -> tuple[torch.Tensor, Plan, float | None]:
        """The run's sigmas (``run_shift``), its plan and its ``mu``, for an image of ``size = (width,
        height)`` px (``frames`` latent frames of a video) sampled with ``sampling``: what DyPE would do
        if every model call saw that image at the schedule's sigmas (the DyPE Plan node's view), with
        the weights of a low-resolution guide of ``guide_strength`` (``None``: no guide)."""
        width, height = size
        sigmas, mu = self.run_shift(size, sigmas, sampling)
        schedule = sigmas.detach().float().cpu()
        weights = () if guide_strength is None else core_guide.weights(schedule, guide_strength)
        result = plan(self.layout, width, height, schedule, self.settings, self.family.time, frames,
                      time_shift=self.time_shift, mu=mu, guide=weights)
        return sigmas, result, mu

    def seen_plan(
        self, calls: Sequence[Seen], schedule: torch.Tensor, mu: float | None, guide_strength: float | None = None,
    ) -> tuple[Plan, list[tuple[int, int, int]]] | None:
        """The plan of what a run's model ``calls`` received, and the ``(frames, rows, cols)`` sizes they saw
        (the plan's first); ``None`` without calls. ``schedule`` is the run's sigmas and ``mu`` its shift;
        ``guide_strength`` that of the run's low-resolution guide (``None``: none), whose weight at each step
        is the one its sigma has in the schedule.

        The plan is that of the largest size the calls saw: the one DyPE scales most, then the one with
        the most tokens, then the first seen. Its steps are the sigmas the calls at that size received, in
        call order, one per distinct sigma: calls in a row at one sigma (cond and uncond, context windows
        or areas of one evaluation, a second-order sampler's two evaluations at one sigma) are one step,
        or as many as the schedule itself repeats that sigma (a shift so high that several steps share
        one float). SEGA's magnitudes at a step are those of the first call at its sigma. The plan ends
        with the schedule's last sigma. Calls that came without a sigma (only
        possible at or below the base size) count for their size only; if none at that size had one, the
        steps are the schedule's. The sigmas come back from the device here, in one transfer.
        """
        if not calls:
            return None
        sizes: dict[tuple[int, int, int], Seen] = {}
        for seen in calls:
            sizes.setdefault((seen.frames, *seen.grid), seen)

        def weight(size: tuple[int, int, int]) -> tuple[float, int]:
            frames, rows, cols = size
            return max(self.scales(frames, (rows, cols))), frames * rows * cols

        chosen = max(sizes, key=weight)  # the first of equals: the first seen
        received = [seen for seen in calls if (seen.frames, *seen.grid) == chosen and seen.sigma is not None]
        values = _floats([*(seen.sigma for seen in received), schedule])
        received_values, scheduled = values[:len(received)], values[len(received):]
        steps = _steps(received_values, scheduled[:-1]) if received else scheduled[:-1] or scheduled[:1]
        spectra: dict[float, Any] = {}
        for value, seen in zip(received_values, received):
            spectra.setdefault(value, seen.spectrum)
        measured = [spectra.get(value) for value in steps]
        width, height = sizes[chosen].pixels
        weights = () if guide_strength is None else \
            core_guide.weights(torch.tensor(scheduled), guide_strength, at=torch.tensor(steps))
        result = plan(self.layout, width, height, [*steps, scheduled[-1]], self.settings, self.family.time,
                      chosen[0], time_shift=self.time_shift, mu=mu,
                      spectra=measured if all(s is not None for s in measured) else (), guide=weights)
        return result, [chosen, *(size for size in sizes if size != chosen)]

    def step(self, call: Call, sigmas: Any, locate: Callable[[Call], Locator], exact_ids: bool,
             latent: torch.Tensor, placement: tuple[float, float, float, float] = IDENTITY_PLACEMENT) -> Step | None:
        """The ``Step`` of ``call`` at ``sigmas``, its image tokens found by ``locate``, their ids placed by
        ``placement`` (``Family.placement``) and, for SEGA, the spectrum of its ``latent``; ``None`` (and
        nothing located or measured) at or below the base size."""
        scales = self.scales(call.frames, call.grid)
        if max(scales) == 1.0:
            return None
        if sigmas is None:
            raise RuntimeError(
                "DyPE needs the sampler's sigma (transformer_options['sigmas']) in every model call; "
                "this call came without one."
            )
        sigma = float(sigmas.max())
        if not math.isfinite(sigma):
            raise ValueError(
                f"DyPE got sigma {sigma} from the sampler: its schedule is not finite (a ModelSamplingSD3 or AuraFlow "
                "node with shift 0 makes the first sigma 0/0). Set that node's shift above 0."
            )
        return Step(
            family=self.family,
            layout=self.layout,
            settings=self.settings,
            t=self.family.time(sigma),
            scales=scales,
            frames=call.frames,
            grid=call.grid,
            tokens=locate(call),
            exact_ids=exact_ids,
            spectrum=sega.spectrum(latent[:, :self.latent_channels], self.layout.patch)
            if self.settings.method == "sega" else None,
            placement=placement,
        )

    def scales(self, frames: int, grid: tuple[int, int]) -> tuple[float, ...]:
        """Per-axis scales of the main image's ``frames x rows x cols`` tokens; all 1 (DyPE inactive) when
        the method is off. Only a video family's own frames count on its time axis."""
        if self.settings.method == "none":
            return (1.0,) * len(self.layout.axes_dim)
        return self.layout.axis_scales(*grid, self.settings.scaling, frames)


def _floats(tensors: Sequence[torch.Tensor]) -> list[float]:
    """The values of ``tensors``, flattened in order, read back from their device in one transfer."""
    device = tensors[0].device
    return torch.cat([t.detach().to(device, torch.float32).flatten() for t in tensors]).tolist()


def _runs(values: Sequence[float]) -> list[tuple[float, int]]:
    """``values`` as ``(value, times in a row)``."""
    runs: list[tuple[float, int]] = []
    for value in values:
        if runs and runs[-1][0] == value:
            runs[-1] = (value, runs[-1][1] + 1)
        else:
            runs.append((value, 1))
    return runs


def _steps(received: Sequence[float], scheduled: Sequence[float]) -> list[float]:
    """One step per distinct sigma the calls received in a row, or as many as the schedule's steps
    (``scheduled``) hold it in a row, if fewer than the calls."""
    repeats: dict[float, int] = {}
    for value, count in _runs(scheduled):
        repeats[value] = max(repeats.get(value, 0), count)
    return [value for value, count in _runs(received) for _ in range(max(1, min(count, repeats.get(value, 0))))]


def _sigma(sigmas: Any) -> torch.Tensor | None:
    """The largest of a call's sigmas as a 0-d tensor on its device (no read back), ``None`` without one."""
    return None if sigmas is None else torch.as_tensor(sigmas).detach().amax()


@torch.compiler.disable
def _record(frames: int, grid: tuple[int, int], pixels: tuple[int, int], sigmas: Any,
            spectrum: sega.Spectrum | None) -> None:
    """Record a model call in the sampling run, if there is one. Not traced by ``torch.compile`` (a compiled
    model runs its wrappers in its graph): a list that grows each call would make it recompile every call."""
    run = RUN.get()
    if run is not None:
        run.calls.append(Seen(frames=frames, grid=grid, pixels=pixels, sigma=_sigma(sigmas), spectrum=spectrum))


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
    """Sets ``STEP`` for one model call above the base resolution; below it, changes nothing. Within the call
    ``CONTROL_STEP`` is cleared: the cond batch's step, which a ControlNet calling the model's embedder
    outside the forward gets, is not this call's (an area or a tile may be smaller).

    Installed as the family's hook (``DIFFUSION_MODEL`` or ``APPLY_MODEL``), where the
    sigma and the latent of the call are at hand. Every call, at any size, is recorded in the
    sampling run (``Run.calls``): its latent's size and its sigma, read back after the run. It
    also guards against a host whose model no longer matches the family: an embedder call that
    does not hold the main image where the family says, or a run whose first call above the base
    size never asks DyPE's replacement for the main image's table (the model builds its table
    elsewhere now), stops the run with ``HostMismatch``. Later calls may be skipped by step
    caches, so only the first is required to reach the table.
    """

    patch: Patch

    def __call__(self, executor: Any, *args: Any, **kwargs: Any) -> Any:
        family = self.patch.family
        latent = args[0] if args else kwargs["x"]
        frames, grid = self.patch.geometry(latent)
        model = family.hook.diffusion_model(executor.class_obj)
        call = Call(model=model, args=args, kwargs=kwargs, hook=family.hook, frames=frames, grid=grid)
        sigmas, options = family.hook.sigmas(args, kwargs), family.hook.options(args, kwargs)
        step = self.patch.step(call, sigmas, family.image, family.exact_ids, latent, family.placement(options))
        if step is not None:
            refuse_unreachable_patches(options)
        _record(frames, grid, self.patch.pixels(latent), sigmas, None if step is None else step.spectrum)
        outside = CONTROL_STEP.set(None)  # in the forward, the model's embedder answers to this call alone
        try:
            out = _within(STEP, step, executor, *args, **kwargs)
        except LayoutMismatch as error:
            raise HostMismatch(model, family, str(error)) from error
        finally:
            CONTROL_STEP.reset(outside)
        run = RUN.get()
        if step is not None and run is not None and not run.verified:
            if not step.served:
                raise HostMismatch(model, family, (
                    f"the model never asked its rotary embedder ({family.embedder}) for the main image's "
                    f"{step.frames}x{step.grid[0]}x{step.grid[1]} token table in this call, so it would sample "
                    f"with tables DyPE did not make{_displaced(model, family)}"))
            if step.settings.proportional and not step.attended:
                raise HostMismatch(model, family, (
                    "its attention never went through ComfyUI's attention override in this call, so proportional "
                    "attention would not be applied; set proportional_attention off (with TorchCompileModel, a graph "
                    "compiled before proportional attention was switched on is reused: restart ComfyUI)"))
            run.verified.append(True)
        return out


@dataclass(frozen=True)
class ControlStepWrapper:
    """Sets ``CONTROL_STEP`` while a cond batch runs, for the ControlNets called in it.

    A FLUX ControlNet builds ``cat(text, image)`` ids in the model dtype, and Qwen-Image's
    ControlNets ``cat(text, image)`` from the model's own image ids: the image is the last
    ``rows x cols`` tokens, rebuilt exactly at the family's origin.
    """

    patch: Patch

    def __call__(self, executor: Any, model: Any, conds: Any, x_in: torch.Tensor, timestep: torch.Tensor,
                 *args: Any, **kwargs: Any) -> Any:
        frames, grid = self.patch.geometry(x_in)
        call = Call(model=None, args=(x_in,), kwargs={}, hook=self.patch.family.hook, frames=frames, grid=grid)
        step = self.patch.step(call, timestep, last, exact_ids=True, latent=x_in)
        return _within(CONTROL_STEP, step, executor, model, conds, x_in, timestep, *args, **kwargs)


@dataclass(frozen=True)
class OuterSampleWrapper:
    """Scopes a table cache and a record of the model calls to one sampling run, applies the ``linear``
    shift before sampling, and reports the plan of what the model calls received once sampling ends.

    The report is made only when sampling returns: a run that raises (stopped by the user, out of
    memory, a ``HostMismatch``) reports nothing, since its plan would claim steps that never ran. A run
    whose model calls all were skipped (a cache, a wrapper) logs that it has nothing to report and sends
    no readout. The ``linear`` policy's ``mu`` is the one the schedule was re-shifted with, from the
    noise latent's size, before any call. With a low-resolution guide on the model (the DyPE Guide
    node), the plan carries the guide's weight at every step.
    """

    patch: Patch

    def __call__(self, executor: Any, noise: torch.Tensor, latent_image: Any, sampler: Any,
                 sigmas: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
        patch = self.patch
        guider = executor.class_obj
        patch_run_controls(guider.conds, patch.layout)
        sampling = guider.model_patcher.get_model_object("model_sampling")
        sigmas, mu = patch.run_shift(patch.pixels(noise), sigmas, sampling)
        run = Run(cache=TableCache())
        token = RUN.set(run)
        try:
            out = executor(noise, latent_image, sampler, sigmas, *args, **kwargs)
        finally:
            RUN.reset(token)
        installed = guide.installed(guider.model_options)
        strength = None if installed is None else installed.strength
        finite = bool(torch.isfinite(sigmas).all())
        seen = patch.seen_plan(run.calls, sigmas, mu, strength) if sigmas.numel() and finite else None
        if not finite:
            report_no_calls(patch.layout.name, "its schedule holds sigmas that are not finite (a sampling shift of 0?)")
        elif seen is None:
            report_no_calls(patch.layout.name)
        else:
            result, sizes = seen
            report(result, patch.node_id, sizes=sizes)
        return out


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
    family's). ``time_shift_policy`` is one of ``TIME_SHIFTS``; ``mu`` is used by
    ``custom``. ``node_id`` is the graph node to show the run's readout on. Proportional attention
    (``settings.proportional``) installs ``attention.ProportionalAttention``. Raises
    ``ValueError`` (``UnsupportedModel``) with what is wrong and allowed.
    """
    require_model(model, "DyPE")
    if time_shift_policy not in TIME_SHIFTS:
        raise ValueError(
            f"unknown time_shift {time_shift_policy!r}; choose one of {', '.join(TIME_SHIFTS)}"
        )
    if base_resolution < 0:
        raise ValueError(f"base_resolution must be 0 (the model's own) or a size in pixels, got {base_resolution}")
    _refuse_foreign_embedder(model)
    family, layout = _detect(model)
    if settings.proportional and not family.attention_override:
        raise UnsupportedModel(
            f"proportional attention cannot reach {family.members}: ComfyUI {comfyui_version()} does not pass its "
            "attention options to the model's attention, where the scaling would act. Set proportional_attention "
            "off; YaRN's attention factor (attention_scale) and SEGA's magnitudes act through the rotary table "
            "instead and work here."
        )
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
    own = time_shift.own_sampling(model)
    if time_shift_policy in ("base", "custom"):
        custom = time_shift_policy == "custom"
        pinned = time_shift.pinned_sampling(sampling, model.model.model_config, mu) if custom else own
        replaced = patched.object_patches.get("model_sampling")
        patched.add_object_patch("model_sampling", pinned)

    attention.install(patched.model_options.setdefault("transformer_options", {}), settings.proportional)
    patch = Patch(family=family, layout=layout, settings=settings, time_shift=time_shift_policy, node_id=node_id,
                  pinned=pinned, replaced=replaced, own_mu=time_shift.sampling_mu(own),
                  latent_channels=getattr(getattr(model.model, "latent_format", None), "latent_channels", None))
    wrappers = {OUTER_SAMPLE: OuterSampleWrapper(patch), family.hook.kind: ModelCallWrapper(patch)}
    if family.controlnets:
        wrappers[CALC_COND_BATCH] = ControlStepWrapper(patch)
    for kind in (OUTER_SAMPLE, CALC_COND_BATCH, DIFFUSION_MODEL, APPLY_MODEL):
        patched.remove_wrappers_with_key(kind, WRAPPER_KEY)
    for kind, wrapper in wrappers.items():
        patched.add_wrapper_with_key(kind, WRAPPER_KEY, wrapper)
    return patched


def _refuse_foreign_embedder(model: Any) -> None:
    """``UnsupportedModel`` when another node's object patch stands in place of a family's rotary embedder: DyPE
    builds the main image's table itself and would drop what that patch does (its time axis, its scaling)."""
    for path in dict.fromkeys(family.embedder for family in FAMILIES):
        other = model.object_patches.get(path)
        if other is not None and not is_dype(other):
            raise UnsupportedModel(
                f"DyPE cannot apply on top of {class_name(other)}, which another node put in place of the model's "
                f"rotary embedder ({path}): DyPE builds the image's position table itself and would drop what that "
                "node does. Remove that node (DyPE has its own RIFLEx time axis for longer videos), or remove DyPE."
            )


def _displaced(model: Any, family: Family) -> str:
    """``: <class> stands where ...`` when the embedder the model calls is not DyPE's (a node applied after DyPE
    replaced it), else empty."""
    path = family.embedder.removeprefix("diffusion_model.")
    called = model
    for part in path.split("."):
        called = getattr(called, part, None)
    if called is None or is_dype(called):
        return ""
    return (f"; {class_name(called)} stands where DyPE put its embedder: a node applied after DyPE replaced it. "
            "Apply DyPE after that node, or remove it")


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
    require_model(model, "DyPE Plan")
    installed = model.get_wrappers(OUTER_SAMPLE, WRAPPER_KEY)
    if installed:
        return installed[-1].patch
    family, layout = _detect(model)
    return Patch(family=family, layout=layout, settings=DyPESettings(), time_shift="model",
                 own_mu=time_shift.sampling_mu(time_shift.own_sampling(model)))
