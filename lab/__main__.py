"""Command line of the lab.

``python -m lab train``     train the DiT (bit-reproducible on the CPU) into lab/weights/
``python -m lab evaluate``  the gate, then (if it passes) every method at 1x-4x; measure, write docs/lab/
``python -m lab report``    rewrite docs/lab/results.md and grid.png from results.json (no measuring)
``python -m lab trace``     when each row's object appears and vanishes during sampling (a markdown table)
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

from . import evaluate as lab_eval
from . import report as lab_report
from . import train as lab_train

LAB = Path(__file__).resolve().parent
WEIGHTS = LAB / "weights" / "lab_dit.safetensors"
RUNS = LAB / "runs"
DOCS = LAB.parent / "docs" / "lab"


def _train(args: argparse.Namespace) -> None:
    config = lab_train.TrainConfig(steps=args.steps, threads=args.threads, seed=args.seed)
    log = Path(args.log) if args.log else None
    start = time.perf_counter()
    model, _ = lab_train.train(config, log_every=args.log_every, log=log,
                               checkpoint=Path(args.out) if args.checkpoint else None)
    seconds = time.perf_counter() - start
    out = Path(args.out)
    lab_train.save(model, config, out)
    facts = {"sha256": lab_train.file_hash(out), "train_seconds": round(seconds, 1),
             "command": "python -m lab " + " ".join(sys.argv[1:]), "torch": torch.__version__,
             "machine": platform.machine()}
    out.with_suffix(".json").write_text(json.dumps(facts, indent=1) + "\n")
    print(f"wrote {out} in {seconds:.0f} s; sha256 {facts['sha256']}")


def _measure(args: argparse.Namespace, stored: dict[str, np.ndarray], facts: dict[str, object]) -> None:
    """Measure ``stored`` samples and write results.json, then the report."""
    scales = [float(s) for s in facts["scales"]]
    start = time.perf_counter()
    result, cells = lab_eval.measure(stored, list(facts["rows"]), scales, int(facts["base"]))
    diffs = {f"{a}-{b}@{m}@{s}": lab_eval.paired_difference(cells, a, b, s, m)
             for a, b, m, s in lab_report.comparisons(scales, list(facts["compared"]))}
    facts["measure_seconds"] = time.perf_counter() - start
    docs = Path(args.docs)
    docs.mkdir(parents=True, exist_ok=True)
    lab_eval.save_results(docs / "results.json", result, diffs, facts)
    _write(docs, stored, result, diffs, facts)


def _write(docs: Path, stored: dict[str, np.ndarray], result: dict, diffs: dict, facts: dict[str, object]) -> None:
    """Write results.md and grid.png."""
    lab_report.write_grid(stored, list(facts["rows"]), [float(s) for s in facts["scales"]], int(facts["base"]),
                          int(facts["patch"]), docs / "grid.png")
    (docs / "results.md").write_text(lab_report.markdown(result, diffs, facts))
    print(f"wrote {docs / 'results.md'} and {docs / 'grid.png'}")


def _training_facts(weights: Path) -> dict[str, object]:
    """Training time and hash from the weights' sidecar JSON (written by ``train``), if present."""
    sidecar = weights.with_suffix(".json")
    if not sidecar.exists():
        return {}
    facts = json.loads(sidecar.read_text())
    return {"train_seconds": facts["train_seconds"], "weights_sha256": facts["sha256"]}


def _shown(path: Path) -> str:
    """``path`` relative to the repository root when inside it."""
    path = path.resolve()
    return str(path.relative_to(LAB.parent)) if path.is_relative_to(LAB.parent) else str(path)


def _sample(args: argparse.Namespace, runs: Path) -> None:
    """Sample the gate rows; then, when the gate passed for some attention treatment (and not
    ``--gate-only``), every method under both treatments and the guided rows (the comparison). Writes
    runs/samples.npz and runs/facts.json. With ``--resume`` the cells already in runs/samples.npz are
    kept and only the missing ones are sampled (their timings are kept from runs/facts.json)."""
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    model, recipe = lab_train.load(Path(args.weights))
    if len(args.counts) != len(args.scales):
        raise SystemExit(f"--counts needs one count per scale: {len(args.scales)} scales, {len(args.counts)} counts")
    counts = dict(zip(args.scales, args.counts))
    scales = sorted(counts)
    if scales[0] != 1:
        raise SystemExit("--scales must include 1: the gate compares every scale with the training size")
    base, start, stored = model.config.image_size, time.perf_counter(), {}
    earlier: dict[str, float] = {}
    earlier_machine = ""
    if args.resume and (runs / "samples.npz").exists():
        stored = dict(np.load(runs / "samples.npz"))
        earlier_facts = json.loads((runs / "facts.json").read_text())
        wanted = {"counts": {lab_eval.scale_key(s): counts[s] for s in scales}, "steps": args.steps}
        if any(earlier_facts[k] != v for k, v in wanted.items()):
            raise SystemExit(f"--resume: the stored samples were drawn with counts {earlier_facts['counts']} and "
                             f"{earlier_facts['steps']} steps; this run asks for {wanted['counts']} and {args.steps}")
        earlier = {k: v for k, v in earlier_facts["cell_seconds"].items() if k in stored}
        earlier_machine = str(earlier_facts["machine"])
        start -= earlier_facts["sample_seconds"]
    seconds = earlier | lab_eval.generate(model, list(lab_eval.GATE_ROWS), scales, counts, args.steps, args.batch,
                                          stored)
    gate_result, _ = lab_eval.measure(stored, list(lab_eval.GATE_ROWS), scales, base)
    passed = [x for x in lab_eval.ATTENTION if lab_report.gate(gate_result, scales, x)[0]]
    compared = [] if args.gate_only else passed
    rows = [*lab_eval.rows_of(lab_eval.ATTENTION), *lab_eval.GUIDED_ROWS] if compared else list(lab_eval.GATE_ROWS)
    seconds |= lab_eval.generate(model, rows, scales, counts, args.steps, args.batch, stored)
    facts: dict[str, object] = {
        "base": base, "patch": model.config.patch, "scales": scales,
        "counts": {lab_eval.scale_key(s): counts[s] for s in scales}, "steps": args.steps,
        "rows": rows, "compared": compared,
        "threads": args.threads, "sample_seconds": time.perf_counter() - start, "cell_seconds": seconds,
        "train_recipe": {k: v for k, v in recipe.items() if k != "model"}, "model": recipe["model"],
        **_training_facts(Path(args.weights)),
        "weights": _shown(Path(args.weights)),
        "machine": f"{platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}",
    }
    if earlier:  # a resumed run: say where the kept cells were sampled
        facts["machine"] = f"{earlier_machine}; the cells added by --resume: {facts['machine']}"
    runs.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(runs / "samples.npz", **stored)
    (runs / "facts.json").write_text(json.dumps(facts, indent=1) + "\n")


