"""The ``DyPE`` node: MODEL in, MODEL out, patched for dynamic position extrapolation."""

from __future__ import annotations

import math
from typing import Any

from comfy_api.latest import io

from ..dype_core import menu
from ..dype_core.menu import (
    BASE_RESOLUTION_MAX,
    DEFAULT_METHOD,
    DEFAULT_PROPORTIONAL,
    LAMBDA_MAX,
    METHODS,
    MU_MAX,
    RAMPS,
    SCALINGS,
    TIME_AXIS,
    TIME_SHIFTS,
)
from .families import supported
from .patch import apply_dype


class FiniteMin(float):
    """The lower bound of a FLOAT input, refusing NaN in ComfyUI's own validation.

    ComfyUI refuses ``value < min`` and ``value > max``; both are false for NaN, which an API
    prompt can send (``NaN`` in its JSON, or the string ``"nan"``). As ``min`` this float subclass
    takes the comparison (Python asks the right operand first when its type subclasses the left
    one's) and counts NaN as below it, so NaN gets ComfyUI's usual single message, "Value nan
    smaller than min of 0.0". It is the plain number everywhere else (the schema's JSON included).
    """

    def __gt__(self, other: object) -> bool:  # ``other < self``
        if isinstance(other, float) and math.isnan(other):
            return True
        return float.__gt__(self, other)


