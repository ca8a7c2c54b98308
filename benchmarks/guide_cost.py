"""What the low-resolution guide adds to a sampling step, against the model's forward in the same run.

    python benchmarks/guide_cost.py [--repeats 5] [--device cuda]

1. The guide's per-step work (``dype_core.guide.guided``: the prediction's projection and the correction) on
   FLUX.1's real latent (16 channels, batch 1) at 2048^2 and 4096^2, with I-Max's block mean and HiFlow's
   Butterworth low-pass, and the new memory it allocates per step against one latent.
2. FLUX.1 [dev]'s forward at the same size, which this machine cannot run whole: its FLOPs counted from the
   model's shape (19 double and 38 single blocks of width 3072, 512 text tokens) and timed at the matrix
   throughput this device reaches in the same run (a bf16 matmul on CUDA, float32 on the CPU).
3. Whole sampling steps of the stand-in's tiny FLUX.1 (one double and one single block, width 128) through
   ``comfy.sample`` at 2048^2, unguided and guided. The tiny model makes the guide's share look large: its
   forward is about 10^4 times cheaper than FLUX.1's.

Times are medians of ``--repeats`` runs; ratios are against the unguided path of the same run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "standin"), str(ROOT / "tests")]

from pack import load_pack  # noqa: E402
from timing import median_seconds  # noqa: E402

load_pack()
from comfy.model_base import build_flux_patcher  # noqa: E402
from comfy.sample import sample as host_sample  # noqa: E402
from comfy_api.latest._standin import run_node  # noqa: E402
from comfyui_dype.dype_core import guide  # noqa: E402
from comfyui_dype.nodes.guide_node import DyPEGuide  # noqa: E402

SIDES = (2048, 4096)
TEXT, WIDTH, DOUBLE, SINGLE, MLP = 512, 3072, 19, 38, 4


def flux_flops(side: int) -> float:
    """Multiply-adds x 2 of one FLUX.1 [dev] forward at ``side``^2 px: the blocks' linear layers (a double block
    has q/k/v/out and a 4x MLP for each stream, a single block a fused qkv+MLP in and out) and attention."""
    tokens = (side // 16) ** 2 + TEXT
    double = 2 * tokens * (4 * WIDTH * WIDTH + 2 * MLP * WIDTH * WIDTH)
    single = 2 * tokens * (3 * WIDTH * WIDTH + MLP * WIDTH * WIDTH + WIDTH * WIDTH + MLP * WIDTH * WIDTH)
    attention = 2 * 2 * tokens * tokens * WIDTH
    return DOUBLE * (double + attention) + SINGLE * (single + attention)


def matmul_rate(device: str, repeats: int) -> float:
    """FLOP/s of a 4096^2 matmul on ``device`` (bf16 on CUDA, float32 on the CPU)."""
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    a, b = (torch.randn(4096, 4096, device=device, dtype=dtype) for _ in range(2))
    return 2 * 4096 ** 3 / median_seconds(lambda: a @ b, repeats, device)


def per_step(side: int, device: str, repeats: int, rate: float) -> str:
    latent = torch.randn(1, 16, side // 8, side // 8, device=device)
    target = torch.randn_like(latent)
    forward = flux_flops(side) / rate
    parts = []
    for name, projection in (("block mean", guide.BlockMean()), ("Butterworth", guide.Butterworth())):
        low = projection.low(target)
        seconds = median_seconds(lambda p=projection, g=low: guide.guided(latent, g, 0.7, p), repeats, device)
        new = _allocated(lambda p=projection, g=low: guide.guided(latent, g, 0.7, p), device)
        extra = f", new memory {new / latent.nbytes:.2f}x the latent" if new is not None else ""
        parts.append(f"{name} {seconds * 1e3:.2f} ms = {seconds / forward * 100:.4f}% of the forward{extra}")
    return (f"{side}^2 (latent {side // 8}^2, {latent.nbytes / 2**20:.0f} MiB): FLUX.1 forward "
            f"{flux_flops(side) / 1e15:.2f} PFLOP ~ {forward:.1f} s here; guide step: " + "; ".join(parts))


def _allocated(run, device: str) -> int | None:
    """Peak bytes ``run`` allocates beyond what was allocated before it (CUDA only)."""
    if device != "cuda":
        return None
    torch.cuda.synchronize()
    before = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    run()
    torch.cuda.synchronize()
    return torch.cuda.max_memory_allocated() - before


def tiny_steps(repeats: int) -> str:
    """Median seconds of a 4-step stand-in FLUX.1 sampling at 2048^2, unguided and guided."""
    model = build_flux_patcher("flux", seed=0)
    config = model.model.diffusion_model.params
    g = torch.Generator().manual_seed(1)
    cond = [[torch.randn(1, 8, config.context_in_dim, generator=g),
             {"pooled_output": torch.randn(1, 16, generator=g), "guidance": 3.5}]]
    latent = torch.zeros(1, 16, 256, 256)
    noise = torch.randn(latent.shape, generator=g)
    guided = run_node(DyPEGuide, model=model, guide={"samples": torch.randn(1, 16, 128, 128, generator=g)})[0]

    def sample(m):
        return lambda: host_sample(m, noise, 4, 1.0, "euler", "simple", cond, cond, latent, disable_pbar=True, seed=1)

    plain, with_guide = median_seconds(sample(model), repeats), median_seconds(sample(guided), repeats)
    return (f"stand-in FLUX.1 (tiny), 4 steps at 2048^2: unguided {plain:.2f} s, guided {with_guide:.2f} s "
            f"({with_guide / plain:.3f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    rate = matmul_rate(args.device, args.repeats)
    print(f"device {args.device}, torch {torch.__version__}, {torch.get_num_threads()} threads; "
          f"matmul {rate / 1e12:.2f} TFLOP/s")
    for side in SIDES:
        print(per_step(side, args.device, args.repeats, rate))
    print(tiny_steps(args.repeats))


if __name__ == "__main__":
    main()
