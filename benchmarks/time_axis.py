"""The table's cost with the time axis extrapolated, against the host's, in the same run.

    python benchmarks/time_axis.py [--repeats 5]

Wan 2.1 at 1280x720 and 241 frames (61 latent frames of 45 x 80 tokens, 219,600 tokens): the host's
``EmbedND`` on the ids Wan forms, then DyPE's replacement inside a step at ``t = 0.5`` with every time-axis
choice (time only: 1280 x 720 is inside Wan's spatial base), building every call (no per-run cache). Also the
81-frame clip, where DyPE is inactive and the host's embedder runs.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "standin"), str(ROOT / "tests")]

from comfy.ldm.flux.layers import EmbedND  # noqa: E402
from family_tables import median_ms  # noqa: E402  (this folder: the same timing as the family benchmark)
from pack import load_pack  # noqa: E402

load_pack()
from comfyui_dype.dype_core import DyPESettings  # noqa: E402
from comfyui_dype.nodes.context import STEP, Step  # noqa: E402
from comfyui_dype.nodes.embedder import DyPEEmbedder  # noqa: E402
from comfyui_dype.nodes.families import FAMILIES  # noqa: E402
from comfyui_dype.nodes.tokens import Block  # noqa: E402


def wan_ids(frames: int, rows: int, cols: int) -> torch.Tensor:
    grid = torch.meshgrid(*(torch.arange(n, dtype=torch.float32) for n in (frames, rows, cols)), indexing="ij")
    return torch.stack(grid, dim=-1).reshape(1, -1, 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    family = next(f for f in FAMILIES if f.name == "Wan")
    layout = family.layout
    host = EmbedND(dim=sum(layout.axes_dim), theta=layout.theta, axes_dim=list(layout.axes_dim))
    dype = DyPEEmbedder(host)
    rows, cols = 45, 80
    print(f"torch {torch.__version__}, CPU, {torch.get_num_threads()} threads; Wan 1280x720; median of {args.repeats}")
    print(f"{'clip':<24} {'tokens':>8} {'host ms':>8} {'DyPE ms':>8} {'ratio':>6}")
    for frames_px, time_axis in ((81, "riflex"), (241, "riflex"), (241, "dy-riflex"), (241, "follow")):
        frames = (frames_px - 1) // 4 + 1
        ids = wan_ids(frames, rows, cols)
        count = ids.shape[1]
        settings = replace(DyPESettings(), time=time_axis)
        scales = layout.axis_scales(rows, cols, settings.scaling, frames)
        host_ms = median_ms(host, ids, args.repeats)
        if max(scales) == 1.0:
            dype_ms = host_ms  # inactive: the node hands the call to the host's embedder
        else:
            step = Step(family=family, layout=layout, settings=settings, t=0.5, scales=scales, frames=frames,
                        grid=(rows, cols), tokens=Block(slice(0, count), count), exact_ids=True)
            token = STEP.set(step)
            try:
                dype_ms = median_ms(dype, ids, args.repeats)
            finally:
                STEP.reset(token)
        label = f"{frames_px} frames, {time_axis}" if max(scales) > 1.0 else f"{frames_px} frames (inactive)"
        print(f"{label:<24} {count:>8} {host_ms:8.1f} {dype_ms:8.1f} {dype_ms / host_ms:6.2f}")


if __name__ == "__main__":
    main()
