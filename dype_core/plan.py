"""What DyPE will do at a size and schedule, step by step, without sampling anything."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from . import frequencies
from .layout import RotaryLayout
from .schedule import sigma_to_t
from .settings import DyPESettings

#: Relative tolerance below which a frequency counts as unchanged.
CHANGED = 1e-9
#: A schedule whose last model call is still at ``t >= DEGENERATE_T`` never lets ``k(t)`` relax
#: (it keeps ``t ** lambda_t`` of its first value to the end): a time shift that high is degenerate.
DEGENERATE_T = 0.99


@dataclass(frozen=True)
class AxisStep:
    """One spatial axis at one step: ``N`` tokens against a base of ``L``.

    ``omega`` holds the effective frequencies ``w'_i`` and ``ratio`` the ratios ``w'_i / w_i``
    (1: untouched; ``1 / s``: fully interpolated).
    """

    name: str
    tokens: int
    base_len: float
    scale: float
    attention_scale: float
    omega: tuple[float, ...]
    ratio: tuple[float, ...]

    @property
    def wavelengths(self) -> tuple[float, float]:
        """Shortest and longest effective wavelength ``2 pi / w'_i``, in tokens (``inf`` for a
        frequency compressed to 0)."""
        return tuple(2 * math.pi / w if w > 0.0 else math.inf for w in (max(self.omega), min(self.omega)))

    @property
    def changed(self) -> int:
        """Pairs whose frequency differs from plain RoPE (interpolated or blended)."""
        return sum(abs(r - 1.0) > CHANGED for r in self.ratio)

    def bands(self) -> dict[str, int]:
        """Pairs per band: untouched, interpolated (``w' <= w / s``), blended, and extrapolated.

        A pair is extrapolated when across the image it turns further than it did across the
        base length, where it made less than one turn: those phases were never seen in
        training. Untouched high-frequency pairs turned fully in training and are not.
        """
        untouched = len(self.ratio) - self.changed
        interpolated = sum(abs(r - 1.0) > CHANGED and r * self.scale <= 1.0 + CHANGED for r in self.ratio)
        extrapolated = 0
        for w_new, r in zip(self.omega, self.ratio):
            if w_new == 0.0:  # compressed to a standstill: it turns nowhere
                continue
            trained = (w_new / r) * self.base_len / (2 * math.pi)
            extrapolated += w_new * self.tokens / (2 * math.pi) > max(trained, 1.0) * (1.0 + CHANGED)
        return {
            "untouched": untouched,
            "interpolated": interpolated,
            "blended": len(self.ratio) - untouched - interpolated,
            "extrapolated": extrapolated,
        }


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


@dataclass(frozen=True)
class Plan:
    """DyPE's plan for one image size and sigma schedule."""

    layout: RotaryLayout
    settings: DyPESettings
    width: int
    height: int
    grid: tuple[int, int]
    scales: tuple[float, float]
    steps: tuple[Step, ...]
    frames: int = 1
    time_scale: float = 1.0

    @property
    def active(self) -> bool:
        """Whether any axis is above its base (and a method is chosen)."""
        return self.settings.method != "none" and max(*self.scales, self.time_scale) > 1.0

    def time_axis(self) -> str:
        """``T frames (trained T0): time x s, method`` for a video model; empty for an image model."""
        if self.layout.base_frames is None:
            return ""
        head = f"{self.frames} latent frames (trained {self.layout.base_frames:g})"
        if self.time_scale <= 1.0 or self.settings.for_time() is None:
            return f"{head}: time untouched"
        return f"{head}: time x{self.time_scale:.3g}, {self.settings.time_label}"

    @property
    def degenerate(self) -> bool:
        """Whether DyPE acts but its correction cannot relax: the last model call is still at
        ``t >= DEGENERATE_T`` (a time shift so high that every sigma stays near 1)."""
        return self.active and bool(self.settings.dynamic) and self.steps[-1].t >= DEGENERATE_T

    def size(self) -> str:
        """``W x H px -> W x H tokens (base W x H)``, and the padded size where the token grid
        covers more than the image."""
        rows, cols = self.grid
        px = self.layout.px_per_token
        base_rows, base_cols = (int(v) for v in self.layout.base_grid)
        text = f"{self.width}x{self.height} px -> {cols}x{rows} tokens (base {base_cols}x{base_rows})"
        if (cols * px, rows * px) != (self.width, self.height):
            text += f", padded to {cols * px}x{rows * px} px"
        return text

    def summary(self) -> str:
        """One line: size, grid, scale per axis, method, and whether DyPE acts."""
        time_axis = self.time_axis()
        video = f", {time_axis}" if time_axis else ""
        head = (
            f"{self.layout.name} {self.size()}, scale width {self.scales[1]:.3g} height {self.scales[0]:.3g}"
            f"{video}, {self.settings.label}"
        )
        if self.settings.method == "none":
            return f"{head}: inactive (method off)"
        if not self.active:
            return f"{head}: inactive, at or below the base resolution (plain RoPE, bitwise)"
        first, last = self.steps[0], self.steps[-1]
        line = (
            f"{head}, {len(self.steps)} steps: k(t) {first.kappa:.3g} -> {last.kappa:.3g}, "
            f"attention x{max(a.attention_scale for a in first.axes):.4g}"
        )
        if self.degenerate:
            line += (
                f"; degenerate schedule: sigma is still {last.sigma:.4g} at the last step, so k(t) cannot relax "
                "(the time shift is too high for this size; use time_shift model or base)"
            )
        return line

    def table(self) -> str:
        """The per-step table as fixed-width text."""
        names = [a.name for a in self.steps[0].axes] if self.steps else []
        header = f"{'step':>4} {'sigma':>7} {'t':>6} {'k(t)':>6}"
        if self.steps and self.steps[0].time is not None:
            names.append("time")
        for name in names:
            header += f" | {name + ': keep/blend/interp/extrap':<31} {'wavelengths (tokens)':<20}"
        lines = [self.summary(), header]
        for step in self.steps:
            line = f"{step.index:>4} {step.sigma:>7.4f} {step.t:>6.4f} {step.kappa:>6.4f}"
            for axis in (*step.axes, *(() if step.time is None else (step.time,))):
                bands = "/".join(str(n) for n in axis.bands().values())
                lo, hi = axis.wavelengths
                line += f" | {bands:<31} {lo:.3g} .. {hi:<12.4g}"
            lines.append(line)
        return "\n".join(lines)


def _axis_step(layout: RotaryLayout, freqs: frequencies.RotaryFrequencies, plain: torch.Tensor,
               scales: tuple[float, ...], axis: int, name: str, tokens: int) -> AxisStep:
    """One axis of one step: its frequencies against plain RoPE."""
    first, end = layout.pair_slices[axis]
    omega = freqs.omega[first:end]
    return AxisStep(
        name=name, tokens=tokens, base_len=layout.base_len(axis), scale=scales[axis],
        attention_scale=freqs.gains[axis], omega=tuple(omega.tolist()),
        ratio=tuple((omega / plain[first:end]).tolist()),
    )


def plan(
    layout: RotaryLayout,
    width: int,
    height: int,
    sigmas: Sequence[float] | torch.Tensor,
    settings: DyPESettings | None = None,
    time: Callable[[float], float] = sigma_to_t,
    frames: int = 1,
) -> Plan:
    """The plan for a ``width x height`` image (``frames`` latent frames of a video) sampled with
    ``sigmas`` (ending with the last one).

    One step per model call at ``sigmas[:-1]``, as the host's samplers do; ``time`` maps a
    sigma to diffusion time (``sigma_to_t`` for flow models with ``sigma_max = 1``).
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
    for index, sigma in enumerate(values[:-1]):
        t = time(sigma)
        active = settings.method != "none"
        freqs = frequencies.dype(layout, settings, scales if active else (1.0,) * len(scales), t)
        at = (layout, freqs, plain, scales)
        axes = (_axis_step(*at, layout.row_axis, "rows", rows), _axis_step(*at, layout.col_axis, "cols", cols))
        video = _axis_step(*at, layout.time_axis, "time", frames) if layout.base_frames is not None else None
        steps.append(Step(index=index, sigma=sigma, t=t, kappa=settings.kappa(t), axes=axes, time=video))
    time_scale = scales[layout.time_axis] if layout.base_frames is not None else 1.0
    return Plan(
        layout=layout, settings=settings, width=width, height=height, grid=(rows, cols),
        scales=(scales[layout.row_axis], scales[layout.col_axis]), steps=tuple(steps), frames=frames,
        time_scale=time_scale,
    )
