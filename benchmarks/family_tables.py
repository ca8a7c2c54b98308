"""Per-family table cost at twice each family's native size: DyPE's embedder against the host's, same run.

    python benchmarks/family_tables.py [--repeats 5] [--scale 2]

For every family DyPE supports it forms the ids the model would pass at ``scale`` x its native size (512 text
tokens where the family has text ids), then times the host's embedder (the stand-in's, written from the host's
recipe: FLUX's ``EmbedND``, HiDream's, Ernie's split-half, Cosmos's grid embedder, JoyImage's table method)
and DyPE's replacement inside a step at ``t = 0.5`` with the default Dy-YaRN, building every call (no per-run
cache). The rest of a forward is unchanged by DyPE, so the difference is DyPE's whole per-call cost.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "standin"), str(ROOT / "tests")]

from comfy.ldm.cosmos.position_embedding import VideoRopePosition3DEmb  # noqa: E402
from comfy.ldm.ernie.model import ErnieImageEmbedND3  # noqa: E402
from comfy.ldm.flux.layers import EmbedND  # noqa: E402
from comfy.ldm.hidream.model import EmbedND as HiDreamEmbedND  # noqa: E402
from comfy.ldm.joyimage.model import JoyImageTransformer3DModel  # noqa: E402
from pack import load_pack  # noqa: E402
from timing import median_seconds  # noqa: E402

load_pack()
from comfyui_dype.dype_core import DyPESettings  # noqa: E402
from comfyui_dype.nodes.context import STEP, Step  # noqa: E402
from comfyui_dype.nodes.embedder import DyPEComponentTable, DyPEEmbedder, DyPEGridEmbedder  # noqa: E402
from comfyui_dype.nodes.families import FAMILIES  # noqa: E402
from comfyui_dype.nodes.families.family import Family  # noqa: E402
from comfyui_dype.nodes.tokens import Block  # noqa: E402

TEXT = 512


def host_embedder(family: Family) -> Callable:
    layout = family.layout
    dims = list(layout.axes_dim)
    if family.source == "components":
        model = JoyImageTransformer3DModel(rope_dim_list=dims, theta=layout.theta)
        return model.get_rotary_pos_embed_for_components
    if family.source == "grid":
        return VideoRopePosition3DEmb(head_dim=sum(dims), h_extrapolation_ratio=4.0, w_extrapolation_ratio=4.0)
    if family.name == "HiDream-I1":
        return HiDreamEmbedND(theta=layout.theta, axes_dim=dims)
    if family.name == "Ernie-Image":
        return ErnieImageEmbedND3(dim=sum(dims), theta=layout.theta, axes_dim=dims)
    return EmbedND(dim=sum(dims), theta=layout.theta, axes_dim=dims)


def case(family: Family, scale: float) -> tuple[Any, Step, Callable, Callable]:
    """The family's input at ``scale`` x native, a DyPE step for it, the host's embedder and DyPE's."""
    layout = family.layout
    rows, cols = (round(side * scale / layout.px_per_token) for side in family.native)
    axes = len(layout.axes_dim)
    grid = torch.zeros(rows, cols, axes)
    grid[..., layout.row_axis] = torch.arange(rows, dtype=torch.float32)[:, None]
    grid[..., layout.col_axis] = torch.arange(cols, dtype=torch.float32)
    host = host_embedder(family)
    if family.source == "grid":
        inputs = torch.zeros(1, 1, rows, cols, 1)
        image = slice(0, rows * cols)
        dype = DyPEGridEmbedder(host)
    elif family.source == "components":
        inputs = [(1, rows, cols)]
        image = slice(0, rows * cols)
        dype = DyPEComponentTable(host)
    else:
        inputs = torch.cat([torch.zeros(1, TEXT, axes), grid.reshape(1, -1, axes)], dim=1)
        image = slice(TEXT, TEXT + rows * cols)
        dype = DyPEEmbedder(host)
    step = Step(family=family, layout=layout, settings=DyPESettings(), t=0.5,
                scales=layout.axis_scales(rows, cols), frames=1, grid=(rows, cols),
                tokens=Block(image, rows * cols), exact_ids=family.exact_ids)
    return inputs, step, host, dype


def median_ms(embedder: Callable, inputs: Any, repeats: int) -> float:
    """The median milliseconds of ``embedder(inputs)`` (``timing.median_seconds``)."""
    return median_seconds(lambda: embedder(inputs), repeats) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--scale", type=float, default=2.0)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, CPU, {torch.get_num_threads()} threads; {args.scale}x native; "
          f"median of {args.repeats}")
    print(f"{'family':<26} {'image':>11} {'tokens':>7} {'host ms':>8} {'DyPE ms':>8} {'ratio':>6}")
    for family in FAMILIES:
        inputs, step, host, dype = case(family, args.scale)
        host_ms = median_ms(host, inputs, args.repeats)
        token = STEP.set(step)
        try:
            dype_ms = median_ms(dype, inputs, args.repeats)
        finally:
            STEP.reset(token)
        rows, cols = step.grid
        size = f"{cols * step.layout.px_per_token}x{rows * step.layout.px_per_token}"
        tokens = inputs.shape[1] if torch.is_tensor(inputs) and inputs.ndim == 3 else rows * cols
        print(f"{family.name:<26} {size:>11} {tokens:>7} {host_ms:8.1f} {dype_ms:8.1f} {dype_ms / host_ms:6.2f}")


if __name__ == "__main__":
    main()