def _evaluate(args: argparse.Namespace) -> None:
    runs = Path(args.runs)
    if not args.reuse_samples:
        _sample(args, runs)
    facts = json.loads((runs / "facts.json").read_text())
    _measure(args, dict(np.load(runs / "samples.npz")), facts)


def _report(args: argparse.Namespace) -> None:
    docs = Path(args.docs)
    result, diffs, facts = lab_eval.load_results(docs / "results.json")
    _write(docs, dict(np.load(Path(args.runs) / "samples.npz")), result, diffs, facts)


def _trace(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    model, _ = lab_train.load(Path(args.weights))
    for row in args.rows:
        try:
            lab_eval.recipe(row)
        except ValueError as error:
            raise SystemExit(str(error)) from None
    traces = [lab_eval.object_trace(model, row, args.scale, args.count, args.steps) for row in args.rows]
    print(f"P(one object) / P(no object) of the clean-image prediction, {args.count} samples at "
          f"{lab_eval.scale_key(args.scale)}x\n")
    print("| t | " + " | ".join(args.rows) + " |")
    print("|---|" + "---|" * len(args.rows))
    for step in zip(*traces):
        print(f"| {step[0][0]:.2f} | " + " | ".join(f"{one:.2f} / {zero:.2f}" for _, one, zero in step) + " |")


def main(argv: list[str] | None = None) -> None:
    """Parse ``argv`` and run the subcommand."""
    parser = argparse.ArgumentParser(prog="python -m lab", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("train", help="train the lab DiT (bit-reproducible on the CPU)")
    p.add_argument("--steps", type=int, default=lab_train.TrainConfig.steps)
    p.add_argument("--threads", type=int, default=lab_train.TrainConfig.threads)
    p.add_argument("--seed", type=int, default=lab_train.TrainConfig.seed)
    p.add_argument("--out", default=str(WEIGHTS))
    p.add_argument("--log", default="", help="also append the progress lines to this file")
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--checkpoint", action="store_true", help="write the EMA weights to --out at every log line")
    p.set_defaults(func=_train)
    for name, func, text in (("evaluate", _evaluate, "sample all methods x scales, measure, write docs/lab/"),
                             ("report", _report, "rewrite results.md and grid.png from results.json")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--runs", default=str(RUNS), help="where the samples are kept (samples.npz)")
        p.add_argument("--docs", default=str(DOCS), help="where results.md, grid.png, results.json go")
        if name == "evaluate":
            p.add_argument("--weights", default=str(WEIGHTS))
            p.add_argument("--scales", type=float, nargs="+", default=[1, 1.25, 1.5, 2, 3, 4],
                           help="canvas sides in training sizes (1 must be among them)")
            p.add_argument("--counts", type=int, nargs="+", default=[32, 32, 32, 32, 16, 8],
                           help="samples per row at each scale, in --scales order (the big canvases cost most)")
            p.add_argument("--steps", type=int, default=20, help="Euler steps")
            p.add_argument("--batch", type=int, default=8)
            p.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a busy machine)")
            p.add_argument("--gate-only", action="store_true",
                           help="stop after the gate (~10 min) even when it passes: a quick check of new weights")
            p.add_argument("--reuse-samples", action="store_true",
                           help="measure the samples already in --runs (samples.npz, facts.json) instead of sampling")
            p.add_argument("--resume", action="store_true",
                           help="keep the cells already in --runs/samples.npz and sample only the missing rows")
        p.set_defaults(func=func)
    p = sub.add_parser("trace", help="when each row's object appears and vanishes during sampling")
    p.add_argument("--rows", nargs="+", default=["PI", "Dy-PI"],
                   help="rows such as none, PI, Dy-YaRN+PA, Dy-PI+G (a method, +PA, then +G or +GB for a guide)")
    p.add_argument("--scale", type=float, default=3.0)
    p.add_argument("--count", type=int, default=16, help="samples (seeds 0 .. count - 1)")
    p.add_argument("--steps", type=int, default=20, help="Euler steps")
    p.add_argument("--weights", default=str(WEIGHTS))
    p.add_argument("--threads", type=int, default=1)
    p.set_defaults(func=_trace)
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
