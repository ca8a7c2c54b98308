"""The results table (markdown), the claim-by-claim comparison with the paper, and the grid.

Verdicts are computed, not written by hand: a claim is *confirmed* when the 95% bootstrap
interval of the relevant difference lies entirely on the claimed side of zero,
*contradicted* when it lies entirely on the other side, and *not confirmed* otherwise.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from . import data  # noqa: E402
from . import rope as lab_rope  # noqa: E402
from .evaluate import FLOOR_SEED0, METRICS, REAL, Cell, samples_of  # noqa: E402

#: Human description of every metric, in ``METRICS`` order.
DESCRIPTIONS = {
    "one": "P(exactly one object): share of samples with one main object (real: 1.00; higher is better)",
    "zero": "P(no object): share of samples without any main object (real: 0.00; the object vanished)",
    "objects": "mean number of main objects per sample (real: 1.00; duplication raises it)",
    "swd": "sliced Wasserstein distance of multi-scale 7x7 patches to real images of the same size "
           "(lower is better; the real row is the real-vs-real floor)",
    "lf": "low-frequency spectrum error: mean |log10 P_gen/P_real| over f < 1/8 cycle/px (lower is better)",
    "hf": "high-frequency spectrum error: mean signed log10 P_gen/P_real over f >= 1/8 cycle/px "
          "(0 is right; negative = missing detail, i.e. blur)",
    "period": "periodicity: off-origin autocorrelation peak above its ring mean (real row = natural level; "
              "repetition raises it)",
}


def fmt(cell: Cell, digits: int = 3) -> str:
    """``value [low, high]``."""
    return f"{cell.value:.{digits}f} [{cell.low:.{digits}f}, {cell.high:.{digits}f}]"


def verdict(diff: Cell, claimed_sign: int) -> str:
    """Confirmed / contradicted / not confirmed for a difference claimed to have ``claimed_sign``."""
    if diff.low > 0 or diff.high < 0:
        return "confirmed" if (diff.value > 0) == (claimed_sign > 0) else "contradicted"
    return "not confirmed (intervals overlap)"


def metric_tables(result: dict[str, dict[str, dict[str, Cell]]], scales: list[int]) -> list[str]:
    """One markdown table per metric: rows = real floor and methods, columns = scales."""
    lines: list[str] = []
    header = "| method | " + " | ".join(f"{s}x" for s in scales) + " |"
    rule = "|---|" + "---|" * len(scales)
    for name in METRICS:
        lines += [f"### `{name}`: {DESCRIPTIONS[name]}", "", header, rule]
        for row in [REAL, *lab_rope.METHODS]:
            cells = [fmt(result[row][str(s)][name]) for s in scales]
            lines.append(f"| {row} | " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def gate(result: dict[str, dict[str, dict[str, Cell]]], scales: list[int]) -> tuple[bool, list[str]]:
    """Does plain RoPE fail above 1x, and in the way DyPE addresses?

    A scale fails measurably when its interval for P(one object) lies below the 1x interval, or
    its SWD interval lies above both the 1x interval and the real floor's. The failure is the
    one DyPE addresses (repetition) when the object count or the periodicity interval lies above
    the 1x one; it is a collapse when the P(no object) interval lies above the 1x one. The gate
    passes when some scale shows repetition.
    """
    lines, repeats = [], []
    at1 = result["none"]["1"]
    for s in scales:
        if s == 1:
            continue
        cells, floor = result["none"][str(s)], result[REAL][str(s)]
        signs = []
        if cells["one"].high < at1["one"].low:
            signs.append(f"P(one) {fmt(cells['one'], 2)} vs {fmt(at1['one'], 2)} at 1x")
        if cells["swd"].low > max(at1["swd"].high, floor["swd"].high):
            signs.append(f"swd {fmt(cells['swd'])} vs {fmt(at1['swd'])} at 1x, real {fmt(floor['swd'])}")
        repeat = cells["objects"].low > at1["objects"].high or cells["period"].low > at1["period"].high
        collapse = cells["zero"].low > at1["zero"].high
        repeats.append(repeat)
        mode = ("repetition (duplicated objects or periodicity above 1x)" if repeat else
                f"collapse, not repetition: P(no object) {fmt(cells['zero'], 2)} vs {fmt(at1['zero'], 2)} at 1x, "
                f"objects {fmt(cells['objects'], 2)}, periodicity {fmt(cells['period'])} vs {fmt(at1['period'])}"
                if collapse else "no repetition")
        lines.append(f"- {s}x: " + ("fails measurably: " + "; ".join(signs) if signs else "no measurable failure")
                     + f". Failure mode: {mode}.")
    lines.append(f"- Reference quality at 1x (all methods identical there): P(one) {fmt(at1['one'], 2)}, "
                 f"SWD {fmt(at1['swd'])} against a real-vs-real floor of {fmt(result[REAL]['1']['swd'])}.")
    return any(repeats), lines


#: Static method -> its DyPE form.
PAIRS = {"PI": "Dy-PI", "NTK": "Dy-NTK", "YaRN": "Dy-YaRN"}


def claims(diffs: dict[str, Cell], result: dict[str, dict[str, dict[str, Cell]]], scales: list[int]) -> list[str]:
    """The paper's claims, point by point, from the paired differences ``diffs``
    (keys ``"{a}-{b}@{metric}@{scale}"``, a minus b)."""
    up = [s for s in scales if s > 1]
    lines = ["1. **Plain RoPE repeats content beyond the training resolution** (duplicated objects, periodicity)."]
    at1 = result["none"]["1"]
    for s in up:
        c = result["none"][str(s)]
        dup = "confirmed" if c["objects"].low > at1["objects"].high else "not confirmed"
        per = "confirmed" if c["period"].low > at1["period"].high else "not confirmed"
        lines.append(f"   - {s}x: duplication {dup} (objects {fmt(c['objects'], 2)} vs "
                     f"{fmt(at1['objects'], 2)} at 1x); periodicity {per} ({fmt(c['period'])} vs "
                     f"{fmt(at1['period'])} at 1x)")
    lines.append("2. **PI blurs** (loses high frequencies): PI's high-frequency error minus plain RoPE's "
                 "(claimed < 0), and minus Dy-PI's (claimed < 0).")
    for s in up:
        a, b = diffs[f"PI-none@hf@{s}"], diffs[f"PI-Dy-PI@hf@{s}"]
        lines.append(f"   - {s}x: PI hf {fmt(result['PI'][str(s)]['hf'])}; vs plain {fmt(a)}: {verdict(a, -1)}; "
                     f"vs Dy-PI {fmt(b)}: {verdict(b, -1)}")
    lines.append("3. **Each Dy-\\* beats its static form**: paired difference Dy minus static of patch SWD "
                 "(claimed < 0) and of P(one object) (claimed > 0).")
    for static, dyn in PAIRS.items():
        for s in up:
            d_swd, d_one = diffs[f"{dyn}-{static}@swd@{s}"], diffs[f"{dyn}-{static}@one@{s}"]
            lines.append(f"   - {dyn} vs {static} at {s}x: SWD {fmt(d_swd)} {verdict(d_swd, -1)}; "
                         f"P(one) {fmt(d_one, 2)} {verdict(d_one, 1)}")
    lines.append("4. **The gap grows with scale**: static minus Dy SWD at the largest scale against the smallest "
                 "(confirmed when the intervals separate upwards).")
    lo, hi = up[0], up[-1]
    for static, dyn in PAIRS.items():
        a, b = diffs[f"{dyn}-{static}@swd@{lo}"], diffs[f"{dyn}-{static}@swd@{hi}"]
        gap_lo, gap_hi = Cell(-a.value, -a.high, -a.low), Cell(-b.value, -b.high, -b.low)
        if gap_hi.low > gap_lo.high:
            word = "confirmed"
        elif gap_hi.high < gap_lo.low:
            word = "contradicted"
        else:
            word = "not confirmed (intervals overlap)"
        lines.append(f"   - {static} - {dyn}: {lo}x {fmt(gap_lo)}, {hi}x {fmt(gap_hi)}: {word}")
    best = min(lab_rope.METHODS, key=lambda m: result[m][str(hi)]["swd"].value)
    lines.append(f"5. **Dy-YaRN is the best method at the largest scale** (paper: best FID/patch-FID at 4K): "
                 f"lowest SWD at {hi}x is {best} ({fmt(result[best][str(hi)]['swd'])}).")
    if best != "Dy-YaRN":
        d = diffs[f"Dy-YaRN-{best}@swd@{hi}"]
        lines.append(f"   - Dy-YaRN minus {best}: {fmt(d)}: {verdict(d, -1)} that Dy-YaRN is better.")
    else:
        lines.append("   - confirmed on this metric")
    return lines


def comparisons(scales: list[int]) -> list[tuple[str, str, str, int]]:
    """Every paired difference the claims use: ``(a, b, metric, scale)``."""
    out = []
    for s in (s for s in scales if s > 1):
        out += [("PI", "none", "hf", s), ("PI", "Dy-PI", "hf", s)]
        for static, dyn in PAIRS.items():
            out += [(dyn, static, "swd", s), (dyn, static, "one", s)]
        out += [("Dy-YaRN", m, "swd", s) for m in lab_rope.METHODS if m != "Dy-YaRN"]
    return out


def write_grid(stored: dict[str, np.ndarray], scales: list[int], base: int, path: Path, index: int = 0) -> None:
    """PNG grid: rows = a real image and every method, columns = scales; sample ``index``
    (the same noise seed) in every cell, shown at its own resolution."""
    rows = [REAL, *lab_rope.METHODS]
    fig, axes = plt.subplots(len(rows), len(scales), figsize=(2.2 * len(scales), 2.2 * len(rows)), squeeze=False)
    for r, row in enumerate(rows):
        for c, s in enumerate(scales):
            if row == REAL:
                image = data.render(data.draw_scene(FLOOR_SEED0 + index), base * s)
            else:
                image = samples_of(stored, row, s)[index]
            axes[r, c].imshow(np.clip((image.transpose(1, 2, 0) + 1) / 2, 0, 1), interpolation="nearest")
            axes[r, c].set_xticks([])
            axes[r, c].set_yticks([])
            if r == 0:
                axes[r, c].set_title(f"{s}x ({base * s} px)")
            if c == 0:
                axes[r, c].set_ylabel(row)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)


def markdown(result: dict[str, dict[str, dict[str, Cell]]], diffs: dict[str, Cell], facts: dict[str, object]) -> str:
    """The whole ``results.md``: set-up, timings, the gate, the claims and the tables."""
    scales = [int(s) for s in facts["scales"]]
    base = int(facts["base"])
    passed, gate_lines = gate(result, scales)
    cell_seconds = facts.get("cell_seconds", {})
    slowest = max(cell_seconds, key=cell_seconds.get) if cell_seconds else "n/a"
    lines = [
        "# DyPE quality lab: results",
        "",
        "Generated by `python -m lab evaluate` (rewritten from results.json by `python -m lab report`); "
        "do not edit by hand. Design notes and the pilots tried: [notes.md](notes.md).",
        "",
        "## Set-up",
        "",
        f"- Data: `lab/data.py` scenes (one coloured object on a grey 1/f^2 background with pixel grain), "
        f"rendered at {', '.join(f'{base * s} px' for s in scales)}; the object scales with the canvas, "
        f"so one object is the truth at every size.",
        f"- Model: `{facts.get('weights')}`, a RoPE DiT trained at {base} px (recipe `{facts.get('train_recipe')}`), "
        f"rotary tables from `dype_core.build_table` for every method.",
        f"- Sampling: {facts['count']} samples per method and scale (noise seeds 0..{int(facts['count']) - 1}, "
        f"shared by all methods), Euler, {facts['steps']} uniform steps from t = 1 to 0. At 1x every method is "
        "plain RoPE, so one set is sampled and shared by all rows.",
        "- Intervals: 95% bootstrap over the samples of a cell (percentile intervals for per-image means; basic "
        "intervals for the set distances `swd`, `lf`, `hf`, whose resamples are biased upwards by duplicated "
        "images, so an estimate can sit near or just outside the edge of its interval); method differences use "
        "a paired bootstrap (the methods share their noise seeds).",
        f"- Machine: {facts.get('machine')}. Training took {float(facts.get('train_seconds', float('nan'))):.0f} s; "
        f"sampling took {float(facts.get('sample_seconds', float('nan'))):.0f} s (slowest cell {slowest}: "
        f"{float(cell_seconds.get(slowest, float('nan'))):.0f} s); measuring took "
        f"{float(facts.get('measure_seconds', float('nan'))):.0f} s.",
        "",
        "![methods x scales](grid.png)",
        "",
        "## Gate: does plain RoPE fail above the training resolution?",
        "",
        *gate_lines,
        "",
        "**Gate " + ("passed**: plain RoPE repeats content above 1x, the problem DyPE addresses." if passed else
                     "not passed**: plain RoPE fails above 1x, but not by repeating content, so this testbed does "
                     "not show the problem DyPE addresses. The comparisons below are reported as measured; they "
                     "do not test DyPE's claims (see docs/lab/notes.md for what was tried)."),
        "",
        "## The paper's claims, point by point",
        "",
        *claims(diffs, result, scales),
        "",
        "## Tables (value [95% interval])",
        "",
        *metric_tables(result, scales),
    ]
    return "\n".join(lines) + "\n"
