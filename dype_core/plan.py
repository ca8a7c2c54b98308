"""What DyPE will do at a size and schedule, step by step, without sampling anything."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from . import frequencies, sega
from .attention import proportional_factor
from .layout import RotaryLayout
from .schedule import sigma_to_t
from .settings import DyPESettings

#: Relative tolerance below which a frequency counts as unchanged.
CHANGED = 1e-9
#: The plan table's band columns, in the order ``AxisStep.bands`` counts them.
BANDS = ("untouched", "interp", "blended", "extrap")
#: A schedule whose last model call is still at ``t >= DEGENERATE_T`` never lets ``k(t)`` relax
#: (it keeps ``t ** lambda_t`` of its first value to the end): a time shift that high is degenerate.
DEGENERATE_T = 0.99


@dataclass(frozen=True)
class AxisStep:
    """One spatial axis at one step: ``N`` tokens against a base of ``L``.

    ``omega`` holds the effective frequencies ``w'_i`` and ``ratio`` the ratios ``w'_i / w_i``
    (1: untouched; ``1 / s``: fully interpolated). ``attention_scale`` is the gain of every pair (YaRN's
    factor; SEGA's ``m_ref``); ``magnitudes`` holds SEGA's ``m_i`` of each pair when a latent's spectrum
    set them (empty otherwise).
    """

    name: str
    tokens: int
    base_len: float
    scale: float
    attention_scale: float
    omega: tuple[float, ...]
    ratio: tuple[float, ...]
    magnitudes: tuple[float, ...] = ()

    @property
    def gain_range(self) -> tuple[float, float]:
        """The smallest and largest gain of the axis's pairs."""
        if self.magnitudes:
            return min(self.magnitudes), max(self.magnitudes)
        return self.attention_scale, self.attention_scale

    @property
    def wavelengths(self) -> tuple[float, float]:
        """Shortest and longest effective wavelength ``2 pi / w'_i``, in tokens (``inf`` for a
        frequency compressed to 0)."""
        return tuple(2 * math.pi / w if w > 0.0 else math.inf for w in (max(self.omega), min(self.omega)))

    @property
    def changed(self) -> int:
        """Pairs whose frequency differs from plain RoPE (interpolated or blended)."""
        return sum(abs(r - 1.0) > CHANGED for r in self.ratio)

    @property
    def extrapolated(self) -> int:
        """Pairs that made less than one full turn across the base length ``L`` but complete one across
        the image's ``N`` tokens, at their effective frequency: ``w_i L / 2 pi < 1 <= w'_i N / 2 pi``.

        Such a pair meets phases it never saw in training, and positions a whole turn apart look alike
        to it (the repetition RIFLEx names). Pairs that turned fully in training saw every phase and
        are not extrapolated, however many more turns they make across the image.
        """
        count = 0
        for w_new, r in zip(self.omega, self.ratio):
            if w_new == 0.0:  # compressed to a standstill: it turns nowhere
                continue
            trained_turns = (w_new / r) * self.base_len / (2 * math.pi)
            count += trained_turns < 1.0 and w_new * self.tokens / (2 * math.pi) >= 1.0 + CHANGED
        return count

    def bands(self) -> dict[str, int]:
        """Pairs per band, in ``BANDS`` order: untouched (plain RoPE), interpolated (compressed by the
        full scale, ``w'_i <= w_i / s``), blended (compressed less than that) and, counted across the
        other three, extrapolated (``extrapolated``)."""
        interpolated = sum(abs(r - 1.0) > CHANGED and r * self.scale <= 1.0 + CHANGED for r in self.ratio)
        counts = (len(self.ratio) - self.changed, interpolated, self.changed - interpolated, self.extrapolated)
        return dict(zip(BANDS, counts))


@dataclass(frozen=True)
class Step:
    """One model call: its sigma, diffusion time ``t``, ``k(t)``, every spatial axis and, for a video
    model, its time axis (``None`` otherwise)."""

    index: int
    sigma: float
    t: float
    kappa: float
    axes: tuple[AxisStep, ...]
    time: AxisStep | None = None

    @property
    def all_axes(self) -> tuple[AxisStep, ...]:
        """The spatial axes, then a video's time axis."""
        return (*self.axes, *(() if self.time is None else (self.time,)))


@dataclass(frozen=True)
class Plan:
    """DyPE's plan for one image size and sigma schedule.

    ``time_shift`` names how the schedule's shift was chosen (the node's policy: ``model``, ``base``,
    ``linear`` or ``custom``) and ``mu`` is that shift (``None``: a sampling without one). ``guide`` holds
    the low-resolution guide's weight at every step (``dype_core.guide.weights``; empty: no guide).
    """

    layout: RotaryLayout
    settings: DyPESettings
    width: int
    height: int
    grid: tuple[int, int]
    scales: tuple[float, float]
    steps: tuple[Step, ...]
    frames: int = 1
    time_scale: float = 1.0
    time_shift: str = "model"
    mu: float | None = None
    guide: tuple[float, ...] = ()

    @property
    def active(self) -> bool:
        """Whether DyPE changes the model: some pair's frequency or gain differs from plain RoPE at some step,
        or proportional attention scales the logits. Otherwise the run is the host's own, bitwise."""
        gains = any(a.changed or a.gain_range != (1.0, 1.0) for step in self.steps for a in step.all_axes)
        return gains or self.attention_factor != 1.0

    @property
    def attention_factor(self) -> float:
        """Proportional attention's logit factor for the image's own tokens (a joint attention's text tokens
        lower it a little), 1 when it is off or the method is off."""
        if not self.settings.proportional or self.settings.method == "none":
            return 1.0
        tokens = self.frames * self.grid[0] * self.grid[1]
        return proportional_factor(tokens, tokens, self.layout.trained_tokens(self.frames))

    def attention_text(self) -> str:
        """``attention_parts`` in one line."""
        return ", ".join(self.attention_parts())

    def attention_parts(self) -> list[str]:
        """The attention changes in words: YaRN's factor, SEGA's magnitudes (their range over the run when a
        latent set them, else ``m_ref`` and the range any latent can give) and proportional attention."""
        parts = []
        if self.settings.method == "sega":
            scaled = [i for i, a in enumerate(self.steps[0].axes) if a.scale > 1.0]
            if not scaled:
                parts.append("SEGA: both spatial axes at the base size, plain")
            elif all(step.axes[i].magnitudes for step in self.steps for i in scaled):
                spans = {i: (min(s.axes[i].gain_range[0] for s in self.steps),
                             max(s.axes[i].gain_range[1] for s in self.steps)) for i in scaled}
                parts.append("SEGA magnitudes " + ", ".join(
                    f"{self.steps[0].axes[i].name} {lo:.3f}..{hi:.3f}" for i, (lo, hi) in spans.items()))
            else:
                axes = [self.steps[0].axes[i] for i in scaled]
                parts.append("SEGA magnitudes around m_ref " + ", ".join(
                    f"{a.name} {a.attention_scale:.4g} (any latent: {_span(sega.gain_range(a.attention_scale))})"
                    for a in axes))
        else:
            parts.append(f"attention x{max(a.attention_scale for a in self.steps[0].all_axes):.4g}")
        if self.attention_factor != 1.0:
            parts.append(f"proportional attention x{self.attention_factor:.4g}")
        return parts

    @property
    def time_active(self) -> bool:
        """Whether some time pair of a video differs from plain RoPE at some step."""
        return any(step.time is not None and step.time.changed for step in self.steps)

    def time_axis(self) -> str:
        """``T latent frames (trained T0): time x s, method``, or why time is untouched, for a video model;
        empty for an image model."""
        if self.layout.base_frames is None:
            return ""
        head = f"{self.frames} latent frames (trained {self.layout.base_frames:g})"
        if self.time_active:
            return f"{head}: time x{self.time_scale:.3g}, {self.settings.time_label}"
        if self.time_scale <= 1.0:
            why = "at or below the trained length"
        elif self.settings.for_time() is None:
            why = "method off" if self.settings.method == "none" else "time_axis off"
        else:
            why = f"x{self.time_scale:.3g}, but {self.settings.time_label} changes no time pair at this length"
        return f"{head}: time untouched ({why})"

    @property
    def degenerate(self) -> bool:
        """Whether DyPE acts but its correction cannot relax: the last model call is still at
        ``t >= DEGENERATE_T`` (every sigma near pure noise)."""
        return self.active and bool(self.settings.dynamic) and self.steps[-1].t >= DEGENERATE_T

    def degenerate_cause(self) -> str:
        """Why the schedule is degenerate and what to do about it (empty when it is not)."""
        if not self.degenerate:
            return ""
        last = self.steps[-1]
        if len(self.steps) == 1:
            return (f"degenerate schedule: one step, whose only model call is at sigma {last.sigma:.4g}, so k(t) "
                    "never relaxes; use more steps")
        head = f"degenerate schedule: sigma is still {last.sigma:.4g} at the last step, so k(t) cannot relax"
        if self.time_shift in ("linear", "custom"):
            return f"{head} (the {self.time_shift} time shift, {self.shift_text()}, is too high; use time_shift model)"
        return (f"{head} (the model's own sampling shift, {self.shift_text()}, is too high; lower it where it is "
                "set, such as a ModelSampling node upstream, or use time_shift base)")

    def shift_text(self) -> str:
        """The time shift in words: ``mu 1.15 (model)``."""
        return "the model's own sampling (no shift)" if self.mu is None else f"mu {self.mu:.4g} ({self.time_shift})"

    def size(self) -> str:
        """``W x H px -> W x H tokens (base W x H)``, and what the host does to a size that is not whole
        latent pixels (the latent crops it) or whole tokens (the model pads the latent)."""
        rows, cols = self.grid
        layout = self.layout
        base_rows, base_cols = (int(v) for v in layout.base_grid)
        notes = [f"base {base_cols}x{base_rows}"]
        down = layout.latent_downscale
        latent_w, latent_h = self.width // down, self.height // down
        if (latent_w * down, latent_h * down) != (self.width, self.height):
            notes.append(f"the latent holds {latent_w * down}x{latent_h * down} px, cropped to whole latent "
                         f"pixels of {down} px")
        if (cols * layout.patch, rows * layout.patch) != (latent_w, latent_h):
            notes.append(f"the model pads the latent to {cols * layout.px_per_token}x{rows * layout.px_per_token} px, "
                         f"whole tokens of {layout.px_per_token} px")
        return f"{self.width}x{self.height} px -> {cols}x{rows} tokens ({'; '.join(notes)})"

    def inactive_reason(self) -> str:
        """Why DyPE leaves the tables plain (for a plan that is not ``active``)."""
        if self.settings.method == "none":
            return "inactive (method off)"
        if max(self.scales) > 1.0:  # above the base, but the schedule never moves a pair (lambda_s 0)
            label = self.settings.label
            return f"inactive: {label} changes no frequency at this size and schedule (plain RoPE, bitwise)"
        time = ", time untouched" if self.time_scale > 1.0 else ""
        return f"inactive, at or below the base resolution{time} (plain RoPE, bitwise)"

    def summary(self) -> str:
        """One line: size, grid, scale per axis, method, whether DyPE acts, and the time shift."""
        time_axis = self.time_axis()
        video = f", {time_axis}" if time_axis else ""
        head = (
            f"{self.layout.name} {self.size()}, scale width {self.scales[1]:.3g} height {self.scales[0]:.3g}"
            f"{video}, {self.settings.label}"
        )
        shift = f"; time shift {self.shift_text()}{self.guide_text()}"
        if not self.active:
            return f"{head}: {self.inactive_reason()}{shift}"
        first, last = self.steps[0], self.steps[-1]
        line = (
            f"{head}, {len(self.steps)} step{'s' if len(self.steps) > 1 else ''}: k(t) {first.kappa:.3g} -> "
            f"{last.kappa:.3g}, {self.attention_text()}{shift}"
        )
        return f"{line}; {self.degenerate_cause()}" if self.degenerate else line

    def guide_text(self) -> str:
        """``; guide weight 1.00 -> 0.01`` with a low-resolution guide; empty without one."""
        return f"; guide weight {self.guide[0]:.2f} -> {self.guide[-1]:.2f}" if self.guide else ""

    def table(self) -> str:
        """The per-step table as fixed-width text: per axis, pairs per band (``BANDS``) and the shortest
        and longest effective wavelength."""
        names = [a.name for a in self.steps[0].all_axes] if self.steps else []
        bands = "/".join(BANDS)
        header = f"{'step':>4} {'sigma':>7} {'t':>6} {'k(t)':>6}" + (f" {'guide':>5}" if self.guide else "")
        for name in names:
            header += f" | {name + ': ' + bands:<38} {'wavelengths (tokens)':<20}"
        lines = [self.summary(), header.rstrip()]
        for step in self.steps:
            line = f"{step.index:>4} {step.sigma:>7.4f} {step.t:>6.4f} {step.kappa:>6.4f}"
            if self.guide:
                line += f" {self.guide[step.index]:>5.3f}"
            for axis in step.all_axes:
                counts = "/".join(str(n) for n in axis.bands().values())
                lo, hi = axis.wavelengths
                line += f" | {counts:<38} {lo:.3g} .. {hi:<12.4g}"
                if axis.magnitudes:
                    line += " m {:.3f}..{:.3f}".format(*axis.gain_range)
            lines.append(line.rstrip())
        return "\n".join(lines)


def _span(bounds: tuple[float, float]) -> str:
    """``1..1.45``."""
    return f"{bounds[0]:.3g}..{bounds[1]:.3g}"


def _axis_step(layout: RotaryLayout, freqs: frequencies.RotaryFrequencies, plain: torch.Tensor,
               scales: tuple[float, ...], axis: int, name: str, tokens: int) -> AxisStep:
    """One axis of one step: its frequencies against plain RoPE, and its gains."""
    first, end = layout.pair_slices[axis]
    omega = freqs.omega[first:end]
    gain = freqs.gains[axis]
    per_pair = isinstance(gain, torch.Tensor)
    return AxisStep(
        name=name, tokens=tokens, base_len=layout.base_len(axis), scale=scales[axis],
        attention_scale=sega.reference_magnitude(scales[axis]) if per_pair else gain, omega=tuple(omega.tolist()),
        ratio=tuple((omega / plain[first:end]).tolist()),
        magnitudes=tuple(gain.tolist()) if per_pair else (),
    )


def plan(
    layout: RotaryLayout,
    width: int,
    height: int,
    sigmas: Sequence[float] | torch.Tensor,
    settings: DyPESettings | None = None,
    time: Callable[[float], float] = sigma_to_t,
    frames: int = 1,
    time_shift: str = "model",
    mu: float | None = None,
    spectra: Sequence[sega.Spectrum | None] = (),
    guide: Sequence[float] = (),
) -> Plan:
    """The plan for a ``width x height`` image (``frames`` latent frames of a video) sampled with
    ``sigmas`` (ending with the last one).

    One step per model call at ``sigmas[:-1]``, as the host's samplers do; ``time`` maps a
    sigma to diffusion time (``sigma_to_t`` for flow models with ``sigma_max = 1``). ``time_shift``
    and ``mu`` say how the schedule was shifted, for the summary. ``spectra``, one per step (or none),
    are the latents' spectra SEGA's magnitudes came from; ``guide``, one per step (or none), the
    low-resolution guide's weights.
    """
    settings = settings or DyPESettings()
    if width <= 0 or height <= 0:
        raise ValueError(f"width and height must be positive pixels, got {width}x{height}")
    values = [float(s) for s in (sigmas.flatten().tolist() if isinstance(sigmas, torch.Tensor) else sigmas)]
    if len(values) < 2:
        raise ValueError(
            f"sigmas must hold a schedule of at least two values (steps + 1, ending with the last sigma), got {values}"
        )
    rows, cols = layout.grid_for_pixels(width, height)
    if rows < 1 or cols < 1:
        raise ValueError(f"{width}x{height}px is smaller than one {layout.name} token ({layout.px_per_token}px)")
    scales = layout.axis_scales(rows, cols, settings.scaling, frames)
    plain = frequencies.plain(layout).omega
    steps = []
    for name, per_step in (("spectra", spectra), ("guide", guide)):
        if per_step and len(per_step) != len(values) - 1:
            raise ValueError(f"{name} must hold one entry per step ({len(values) - 1}), got {len(per_step)}")
    for index, sigma in enumerate(values[:-1]):
        t = time(sigma)
        active = settings.method != "none"
        spectrum = spectra[index] if spectra else None
        freqs = frequencies.dype(layout, settings, scales if active else (1.0,) * len(scales), t, spectrum=spectrum)
        at = (layout, freqs, plain, scales)
        axes = (_axis_step(*at, layout.row_axis, "rows", rows), _axis_step(*at, layout.col_axis, "cols", cols))
        video = _axis_step(*at, layout.time_axis, "time", frames) if layout.base_frames is not None else None
        steps.append(Step(index=index, sigma=sigma, t=t, kappa=settings.kappa(t), axes=axes, time=video))
    time_scale = scales[layout.time_axis] if layout.base_frames is not None else 1.0
    return Plan(
        layout=layout, settings=settings, width=width, height=height, grid=(rows, cols),
        scales=(scales[layout.row_axis], scales[layout.col_axis]), steps=tuple(steps), frames=frames,
        time_scale=time_scale, time_shift=time_shift, mu=mu, guide=tuple(float(w) for w in guide),
    )
