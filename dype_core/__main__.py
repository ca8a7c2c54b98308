"""Command line: what the DyPE node will do, for every model it supports, without ComfyUI or weights.

    python -m dype_core models
    python -m dype_core plan --model flux --width 4096 --height 4096 --steps 28 --chart plan.png

``plan`` prints the per-step plan for ComfyUI's ``simple`` scheduler and writes a PNG chart of the
frequency allocation over the steps. Its options take the node's own names and ranges (``Dy-YaRN``,
``per-axis``, time shift ``model`` / ``base`` / ``linear`` / ``custom``), so what it prints is what the
node does with the same inputs. A bad input ends the run with one line naming it, exit status 2.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

import torch

from . import guide, menu
from .models import MODELS, Model
from .plan import Plan, plan
from .shift import linear_mu

PROG = "python -m dype_core"


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line: ``PROG plan: error: argument --mu: ...``."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def _number(name: str, low: float, high: float, kind: type = float) -> Callable[[str], float]:
    """An argument type: a finite ``kind`` from ``low`` to ``high``."""

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not math.isfinite(value) or not low <= value <= high:
            what = "a whole number" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"{name} must be {what} from {low:g} to {high:g}, got {text!r}")
        return value

    return parse


def _label(name: str, labels: Sequence[str]) -> Callable[[str], str]:
    """An argument type: one of ``labels``, in any letter case."""
    by_lower = {label.lower(): label for label in labels}

    def parse(text: str) -> str:
        if text.lower() not in by_lower:
            raise argparse.ArgumentTypeError(f"{name} {text!r} is not one of: {', '.join(labels)}")
        return by_lower[text.lower()]

    return parse


def _model(text: str) -> Model:
    if text.lower() not in MODELS:
        raise argparse.ArgumentTypeError(
            f"unknown model {text!r}; `{PROG} models` lists them: {', '.join(MODELS)}"
        )
    return MODELS[text.lower()]


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    commands.add_parser("models", help="list every model the node supports, its native size and time shift")
    p = commands.add_parser("plan", help="print the per-step plan and write its chart")
    p.add_argument("--model", type=_model, default="flux", help="a key from `models` (default flux)")
    p.add_argument("--width", type=_number("--width", 1, 32768, int), required=True, help="image width in px")
    p.add_argument("--height", type=_number("--height", 1, 32768, int), required=True, help="image height in px")
    p.add_argument("--frames", type=_number("--frames", 1, 100000, int),
                   help="video models: frames of the clip (default: the trained length)")
    p.add_argument("--steps", type=_number("--steps", 1, 1000, int), default=28,
                   help="steps of the simple scheduler (default 28)")
    p.add_argument("--method", type=_label("--method", list(menu.METHODS)), default=menu.DEFAULT_METHOD,
                   help=f"one of: {', '.join(menu.METHODS)} (default {menu.DEFAULT_METHOD})")
    p.add_argument("--lambda-s", type=_number("--lambda-s", 0, menu.LAMBDA_MAX), default=2.0,
                   help="strength of k(t) = lambda_s t^lambda_t (Dy-NTK, Dy-PI, legacy ramp; default 2)")
    p.add_argument("--lambda-t", type=_number("--lambda-t", 0, menu.LAMBDA_MAX), default=2.0,
                   help="how fast the correction relaxes as noise falls (default 2)")
    p.add_argument("--yarn-ramp", type=_label("--yarn-ramp", menu.RAMPS), default="official",
                   help=f"Dy-YaRN's ramp: one of {', '.join(menu.RAMPS)} (default official)")
    p.add_argument("--scaling", type=_label("--scaling", list(menu.SCALINGS)), default="per-axis",
                   help=f"one of: {', '.join(menu.SCALINGS)} (default per-axis)")
    p.add_argument("--attention-scale", type=_label("--attention-scale", ("on", "off")), default="on",
                   help="YaRN's attention factor 0.1 ln s + 1: on (default) or off")
    p.add_argument("--proportional-attention", type=_label("--proportional-attention", ("on", "off")),
                   default="on" if menu.DEFAULT_PROPORTIONAL else "off",
                   help="attention logits times sqrt(log N / log N_train) above the native size: on or off "
                   f"(default {'on' if menu.DEFAULT_PROPORTIONAL else 'off'})")
    p.add_argument("--time-shift", type=_label("--time-shift", menu.TIME_SHIFTS), default="model",
                   help="model (the model's own sampling), base (the same here: no sampling node upstream), "
                   "linear (ComfyUI's rule, rising with image tokens) or custom (--mu); default model")
    p.add_argument("--mu", type=_number("--mu", 0, menu.MU_MAX), help="the mu of --time-shift custom (default 1.15)")
    p.add_argument("--time-axis", type=_label("--time-axis", list(menu.TIME_AXIS)), default="RIFLEx",
                   help=f"video models above their trained length: one of {', '.join(menu.TIME_AXIS)} (default RIFLEx)")
    p.add_argument("--base-resolution", type=_number("--base-resolution", 0, menu.BASE_RESOLUTION_MAX, int),
                   default=0, help="the training resolution in px (default 0: the model's own)")
    p.add_argument("--guide", type=_number("--guide", 0, menu.GUIDE_STRENGTH_MAX),
                   help="the strength of a DyPE Guide on the model: adds its weight per step (default: no guide)")
    p.add_argument("--chart", type=Path, default=Path("dype_plan.png"),
                   help="the chart, a .png, or '-' for none (default dype_plan.png)")
    return parser


def _models() -> str:
    """Every model: key, name, native size, trained clip and its own time shift."""
    lines = [f"{'key':<26} {'model':<26} {'native':<11} {'clip':<11} time shift"]
    for key, model in MODELS.items():
        height, width = model.native
        clip = f"{(int(model.layout.base_frames) - 1) * model.frames_per_latent + 1} frames" if model.video else ""
        lines.append(f"{key:<26} {model.layout.name:<26} {f'{width}x{height}':<11} {clip:<11} {model.shift}")
    return "\n".join(lines)


def _run_mu(model: Model, time_shift: str, mu: float | None, image_tokens: int) -> float | None:
    """The ``mu`` the node samples with under ``time_shift``: the model's own for ``model`` and ``base``,
    ComfyUI's linear rule from it for ``linear``, ``mu`` for ``custom``."""
    if model.mu is None and time_shift in ("linear", "custom"):
        raise ValueError(f"--time-shift {time_shift} sets the flow schedule's shift, but {model.layout.name} samples "
                         "EDM sigmas, which have none; use --time-shift model")
    if time_shift == "linear":
        return linear_mu(image_tokens, math.prod(model.layout.base_grid), model.mu)
    return mu if time_shift == "custom" else model.mu


