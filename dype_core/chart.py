"""A picture of a plan: the frequency allocation of each spatial axis over the steps."""

from __future__ import annotations

import io
import math

from .plan import Plan


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise RuntimeError("drawing a plan needs matplotlib: pip install matplotlib") from error
    return plt


def render_png(plan: Plan) -> bytes:
    """The plan as a PNG: one heatmap per spatial axis of ``log2(w'_i / w_i)`` over steps and
    pairs (white: untouched; blue: compressed), and the schedule ``k(t)`` below."""
    plt = _pyplot()
    axes_steps = [[step.axes[a] for step in plan.steps] for a in range(len(plan.steps[0].axes))]
    floor = min(min(math.log2(r) for axis in axes_steps for a in axis for r in a.ratio), -1e-3)
    figure, panels = plt.subplots(
        1, len(axes_steps) + 1, figsize=(4.2 * (len(axes_steps) + 1), 4.0), constrained_layout=True
    )
    for panel, axis in zip(panels, axes_steps):
        grid = [[math.log2(r) for r in a.ratio] for a in axis]
        image = panel.imshow(
            list(map(list, zip(*grid))), aspect="auto", origin="lower", cmap="Blues_r",
            vmin=floor, vmax=0.0, interpolation="nearest",
        )
        panel.set_title(f"{axis[0].name}: s = {axis[0].scale:.3g}, attention x{axis[0].attention_scale:.3g}")
        panel.set_xlabel("step")
        panel.set_ylabel("pair i (high -> low frequency)")
        figure.colorbar(image, ax=panel, label="log2(w' / w)")
    schedule = panels[-1]
    steps = [s.index for s in plan.steps]
    schedule.plot(steps, [s.t for s in plan.steps], label="t (sigma / sigma_max)")
    schedule.plot(steps, [s.kappa for s in plan.steps], label="k(t)")
    schedule.set_xlabel("step")
    schedule.set_title("schedule")
    schedule.legend()
    figure.suptitle(plan.summary(), fontsize=9)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    return buffer.getvalue()
