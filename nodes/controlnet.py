"""ControlNets see the same positions as the DyPE-patched model they control.

FLUX ControlNets carry their own rotary embedder and run outside the diffusion model's
forward call (``get_control``, inside the host's cond batch), so the model's patch does not
reach them. At the start of each sampling run, every FLUX ControlNet in the run's
conditioning is replaced by a copy whose control-model patcher carries a ``DyPEEmbedder``
as an object patch (the shared control model is never touched). A CALC_COND_BATCH wrapper
sets ``CONTROL_STEP`` with the step's sigma and the latent's grid, so the ControlNet's image
tokens (the last ``rows x cols`` of its ids, built in the model dtype) get exactly the
DyPE table of the model at that step.
"""

from __future__ import annotations

from typing import Any

from .context import CONTROL_STEP
from .embedder import DyPEEmbedder, host_embedder
from .families import class_name

#: Control models whose rotary embedder DyPE patches: class -> embedder path on the model.
FLUX_CONTROL_MODELS = {"comfy.ldm.flux.controlnet.ControlNetFlux": "pe_embedder"}


class UnsupportedControlNet(ValueError):
    """A ControlNet with rotary positions DyPE cannot reach."""


def with_dype(control: Any, copies: dict[int, Any]) -> Any:
    """``control`` (and the chain of ControlNets behind it) ready for DyPE; ``copies`` memoises."""
    if control is None:
        return None
    if id(control) in copies:
        return copies[id(control)]
    previous = with_dype(getattr(control, "previous_controlnet", None), copies)
    model = getattr(control, "control_model", None)
    path = FLUX_CONTROL_MODELS.get(class_name(model)) if model is not None else None
    if path is None and model is not None and hasattr(model, "pe_embedder"):
        raise UnsupportedControlNet(
            f"DyPE cannot give the ControlNet {type(model).__name__} ({class_name(model)}) the model's positions; "
            f"supported ControlNets: FLUX.1 ControlNets ({', '.join(FLUX_CONTROL_MODELS)}). "
            "Remove DyPE or this ControlNet."
        )
    if path is None and previous is getattr(control, "previous_controlnet", None):
        copies[id(control)] = control
        return control
    copy = control.copy()
    copy.set_previous_controlnet(previous)
    if path is not None:
        patcher = control.control_model_wrapped.clone()
        patcher.add_object_patch(path, DyPEEmbedder(host_embedder(patcher.get_model_object(path)), CONTROL_STEP))
        copy.control_model_wrapped = patcher
    copies[id(control)] = copy
    return copy


def patch_run_controls(conds: dict[str, list[dict]]) -> None:
    """Swap the ControlNets of one run's conditioning (per-run copies of the cond dicts)."""
    copies: dict[int, Any] = {}
    for entries in conds.values():
        for entry in entries:
            if entry.get("control") is not None:
                entry["control"] = with_dype(entry["control"], copies)