def _plan(args: argparse.Namespace) -> Plan:
    """The plan the options ask for; ``ValueError`` names a bad combination."""
    model: Model = args.model
    if str(args.chart) != "-" and args.chart.suffix.lower() != ".png":
        raise ValueError(f"--chart writes a PNG: give a path ending in .png, or '-' for none; got {args.chart}")
    if args.mu is not None and args.time_shift != "custom":
        raise ValueError(f"--mu is the mu of --time-shift custom; this run uses --time-shift {args.time_shift}")
    if args.frames is not None and not model.video:
        video = ", ".join(key for key, m in MODELS.items() if m.video)
        raise ValueError(f"--frames is for video models ({video}); {args.model.key} makes images")
    settings = menu.settings(args.method, args.lambda_s, args.lambda_t, args.yarn_ramp, args.scaling,
                             args.attention_scale == "on", args.time_axis, args.proportional_attention == "on")
    layout = model.layout.with_base_resolution(args.base_resolution) if args.base_resolution else model.layout
    frames = 1
    if model.video:
        frames = model.latent_frames(args.frames) if args.frames else int(model.layout.base_frames)
    rows, cols = layout.grid_for_pixels(args.width, args.height)
    mu = _run_mu(model, args.time_shift, 1.15 if args.mu is None else args.mu, rows * cols)
    schedule = model.schedule(args.steps, mu)
    weights = () if args.guide is None else guide.weights(torch.tensor(schedule), args.guide)
    return plan(layout, args.width, args.height, schedule, settings, model.time, frames,
                time_shift=args.time_shift, mu=mu, guide=weights)


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "models":
        print(_models())
        return 0
    try:
        result = _plan(args)
    except ValueError as error:
        print(f"{PROG} plan: error: {error}", file=sys.stderr)
        return 2
    print(result.table())
    if str(args.chart) != "-":
        from .chart import render_png

        try:
            args.chart.write_bytes(render_png(result))
        except (OSError, RuntimeError) as error:
            print(f"{PROG} plan: error: --chart: cannot write {args.chart}: {error}", file=sys.stderr)
            return 2
        print(f"chart written to {args.chart}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # the reader stopped early (``| head``): not an error of the plan
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
