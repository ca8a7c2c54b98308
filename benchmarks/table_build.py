"""Table build cost: DyPE's tables against the host's plain FLUX.1 recipe, in the same run.

    python benchmarks/table_build.py [--repeats 7] [--device cpu|cuda]

For grids of 1024^2 .. 6144^2 px (plus 512 text tokens) it times the host's recipe
(``tests/host_recipe.py``, written from COMFYUI-HOST.md) and ``dype_core.build_table`` with
each DyPE method, and prints median times, the ratio to the host, and the peak memory each
build holds beyond its own output table (CPU: torch's allocation events; CUDA: the
allocator's peak).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from timing import median_seconds  # noqa: E402

from dype_core import FLUX1, DyPESettings, build_table  # noqa: E402
from dype_core import frequencies as freqs  # noqa: E402
from tests.host_recipe import flux_ids, host_table  # noqa: E402

SIDES = (1024, 2048, 4096, 6144)
RECIPES = ("host", "plain", "dy-pi", "dy-ntk", "dy-yarn")
TEXT = 512


def _builder(recipe: str, side: int, device: str):
    rows = cols = side // FLUX1.px_per_token
    ids = flux_ids(rows, cols, text=TEXT).to(device)
    if recipe == "host":
        return lambda: host_table(ids, FLUX1.axes_dim, FLUX1.theta)
    image = slice(TEXT, None)
    if recipe == "plain":
        return lambda: build_table(ids, FLUX1, freqs.plain(FLUX1, device), image_tokens=image)
    settings = DyPESettings(method=recipe.removeprefix("dy-"))
    scales = FLUX1.axis_scales(rows, cols)
    # The frequencies are recomputed per call, as the patch does at every step.
    return lambda: build_table(ids, FLUX1, freqs.dype(FLUX1, settings, scales, 0.5, device), image_tokens=image)


def _peak_extra_bytes(recipe: str, side: int, device: str) -> int:
    """Peak bytes a build holds at once beyond its output table, from the allocator's events."""
    build = _builder(recipe, side, device)
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        table = build()
        return torch.cuda.max_memory_allocated() - base - table.numel() * table.element_size()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], profile_memory=True) as prof:
        table = build()
    live = peak = 0
    for event in sorted(prof.events(), key=lambda e: e.time_range.start):
        live += event.self_cpu_memory_usage
        peak = max(peak, live)
    return peak - table.numel() * table.element_size()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory measurement")
    args = parser.parse_args()
    name = torch.cuda.get_device_name() if args.device == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"torch {torch.__version__} on {name}; FLUX.1 + {TEXT} text tokens; median of {args.repeats}")
    print(f"{'image':>10} {'tokens':>7} {'table MB':>8} | " + " | ".join(f"{r:>17}" for r in RECIPES))
    for side in SIDES:
        tokens = TEXT + (side // 16) ** 2
        times = {r: median_seconds(_builder(r, side, args.device), args.repeats, args.device) for r in RECIPES}
        cells = [f"{times[r] * 1e3:7.1f} ms {times[r] / times['host']:5.2f}x" for r in RECIPES]
        print(f"{side:>5}^2 px {tokens:>7} {tokens * 64 * 16 / 2**20:>8.1f} | " + " | ".join(cells))
        if not args.no_memory:
            extra = {r: _peak_extra_bytes(r, side, args.device) / 2**20 for r in RECIPES}
            print(f"{'':>26} peak beyond the table: " + " | ".join(f"{r} {extra[r]:.0f} MB" for r in RECIPES))


if __name__ == "__main__":
    main()
