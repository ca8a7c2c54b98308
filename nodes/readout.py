"""What a sampling run of a DyPE-patched model reports: one log line and one small message.

The message goes to the browser tab that queued the prompt (``web/dype.js`` shows it on the
DyPE node). Headless runs (no server, or an API prompt without a client id) send nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from ..dype_core import Plan
from .time_shift import describe

log = logging.getLogger("DyPE")

#: The server-to-client event the frontend extension listens for.
EVENT = "dype.readout"


def readout(plan: Plan, node_id: str | None, mu: float | None, time_shift: str) -> dict[str, Any]:
    """A plan as a small JSON-able dict: the readout's text and its chart's data."""
    axes = range(len(plan.steps[0].axes)) if plan.steps else ()
    changed = [[step.axes[a].changed for step in plan.steps] for a in axes]
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
        "mu": None if mu is None else round(mu, 4),
        "time_shift": time_shift,
        "summary": plan.summary(),
        "t": [round(s.t, 4) for s in plan.steps],
        "kappa": [round(s.kappa, 4) for s in plan.steps],
        "pairs": len(plan.steps[0].axes[0].ratio) if plan.steps else 0,
        "changed": changed,
        "frames": plan.frames,
        "base_frames": plan.layout.base_frames,
        "time_scale": round(plan.time_scale, 4),
        "time_method": plan.settings.time_label,
        "time_changed": [s.time.changed for s in plan.steps if s.time is not None],
    }


def _prompt_server() -> Any | None:
    try:
        import server
    except ImportError:
        return None
    return getattr(getattr(server, "PromptServer", None), "instance", None)


def report(plan: Plan, node_id: str | None, mu: float | None, time_shift: str) -> None:
    """Log the run's plan and send its readout to the queuing browser tab, if there is one."""
    log.info("DyPE: %s; time shift %s", plan.summary(), describe(mu, time_shift))
    instance = _prompt_server()
    client = getattr(instance, "client_id", None)
    if instance is None or client is None or node_id is None:
        return
    instance.send_sync(EVENT, readout(plan, node_id, mu, time_shift), client)
