"""The ``DyPEGuide`` node: MODEL + the native-size sample -> MODEL whose sampling keeps that sample's layout."""

from __future__ import annotations

from typing import Any

from comfy_api.latest import io

from ..dype_core import menu
from ..dype_core.menu import DEFAULT_GUIDE_PROJECTION, DEFAULT_GUIDE_STRENGTH, GUIDE_PROJECTIONS, GUIDE_STRENGTH_MAX
from .dype_node import FiniteMin
from .guide import apply_guide


class DyPEGuide(io.ComfyNode):
    """Guides a high-resolution pass with a native-size sample (I-Max's projected flow, HiFlow's low-pass)."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="DyPEGuide",
            display_name="DyPE Guide: keep the native sample's layout",
            category="model_patches/resolution",
            search_aliases=["I-Max", "projected flow", "HiFlow", "low-resolution guide", "hires fix", "layout"],
            description=(
                "Makes a large image keep the layout of a native-size sample of the same prompt. Sample the native "
                "size first (where the model is at its best), upscale the latent (or let this node do it), and "
                "connect it as the guide: at every step of the large image's sampling the model's clean-image "
                "prediction has its low frequencies pulled toward the guide's, fully at the first step and not at "
                "all at the last (I-Max's projected flow, arXiv 2410.07536), so the fine detail stays the model's "
                "own. Works with any sampler and scheduler, and with the DyPE node before or after it."
            ),
            inputs=[
                io.Model.Input("model", tooltip="The model for the large image (with DyPE / SEGA or without)."),
                io.Latent.Input(
                    "guide", tooltip="The native-size sample of the same prompt (the first KSampler's output), at "
                    "native size or already upscaled; a different size or aspect is resized to the sampled latent. "
                    "A video's guide is a native-size clip, resized in space and frames."),
                io.Float.Input(
                    "strength", default=DEFAULT_GUIDE_STRENGTH, min=FiniteMin(0.0), max=GUIDE_STRENGTH_MAX, step=0.05,
                    tooltip="How strongly the layout follows the guide: it multiplies I-Max's weights, which fall "
                    "from 1 at the first step to 0 at the last. 1 (default): I-Max's own. Lower: freer layout. "
                    "0: off (the model samples exactly as without this node)."),
                io.Combo.Input(
                    "projection", options=list(GUIDE_PROJECTIONS), default=DEFAULT_GUIDE_PROJECTION, advanced=True,
                    tooltip="Which frequencies follow the guide. I-Max block mean (default): the mean of every 2x2 "
                    "latent patch (I-Max's code). HiFlow Butterworth: a smooth low-pass (HiFlow, arXiv 2504.06232); "
                    "in the pack's lab it drew slightly closer texture up to 1.5x and on plain RoPE, and worse "
                    "texture at 3x-4x with SEGA."),
            ],
            outputs=[io.Model.Output(tooltip="The guided model; the input model and the guide are unchanged.")],
        )

    @classmethod
    def execute(cls, model: Any, guide: Any, strength: float = DEFAULT_GUIDE_STRENGTH,
                projection: str = DEFAULT_GUIDE_PROJECTION) -> io.NodeOutput:
        project = menu.guide_projection(strength, projection)
        samples = guide.get("samples") if isinstance(guide, dict) else None
        if samples is None:
            raise ValueError("DyPE Guide: connect a LATENT as the guide: the native-size sample of the same prompt.")
        return io.NodeOutput(apply_guide(model, samples, strength, project, label=projection))
