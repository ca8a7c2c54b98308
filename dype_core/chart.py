"""A picture of a plan: the frequency allocation of each spatial axis over the steps."""

from __future__ import annotations

import io
import math
import textwrap

import numpy as np

from .plan import Plan


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise RuntimeError("drawing a plan needs matplotlib: pip install matplotlib") from error
    return plt


def _figure(plan: Plan):
    """One heatmap per spatial axis (and a video's time axis) of ``log2(w'_i / w_i)`` over steps and
    pairs (white: untouched; blue: compressed), and the schedule ``t``, ``k(t)`` (and a low-resolution
    guide's weight) beside them."""
    plt = _pyplot()
    per_axis = list(zip(*(step.all_axes for step in plan.steps)))  # each axis over the steps
    floor = min(min(math.log2(r) for axis in per_axis for a in axis for r in a.ratio), -1.0)
    # Fixed margins: a layout engine would cost more time than all the drawing.
    figure, panels = plt.subplots(1, len(per_axis) + 1, figsize=(4.4 * (len(per_axis) + 1), 4.0))
    figure.subplots_adjust(left=0.05, right=0.98, bottom=0.12, top=0.8, wspace=0.35)
    for panel, axis in zip(panels, per_axis):
        grid = np.array([[math.log2(r) for r in a.ratio] for a in axis]).T
        image = panel.imshow(grid, aspect="auto", origin="lower", cmap="Blues_r", vmin=floor, vmax=0.0,
                             interpolation="nearest")
        unit = "latent frames" if axis[0].name == "time" else "tokens"
        panel.set_title(f"{axis[0].name}: {axis[0].tokens} {unit}, s = {axis[0].scale:.3g}, "
                        f"attention x{axis[0].attention_scale:.3g}", fontsize=9)
        panel.set_xlabel("step")
        panel.set_ylabel("pair i (high -> low frequency)")
        figure.colorbar(image, ax=panel, label="log2(w' / w)")
    schedule = panels[-1]
    steps = [s.index for s in plan.steps]
    schedule.plot(steps, [s.t for s in plan.steps], label="t (diffusion time)")
    schedule.plot(steps, [s.kappa for s in plan.steps], label="k(t)")
    if plan.guide:
        schedule.plot(steps, plan.guide, label="guide weight")
    schedule.set_xlabel("step")
    schedule.set_ylim(0.0, 1.05 * max(1.0, *(s.kappa for s in plan.steps)))  # no autoscaled offset
    schedule.set_title("schedule")
    schedule.legend()
    if not plan.active:
        reason = textwrap.fill(f"DyPE {plan.inactive_reason()}", 40)
        figure.text(0.5, 0.5, reason, ha="center", va="center", fontsize=16, color="#b00020",
                    bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "#b00020"})
    figure.suptitle(textwrap.fill(plan.summary(), 190), fontsize=9)
    return plt, figure


def render_png(plan: Plan) -> bytes:
    """The plan's chart as PNG bytes."""
    plt, figure = _figure(plan)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    return buffer.getvalue()


def render_rgb(plan: Plan) -> np.ndarray:
    """The plan's chart as an RGB image, ``uint8 [height, width, 3]``."""
    plt, figure = _figure(plan)
    figure.set_dpi(100)
    figure.canvas.draw()
    pixels = np.asarray(figure.canvas.buffer_rgba())[..., :3].copy()
    plt.close(figure)
    return pixels
