"""What SEGA and proportional attention add to a model call, against the plain model in the same run.

    python benchmarks/sega_cost.py [--repeats 5] [--device cuda]

1. SEGA's per-call work alone (the latent's spectrum and both axes' magnitudes, ``dype_core.sega``) on FLUX.1's
   real latent (16 channels, batch 2: cond and uncond) at 2048^2 and 4096^2, and the rotary table with SEGA's
   magnitudes against the Dy-YaRN table, with FLUX.1's 512 text tokens.
2. Whole sampling steps of the stand-in's tiny FLUX.1 (one double and one single block, width 128) through
   ``comfy.sample`` at 2048^2: plain model, Dy-YaRN, SEGA, SEGA with proportional attention. The tiny model
   makes the pack's share look large: its forward is about 10^4 times cheaper than FLUX.1's 12B one.

Times are medians of ``--repeats`` runs; ratios are against the plain path of the same run.
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
from comfyui_dype.dype_core import FLUX1, DyPESettings, build_table, sega  # noqa: E402
from comfyui_dype.dype_core import frequencies as freqs  # noqa: E402
from comfyui_dype.nodes.dype_node import DyPE  # noqa: E402

TEXT = 512
SIDES = (2048, 4096)


def per_call(side: int, device: str, repeats: int) -> str:
    """SEGA's spectrum and magnitudes, and the table with and without them, at ``side``^2 px."""
    latent = torch.randn(2, 16, side // 8, side // 8, device=device)
    scales = FLUX1.axis_scales(side // 16, side // 16)

    def spectrum_and_gains():
        spectrum = sega.spectrum(latent, FLUX1.patch)
        return freqs.dype(FLUX1, DyPESettings(method="sega", dynamic=False), scales, 0.5, device, spectrum)

    grid = torch.stack(torch.meshgrid(torch.zeros(1), torch.arange(side // 16.0), torch.arange(side // 16.0),
                                      indexing="ij"), -1).reshape(1, -1, 3)
    ids = torch.cat([torch.zeros(1, TEXT, 3), grid], dim=1).to(device)
    image = slice(TEXT, None)
    yarn = freqs.dype(FLUX1, DyPESettings(), scales, 0.5, device)
    gains = spectrum_and_gains()
    spectrum_s = median_seconds(spectrum_and_gains, repeats, device)
    yarn_s = median_seconds(lambda: build_table(ids, FLUX1, yarn, image_tokens=image), repeats, device)
    sega_s = median_seconds(lambda: build_table(ids, FLUX1, gains, image_tokens=image), repeats, device)
    return (f"{side}^2: spectrum + magnitudes {spectrum_s * 1e3:.2f} ms; table with SEGA's magnitudes "
            f"{sega_s * 1e3:.1f} ms vs Dy-YaRN's {yarn_s * 1e3:.1f} ms ({sega_s / yarn_s:.2f}x)")


def whole_steps(side: int, repeats: int) -> str:
    """Two euler steps with CFG of the tiny FLUX.1 at ``side``^2 px, per setting, against the plain model."""
    model = build_flux_patcher("flux", seed=0)
    config = model.model.diffusion_model.params
    g = torch.Generator().manual_seed(1)
    cond = [[torch.randn(1, 8, config.context_in_dim, generator=g),
             {"pooled_output": torch.randn(1, 16, generator=g), "guidance": 3.5}]]
    latent = torch.zeros(1, 16, side // 8, side // 8)
    noise = torch.randn(latent.shape, generator=torch.Generator().manual_seed(42))
    settings = {
        "plain": model,
        "Dy-YaRN": run_node(DyPE, model=model)[0],
        "SEGA": run_node(DyPE, model=model, method="SEGA")[0],
        "SEGA + PA": run_node(DyPE, model=model, method="SEGA", proportional_attention=True)[0],
        "Dy-YaRN + PA": run_node(DyPE, model=model, proportional_attention=True)[0],
    }
    times = {name: median_seconds(lambda m=m: host_sample(m, noise, 2, 2.0, "euler", "simple", cond, cond, latent,
                                                          disable_pbar=True, seed=42), repeats)
             for name, m in settings.items()}
    return f"{side}^2, 2 steps: " + "; ".join(f"{name} {s:.2f} s ({s / times['plain']:.3f}x)"
                                              for name, s in times.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--no-steps", action="store_true", help="skip the whole-step timing (CPU)")
    args = parser.parse_args()
    name = torch.cuda.get_device_name() if args.device == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"torch {torch.__version__} on {name}; median of {args.repeats}")
    for side in SIDES:
        print(per_call(side, args.device, args.repeats))
    if not args.no_steps:
        print(whole_steps(2048, max(1, args.repeats // 2)))


if __name__ == "__main__":
    main()
