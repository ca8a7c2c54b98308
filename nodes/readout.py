"""What a sampling run of a DyPE-patched model reports: one log line and one small message.

Both come from the plan of what the run's model calls received (``Patch.seen_plan``), made once
sampling has ended. The message goes to the browser tab that queued the prompt (``web/dype.js``
shows it on the DyPE node). Headless runs (no server, or an API prompt without a client id) send
nothing.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

from ..dype_core import Plan

log = logging.getLogger("DyPE")

#: The server-to-client event the frontend extension listens for.
EVENT = "dype.readout"


#: Sizes named in full in the summary when the model calls saw several; the rest are counted.
NAMED_SIZES = 3


def sizes_text(plan: Plan, sizes: Sequence[Sequence[int]]) -> str:
    """``; model calls at 2 sizes: 64x64 and 32x32 tokens`` (width x height) when the model calls saw more
    than one ``(frames, rows, cols)`` size (a video's as ``21 frames of 64x64``); empty otherwise."""
    if len(sizes) < 2:
        return ""
    video = plan.layout.base_frames is not None
    names = [f"{frames} frames of {cols}x{rows}" if video else f"{cols}x{rows}" for frames, rows, cols in sizes]
    shown = names[:NAMED_SIZES]
    listed = f"{', '.join(shown[:-1])} and {shown[-1]}" if len(names) <= NAMED_SIZES else \
        f"{', '.join(shown)} and {len(names) - NAMED_SIZES} more"
    return f"; model calls at {len(names)} sizes: {listed} tokens"


def summary(plan: Plan, sizes: Sequence[Sequence[int]] = ()) -> str:
    """The plan's one line, and the model calls' sizes when they saw several."""
    return plan.summary() + sizes_text(plan, sizes)


def readout(plan: Plan, node_id: str | None, sizes: Sequence[Sequence[int]] = ()) -> dict[str, Any]:
    """A plan as a small JSON-able dict: the readout's text and its chart's data. ``sizes`` are the
    ``(frames, rows, cols)`` sizes the run's model calls saw, the plan's first (empty: the plan's only).

    ``active`` and ``time_active`` say whether some table entry really changes (spatial or time);
    ``time_method`` is ``off`` when the time axis is kept plain whatever its length (time_axis or method
    off); ``degenerate_cause`` is the plan's own cause and advice (empty when not degenerate). ``attention``
    names what changes the attention, one entry each (YaRN's factor, SEGA's magnitudes, proportional
    attention), ``magnitudes`` holds SEGA's smallest and largest gain per step and axis (empty for
    other methods) and ``guide`` the low-resolution guide's weight per step (empty without a guide)."""
    axes = range(len(plan.steps[0].axes)) if plan.steps else ()
    changed = [[step.axes[a].changed for step in plan.steps] for a in axes]
    seen = [[int(v) for v in size] for size in sizes] or [[plan.frames, *plan.grid]]
    return {
        "node": node_id,
        "model": plan.layout.name,
        "width": plan.width,
        "height": plan.height,
        "grid": list(plan.grid),
        "base": [int(v) for v in plan.layout.base_grid],
        "scales": [round(s, 4) for s in plan.scales],
        "method": plan.settings.label,
        "active": plan.active,
        "degenerate": plan.degenerate,
        "degenerate_cause": plan.degenerate_cause(),
        "mu": None if plan.mu is None or not math.isfinite(plan.mu) else round(plan.mu, 4),  # JSON has no inf
        "time_shift": plan.time_shift,
        "summary": summary(plan, sizes),
        "t": [round(s.t, 4) for s in plan.steps],
        "kappa": [round(s.kappa, 4) for s in plan.steps],
        "pairs": len(plan.steps[0].axes[0].ratio) if plan.steps else 0,
        "changed": changed,
        "frames": plan.frames,
        "base_frames": plan.layout.base_frames,
        "time_scale": round(plan.time_scale, 4),
        "time_method": plan.settings.time_label if plan.settings.for_time() is not None else "off",
        "time_active": plan.time_active,
        "time_changed": [s.time.changed for s in plan.steps if s.time is not None],
        "sizes": seen,
        "attention": plan.attention_parts() if plan.active else [],
        "magnitudes": [[[round(v, 4) for v in step.axes[a].gain_range] for a in axes] for step in plan.steps]
        if plan.settings.method == "sega" else [],
        "guide": [round(w, 4) for w in plan.guide],
    }


def _prompt_server() -> Any | None:
    try:
        import server
    except ImportError:
        return None
    return getattr(getattr(server, "PromptServer", None), "instance", None)


def report(plan: Plan, node_id: str | None, sizes: Sequence[Sequence[int]] = ()) -> None:
    """Log the run's plan and send its readout to the queuing browser tab, if there is one."""
    log.info("DyPE: %s", summary(plan, sizes))
    instance = _prompt_server()
    client = getattr(instance, "client_id", None)
    if instance is None or client is None or node_id is None:
        return
    instance.send_sync(EVENT, readout(plan, node_id, sizes), client)


def report_no_calls(model: str, why: str = "") -> None:
    """Log that a sampling run ended without a plan to report: no model call reached DyPE, or ``why`` (no readout
    is sent)."""
    if why:
        log.info("DyPE: %s: %s, so the run has no plan to report", model, why)
        return
    log.info("DyPE: %s: no model call reached DyPE in this sampling run (a cache or another wrapper skipped them "
             "all, or the schedule has no step), so it has no plan to report", model)
