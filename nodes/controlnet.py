"""ControlNets see the same positions as the DyPE-patched model they control.

ComfyUI runs a conditioning's ControlNets in ``get_control``, inside the host's cond batch and
before the diffusion model's forward call, so the model's forward-time context does not reach
them. A ``CALC_COND_BATCH`` wrapper sets ``CONTROL_STEP`` for the cond batch, with the step's
sigma and the latent's grid (the ControlNet's image tokens are the last ``rows x cols`` of its
ids, rebuilt exactly from the grid), and:

- a ControlNet with its own rotary embedder (FLUX.1's ``ControlNetFlux``, Qwen-Image's
  InstantX-style ``QwenImageControlNetModel``) is replaced, at the start of each sampling run,
  by a copy whose control-model patcher carries a ``DyPEEmbedder`` as an object patch (the
  shared control model is never touched), after checking that its embedder has the model's
  rotary layout;
- a ControlNet that calls the model's own embedder (Qwen-Image's Fun ControlNet, through the
  ``base_model`` ComfyUI hands it) reaches the model's ``DyPEEmbedder``, which answers to
  ``CONTROL_STEP`` outside the forward call;
- any other ControlNet with a rotary embedder of its own is refused by name.

Control models that run inside the forward call and take the model's table as an argument
(Z-Image's Fun ControlNet, Wan VACE) get DyPE's table with the model; those without rotary
positions (Qwen-Image's DiffSynth patch, Wan Fun Control) need nothing. A control patch that
builds a table of its own inside the forward, which no DyPE table can match (Wan's Uni3C), stops
a run above the native size with its name and the reason (``refuse_unreachable_patches``).
"""

from __future__ import annotations

from typing import Any

from ..dype_core import RotaryLayout
from .context import CONTROL_STEP
from .embedder import DyPEEmbedder, host_embedder
from .families import class_name

#: Control models with their own rotary embedder that DyPE patches: class -> embedder path on the model.
CONTROL_MODELS = {
    "comfy.ldm.flux.controlnet.ControlNetFlux": "pe_embedder",
    "comfy.ldm.qwen_image.controlnet.QwenImageControlNetModel": "pe_embedder",
}


#: Control patches (``transformer_options["patches"]``) with a rotary table of their own that cannot be the
#: model's: class -> why.
UNREACHABLE_PATCHES = {
    "comfy_extras.nodes_model_patch.WanUni3CCnetPatch": (
        "Wan's Uni3C ControlNet builds its own rotary table inside the model call, for its own head size "
        "(its width / 16, not Wan's), from plain positions, so no DyPE table can match the model's"),
}


class UnsupportedControlNet(ValueError):
    """A ControlNet with rotary positions DyPE cannot reach."""


def refuse_unreachable_patches(options: dict[str, Any]) -> None:
    """``UnsupportedControlNet`` naming the first control patch of a model call's ``transformer_options`` that
    DyPE cannot give the model's positions (``UNREACHABLE_PATCHES``)."""
    for patches in options.get("patches", {}).values():
        for patch in patches:
            why = UNREACHABLE_PATCHES.get(class_name(patch))
            if why is not None:
                raise UnsupportedControlNet(
                    f"DyPE cannot sample above the native size with {type(patch).__name__}: {why}. Sample at the "
                    "native size, or remove DyPE or this ControlNet."
                )


def _check_layout(model: Any, embedder: Any, layout: RotaryLayout) -> None:
    """``UnsupportedControlNet`` unless the control model's embedder has the DyPE model's rotary layout (the
    same theta and axes), so that the model's DyPE table is the one it would build."""
    theta, axes = getattr(embedder, "theta", None), getattr(embedder, "axes_dim", None)
    if theta is None or axes is None or float(theta) != layout.theta or tuple(axes) != tuple(layout.axes_dim):
        raise UnsupportedControlNet(
            f"DyPE cannot give the ControlNet {type(model).__name__} the model's positions: its rotary embedder "
            f"(theta {theta}, axes {axes}) differs from the {layout.name} model's (theta {layout.theta:g}, axes "
            f"{list(layout.axes_dim)}). Use a ControlNet made for this model, or remove DyPE."
        )


def with_dype(control: Any, copies: dict[int, Any], layout: RotaryLayout) -> Any:
    """``control`` (and the chain of ControlNets behind it) ready for DyPE on a model of rotary ``layout``;
    ``copies`` memoises."""
    if control is None:
        return None
    if id(control) in copies:
        return copies[id(control)]
    previous = with_dype(getattr(control, "previous_controlnet", None), copies, layout)
    model = getattr(control, "control_model", None)
    path = CONTROL_MODELS.get(class_name(model)) if model is not None else None
    if path is None and model is not None and hasattr(model, "pe_embedder"):
        raise UnsupportedControlNet(
            f"DyPE cannot give the ControlNet {type(model).__name__} ({class_name(model)}) the model's positions; "
            f"supported ControlNets with their own rotary embedder: {', '.join(CONTROL_MODELS)}. "
            "Remove DyPE or this ControlNet."
        )
    if path is None and previous is getattr(control, "previous_controlnet", None):
        copies[id(control)] = control
        return control
    copy = control.copy()
    copy.set_previous_controlnet(previous)
    if path is not None:
        patcher = control.control_model_wrapped.clone()
        embedder = host_embedder(patcher.get_model_object(path))
        _check_layout(model, embedder, layout)
        patcher.add_object_patch(path, DyPEEmbedder(embedder, (CONTROL_STEP,)))
        copy.control_model_wrapped = patcher
    copies[id(control)] = copy
    return copy


def patch_run_controls(conds: dict[str, list[dict]], layout: RotaryLayout) -> None:
    """Swap the ControlNets of one run's conditioning (per-run copies of the cond dicts) for a model of rotary
    ``layout``."""
    copies: dict[int, Any] = {}
    for entries in conds.values():
        for entry in entries:
            if entry.get("control") is not None:
                entry["control"] = with_dype(entry["control"], copies, layout)
