"""The ``DyPEPlan`` node: what DyPE will do at a size and schedule, as a chart and a table."""

from __future__ import annotations

from typing import Any

import torch
from comfy.samplers import SCHEDULER_NAMES, calculate_sigmas
from comfy_api.latest import io

from ..dype_core.chart import render_rgb
from .guide import installed
from .patch import patch_of


def _size(patch: Any, latent: dict | None, width: int, height: int) -> tuple[int, int]:
    """``(width, height)`` in pixels: the latent's, or without one the inputs' rounded down to whole latent
    pixels (the image an empty latent of that size decodes to)."""
    if latent is not None:
        samples = latent.get("samples") if isinstance(latent, dict) else None
        if not isinstance(samples, torch.Tensor) or samples.ndim < 4:
            raise ValueError("DyPE Plan: the LATENT input holds no latent image ('samples' [batch, channels, h, w])")
        return patch.pixels(samples)
    if width < patch.layout.px_per_token or height < patch.layout.px_per_token:
        raise ValueError(
            f"DyPE Plan: connect a LATENT, or set width and height to at least one {patch.layout.name} token "
            f"({patch.layout.px_per_token} px); got {width}x{height}"
        )
    downscale = patch.layout.latent_downscale  # the latent an empty-latent node makes: whole latent pixels
    return width // downscale * downscale, height // downscale * downscale


class DyPEPlan(io.ComfyNode):
    """Shows DyPE's per-step frequency plan for a model, image size and schedule; samples nothing."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="DyPEPlan",
            display_name="DyPE Plan",
            category="model_patches/resolution",
            description=(
                "Draws what DyPE does at this image size and schedule: per spatial axis, which RoPE frequency "
                "bands are untouched, blended or compressed at each step, k(t), the attention scale and each "
                "axis's scale factor, and the weight of a DyPE Guide on the model at every step. With an unpatched "
                "model it shows what the default DyPE would do."
            ),
            inputs=[
                io.Model.Input("model", tooltip="A DyPE-patched model (shows its settings) or any supported model."),
                io.Latent.Input("latent", optional=True, tooltip="The latent to be sampled; overrides width/height."),
                io.Int.Input("width", default=1024, min=0, max=32768, step=16,
                             tooltip="Image width in px, used when no latent is connected."),
                io.Int.Input("height", default=1024, min=0, max=32768, step=16,
                             tooltip="Image height in px, used when no latent is connected."),
                io.Sigmas.Input("sigmas", optional=True,
                                tooltip="A schedule from a scheduler node; overrides steps and scheduler."),
                io.Int.Input("steps", default=28, min=1, max=1000, tooltip="Steps, when no sigmas are connected."),
                io.Combo.Input("scheduler", options=list(SCHEDULER_NAMES), default="simple",
                               tooltip="Scheduler, when no sigmas are connected."),
            ],
            outputs=[
                io.Image.Output(display_name="chart", tooltip="The frequency allocation over the steps."),
                io.String.Output(display_name="table", tooltip="The per-step plan as text."),
            ],
        )

    @classmethod
    def execute(
        cls, model: Any, latent: dict | None = None, width: int = 1024, height: int = 1024,
        sigmas: torch.Tensor | None = None, steps: int = 28, scheduler: str = "simple",
    ) -> io.NodeOutput:
        patch = patch_of(model)
        size = _size(patch, latent, width, height)
        frames = patch.geometry(latent["samples"])[0] if latent is not None else 1
        sampling = model.get_model_object("model_sampling")
        if sigmas is None:
            if scheduler not in SCHEDULER_NAMES:
                raise ValueError(f"DyPE Plan: scheduler {scheduler!r} is not one of: {', '.join(SCHEDULER_NAMES)}")
            sigmas = calculate_sigmas(sampling, scheduler, steps)
        if sigmas.numel() < 2:
            raise ValueError(
                f"DyPE Plan: the sigmas hold {sigmas.numel()} value(s); a schedule needs at least two (steps + 1)"
            )
        guide = installed(model.model_options)
        _, result, mu = patch.run_plan(size, sigmas.flatten(), sampling, frames,
                                       guide_strength=None if guide is None else guide.strength)
        table = result.table()
        chart = torch.from_numpy(render_rgb(result)).float().div(255.0).unsqueeze(0)
        return io.NodeOutput(chart, table)