class DyPE(io.ComfyNode):
    """Patches a RoPE diffusion-transformer MODEL so that it samples far above its training resolution.

    It has no ``validate_inputs``: ComfyUI then checks every input against the schema itself (type,
    range, menu), one message per problem, the same for the UI and for API prompts. What depends on
    the model (its family, the base resolution in whole tokens, the time shift against its
    sampling) is checked when the node runs and again when sampling starts.
    """

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="DyPE",
            display_name="DyPE / SEGA: sample above the training resolution",
            category="model_patches/resolution",
            search_aliases=["SEGA", "spectral energy guided attention", "proportional attention", "YaRN", "RIFLEx",
                            "high resolution", "4K", "position extrapolation"],
            description=(
                "Lets a RoPE diffusion transformer sample far above its training resolution (2K-16MP) in one pass, "
                "at no extra sampling cost, with the training-free method of your choice: DyPE (arXiv 2510.20766: "
                "position frequencies rescaled at every step from the noise level), SEGA (arXiv 2605.22668: "
                "every rotary pair scaled from the current latent's spectrum), or static PI / NTK / YaRN; with or "
                "without proportional attention. It extends video models (Wan, HunyuanVideo) past their trained "
                "clip length on the time axis. At or below the model's native resolution and clip length it "
                f"changes nothing. Supported: {supported()}."
            ),
            inputs=[
                io.Model.Input("model"),
                io.Combo.Input(
                    "method", options=list(METHODS), default=DEFAULT_METHOD,
                    tooltip="How positions beyond the training size are handled. SEGA (default): NTK positions with "
                    "each rotary pair scaled from the latent's spectrum at every step; its authors measured it above "
                    "DyPE on FLUX.1 and Qwen-Image at 4K-5K (ImageReward, patch-FID), and it beat Dy-YaRN in the "
                    "pack's lab. Dy-YaRN: the DyPE paper's best on FLUX.1 at 2K-4K. Dy-NTK, Dy-PI: DyPE's other "
                    "forms. The static forms compress the same at every step; in the pack's lab PI (static) kept "
                    "the layout best at 2x-4x, so try it "
                    "when objects break apart. off: the node does nothing, for A/B comparison (above the native "
                    "size the layout falls apart and texture repeats).",
                ),
                io.Float.Input(
                    "lambda_s", default=2.0, min=FiniteMin(0.0), max=LAMBDA_MAX, step=0.05, advanced=True,
                    tooltip="Strength of the schedule k(t) = lambda_s * t^lambda_t for Dy-NTK, Dy-PI and the "
                    "legacy YaRN ramp. Higher: early steps compress positions more (steadier global layout, "
                    "softer); lower: closer to plain positions (more detail, more risk of repetition).",
                ),
                io.Float.Input(
                    "lambda_t", default=2.0, min=FiniteMin(0.0), max=LAMBDA_MAX, step=0.05, advanced=True,
                    tooltip="How fast the extrapolation relaxes to plain positions as noise falls. Higher: "
                    "relaxes earlier, crisper fine detail; lower: holds the compressed layout longer, smoother.",
                ),
                io.Combo.Input(
                    "yarn_ramp", options=list(RAMPS), default="official", advanced=True,
                    tooltip="Dy-YaRN variant. official: the authors' current code. paper: the paper's single "
                    "ramp, slightly softer. legacy: the authors' pre-2026 code used by older ports (never fully "
                    "returns to plain positions; for reproducing old images).",
                ),
                io.Int.Input(
                    "base_resolution", default=0, min=0, max=BASE_RESOLUTION_MAX, step=16, advanced=True,
                    tooltip="The model's training resolution in px; 0 = auto, the family's own (1024 for most; "
                    "Qwen-Image 1328, HunyuanImage 2.1 2048, Lens 1440, Wan 1280). Only raise it for fine-tunes "
                    "trained larger: DyPE then starts acting at a larger size.",
                ),
                io.Combo.Input(
                    "scaling", options=list(SCALINGS), default="per-axis", advanced=True,
                    tooltip="per-axis: width and height extrapolate separately (right for panoramas and "
                    "portraits). isotropic: both by the larger factor (more compression on the short side).",
                ),
                io.Boolean.Input(
                    "attention_scale", default=True, advanced=True,
                    tooltip="YaRN's attention scaling (0.1 ln s + 1) on the scaled axes. On: sharper, keeps "
                    "contrast at large sizes. Off: softer. YaRN methods only (SEGA scales each pair its own way). "
                    "With proportional attention both apply (in the pack's lab that beat either alone).",
                ),
                io.Combo.Input(
                    "time_shift", options=list(TIME_SHIFTS), default="model",
                    tooltip="Noise schedule shift, as FLUX's mu (a shift s is mu = ln s). model (default): keep "
                    "what the model samples with, including a ModelSamplingFlux / ModelSamplingSD3 / AuraFlow node "
                    "upstream. base: the loaded checkpoint's own default, ignoring such a node (FLUX.1 dev mu 1.15, "
                    "the DyPE paper's; schnell shift 1). linear: mu rising linearly in image tokens from that "
                    "default at the native size (ComfyUI's FLUX rule; very high at 4K: most steps stay noisy, "
                    "smoother result). custom: the mu below.",
                ),
                io.Float.Input(
                    "mu", default=1.15, min=FiniteMin(0.0), max=MU_MAX, step=0.01, advanced=True,
                    tooltip="The mu of time_shift 'custom'. Higher spends more steps at high noise (layout), "
                    "lower more at low noise (detail).",
                ),
                io.Combo.Input(
                    "time_axis", options=list(TIME_AXIS), default="RIFLEx",
                    tooltip="Video models (Wan, HunyuanVideo) above their trained clip length (Wan 81 frames, "
                    "HunyuanVideo 129): how the time axis is extended, so the clip neither loops back to its "
                    "start nor freezes. RIFLEx (default): lowers only the one time frequency that would "
                    "complete a turn inside the longer clip (Zhao et al. 2025). Dy-RIFLEx: the same, relaxing "
                    "to plain positions as noise falls. follow method: the spatial method on time too. off: "
                    "plain time positions. Images and clips up to the trained length are never touched.",
                ),
                io.Boolean.Input(
                    "proportional_attention", default=DEFAULT_PROPORTIONAL, optional=True,
                    tooltip="Scales attention by sqrt(log N / log N_train) above the native size (Jin et al. 2023, "
                    "I-Max, Lumina-Next), so that attention over many more tokens stays as focused as in "
                    "training, with any method (default on). In the pack's lab it lowered the texture error in 47 "
                    "of 50 method-and-size pairs. Not available on Ernie-Image (turn it off there). At or below the "
                    "native size it changes nothing; workflows saved before it existed keep it off.",
                ),
            ],
            outputs=[io.Model.Output(tooltip="The model patched with DyPE; the input model is unchanged.")],
            hidden=[io.Hidden.unique_id],
            # The patch carries this node's id for its readout, so alike DyPE nodes must not share one output.
            # ComfyUI keys its cache on the node id only for nodes it deems not idempotent (its check for a
            # hidden unique id does not see a V3 node's), so without this two alike nodes would share one patch
            # and one node would show both runs' readouts.
            not_idempotent=True,
        )

    @classmethod
    def execute(
        cls, model: Any, method: str = DEFAULT_METHOD, lambda_s: float = 2.0, lambda_t: float = 2.0,
        yarn_ramp: str = "official", base_resolution: int = 0, scaling: str = "per-axis",
        attention_scale: bool = True, time_shift: str = "model", mu: float = 1.15, time_axis: str = "RIFLEx",
        proportional_attention: bool = False,
    ) -> io.NodeOutput:
        """The patched clone. ``proportional_attention`` is optional: an API prompt or a workflow saved before it
        existed samples as it did then (off); the widget's default applies to new nodes."""
        settings = menu.settings(method, lambda_s, lambda_t, yarn_ramp, scaling, attention_scale, time_axis,
                                 proportional_attention)
        menu.check_shift(time_shift, mu, base_resolution)
        node_id = cls.hidden.unique_id if cls.hidden is not None else None
        return io.NodeOutput(apply_dype(
            model, settings, base_resolution=base_resolution, time_shift_policy=time_shift, mu=mu, node_id=node_id,
        ))
