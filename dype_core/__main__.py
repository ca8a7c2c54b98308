"""Command line: ``python -m dype_core plan --model flux --width 4096 --height 4096 --steps 28``.

Prints DyPE's per-step plan for a model, size and FLUX ``simple`` schedule, and writes a
PNG chart of the frequency allocation over the steps. Needs neither ComfyUI nor weights.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .layout import PRESETS
from .methods import METHODS
from .plan import plan
from .settings import DyPESettings
from .shift import linear_mu, simple_schedule
from .yarn import RAMPS

#: ``mu`` each preset samples with by default (ComfyUI's model configs).
BASE_MU = {"flux": 1.15, "chroma": 1.15, "flux2": 2.02}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m dype_core", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("plan", help="print the per-step plan and write its chart")
    p.add_argument("--model", choices=sorted(PRESETS), default="flux")
    p.add_argument("--width", type=int, required=True, help="image width in pixels")
    p.add_argument("--height", type=int, required=True, help="image height in pixels")
    p.add_argument("--steps", type=int, default=28)
    p.add_argument("--method", choices=sorted(METHODS), default="yarn")
    p.add_argument("--static", action="store_true", help="the static method instead of its DyPE form")
    p.add_argument("--lambda-s", type=float, default=2.0)
    p.add_argument("--lambda-t", type=float, default=2.0)
    p.add_argument("--yarn-ramp", choices=RAMPS, default="official")
    p.add_argument("--scaling", choices=("per_axis", "isotropic", "area"), default="per_axis")
    p.add_argument("--no-attention-scale", action="store_true")
    p.add_argument("--mu", default="base", help="time shift: 'base' (model default), 'linear' (ComfyUI's "
                   "ModelSamplingFlux in tokens) or a number")
    p.add_argument("--chart", type=Path, default=Path("dype_plan.png"), help="PNG to write ('-' for none)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    layout = PRESETS[args.model]
    try:
        settings = DyPESettings(
            method=args.method, dynamic=not args.static, lambda_s=args.lambda_s, lambda_t=args.lambda_t,
            yarn_ramp=args.yarn_ramp, scaling=args.scaling, attention_scale=not args.no_attention_scale,
        )
        rows, cols = layout.grid_for_pixels(args.width, args.height)
        mu = {"base": BASE_MU[args.model], "linear": linear_mu(rows * cols)}.get(args.mu)
        mu = float(args.mu) if mu is None else mu
        result = plan(layout, args.width, args.height, simple_schedule(args.steps, mu), settings)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"time shift mu = {mu:.4g} (simple scheduler, {args.steps} steps)")
    print(result.table())
    if str(args.chart) != "-":
        from .chart import render_png

        args.chart.write_bytes(render_png(result))
        print(f"chart written to {args.chart}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
