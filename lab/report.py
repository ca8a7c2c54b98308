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
from .evaluate import ATTENTION, GUIDED_ROWS, METRICS, REAL, Cell, canvas, samples_of, scale_key  # noqa: E402

#: The bar for a good model at its own size: P(one object) at 1x at least ``GOOD_ONE`` and
#: patch SWD at most ``GOOD_SWD`` times the real-vs-real floor.
GOOD_ONE = 0.85
GOOD_SWD = 2.0
#: Static method -> its DyPE form.
PAIRS = {"PI": "Dy-PI", "NTK": "Dy-NTK", "YaRN": "Dy-YaRN"}

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


def treatment_name(suffix: str) -> str:
    """Words for an attention treatment."""
    return "proportional attention" if ATTENTION[suffix] else "trained attention"


def metric_tables(result: dict[str, dict[str, dict[str, Cell]]], scales: list[float]) -> list[str]:
    """One markdown table per metric: rows = real floor and every sampled row, columns = scales."""
    lines: list[str] = []
    header = "| row | " + " | ".join(f"{scale_key(s)}x" for s in scales) + " |"
    rule = "|---|" + "---|" * len(scales)
    for name in METRICS:
        lines += [f"### `{name}`: {DESCRIPTIONS[name]}", "", header, rule]
        for row, by in result.items():
            lines.append(f"| {row} | " + " | ".join(fmt(by[scale_key(s)][name]) for s in scales) + " |")
        lines.append("")
    return lines


def base_quality(result: dict[str, dict[str, dict[str, Cell]]]) -> tuple[bool, str]:
    """Is the model good at its own size (``GOOD_ONE``, ``GOOD_SWD``)? Point estimates against the bar."""
    at1, floor = result["none"]["1"], result[REAL]["1"]
    good = at1["one"].value >= GOOD_ONE and at1["swd"].value <= GOOD_SWD * floor["swd"].value
    line = (f"- 1x (every row is plain RoPE there): P(one) {fmt(at1['one'], 2)} (bar {GOOD_ONE}), "
            f"SWD {fmt(at1['swd'])} = {at1['swd'].value / floor['swd'].value:.2f}x the real-vs-real floor "
            f"{fmt(floor['swd'])} (bar {GOOD_SWD}x): " + ("good" if good else "not good enough"))
    return good, line


def gate(result: dict[str, dict[str, dict[str, Cell]]], scales: list[float], suffix: str) -> tuple[bool, list[str]]:
    """Does plain RoPE under the attention treatment ``suffix`` fail above 1x, and in the way
    DyPE addresses, while the model is good at 1x?

    A scale fails measurably when its interval for P(one object) lies below the 1x interval, or
    its SWD interval lies above both the 1x interval and the real floor's. Its failure modes are
    duplicated objects (object-count interval above the 1x one), periodic texture (periodicity
    interval above the 1x one) and a lost object (P(no object) interval above the 1x one); the
    first two are repetition, the failure DyPE addresses. The gate passes when the model is
    good at 1x (``base_quality``) and some scale shows repetition.
    """
    lines, repeats = [], []
    at1 = result["none"]["1"]
    plain = "none" + suffix
    for s in scales:
        if s == 1:
            continue
        key = scale_key(s)
        cells, floor = result[plain][key], result[REAL][key]
        signs = []
        if cells["one"].high < at1["one"].low:
            signs.append(f"P(one) {fmt(cells['one'], 2)} vs {fmt(at1['one'], 2)} at 1x")
        if cells["swd"].low > max(at1["swd"].high, floor["swd"].high):
            signs.append(f"swd {fmt(cells['swd'])} vs {fmt(at1['swd'])} at 1x, real {fmt(floor['swd'])}")
        duplicated = cells["objects"].low > at1["objects"].high
        periodic = cells["period"].low > at1["period"].high
        lost = cells["zero"].low > at1["zero"].high
        if duplicated or periodic:
            repeats.append(f"{key}x")
        modes = [f"{name} ({what} {fmt(cells[metric], digits)} vs {fmt(at1[metric], digits)} at 1x)"
                 for name, what, metric, digits, shown in (
                     ("duplicated objects", "objects", "objects", 2, duplicated),
                     ("periodic texture", "periodicity", "period", 3, periodic),
                     ("object lost", "P(no object)", "zero", 2, lost)) if shown]
        kind = ("repetition" if duplicated or periodic else "collapse, not repetition" if lost else "no repetition")
        mode = f"{kind}: " + ", ".join(modes) if modes else (
            f"no repetition (objects {fmt(cells['objects'], 2)}, periodicity {fmt(cells['period'])})")
        lines.append(f"- {key}x: " + ("fails measurably: " + "; ".join(signs) if signs else "no measurable failure")
                     + f". Failure mode: {mode}.")
    good, _ = base_quality(result)
    found = f"repetition at {', '.join(repeats)}" if repeats else "no scale shows repetition"
    lines.append(f"- Verdict: {found}; the model is {'good' if good else 'not good enough'} at 1x.")
    return good and bool(repeats), lines


def claims(diffs: dict[str, Cell], result: dict[str, dict[str, dict[str, Cell]]], scales: list[float],
           suffix: str) -> list[str]:
    """The paper's claims, point by point, for the rows of attention treatment ``suffix``, from
    the paired differences ``diffs`` (keys ``"{a}-{b}@{metric}@{scale}"``, a minus b)."""
    up = [scale_key(s) for s in scales if s > 1]
    row = {m: m + suffix for m in lab_rope.METHODS}
    lines = ["1. **Plain RoPE repeats content beyond the training resolution** (duplicated objects, periodicity)."]
    at1 = result["none"]["1"]
    for s in up:
        c = result[row["none"]][s]
        dup = "confirmed" if c["objects"].low > at1["objects"].high else "not confirmed"
        per = "confirmed" if c["period"].low > at1["period"].high else "not confirmed"
        lines.append(f"   - {s}x: duplication {dup} (objects {fmt(c['objects'], 2)} vs "
                     f"{fmt(at1['objects'], 2)} at 1x); periodicity {per} ({fmt(c['period'])} vs "
                     f"{fmt(at1['period'])} at 1x)")
    lines.append("2. **PI blurs** (loses high frequencies): PI's high-frequency error minus plain RoPE's "
                 "(claimed < 0), and minus Dy-PI's (claimed < 0).")
    for s in up:
        a, b = diffs[f"{row['PI']}-{row['none']}@hf@{s}"], diffs[f"{row['PI']}-{row['Dy-PI']}@hf@{s}"]
        lines.append(f"   - {s}x: PI hf {fmt(result[row['PI']][s]['hf'])}; vs plain {fmt(a)}: {verdict(a, -1)}; "
                     f"vs Dy-PI {fmt(b)}: {verdict(b, -1)}")
    lines.append("3. **Each Dy-\\* beats its static form**: paired difference Dy minus static of patch SWD "
                 "(claimed < 0) and of P(one object) (claimed > 0).")
    for static, dyn in PAIRS.items():
        for s in up:
            d_swd, d_one = diffs[f"{row[dyn]}-{row[static]}@swd@{s}"], diffs[f"{row[dyn]}-{row[static]}@one@{s}"]
            lines.append(f"   - {dyn} vs {static} at {s}x: SWD {fmt(d_swd)} {verdict(d_swd, -1)}; "
                         f"P(one) {fmt(d_one, 2)} {verdict(d_one, 1)}")
    lines.append("4. **The gap grows with scale**: static minus Dy SWD at the largest scale against the smallest "
                 "(confirmed when the intervals separate upwards).")
    lo, hi = up[0], up[-1]
    for static, dyn in PAIRS.items():
        a, b = diffs[f"{row[dyn]}-{row[static]}@swd@{lo}"], diffs[f"{row[dyn]}-{row[static]}@swd@{hi}"]
        gap_lo, gap_hi = Cell(-a.value, -a.high, -a.low), Cell(-b.value, -b.high, -b.low)
        if gap_hi.low > gap_lo.high:
            word = "confirmed"
        elif gap_hi.high < gap_lo.low:
            word = "contradicted"
        else:
            word = "not confirmed (intervals overlap)"
        lines.append(f"   - {static} - {dyn}: {lo}x {fmt(gap_lo)}, {hi}x {fmt(gap_hi)}: {word}")
    best = min(lab_rope.METHODS, key=lambda m: result[row[m]][hi]["swd"].value)
    lines.append(f"5. **Dy-YaRN is the best method at the largest scale** (paper: best FID/patch-FID at 4K): "
                 f"lowest SWD at {hi}x is {best} ({fmt(result[row[best]][hi]['swd'])}).")
    if best != "Dy-YaRN":
        d = diffs[f"{row['Dy-YaRN']}-{row[best]}@swd@{hi}"]
        lines.append(f"   - Dy-YaRN minus {best}: {fmt(d)}: {verdict(d, -1)} that Dy-YaRN is better.")
    else:
        lines.append("   - confirmed on this metric")
    return lines


def attention_effects(diffs: dict[str, Cell], scales: list[float]) -> list[str]:
    """Proportional minus trained attention, per method and scale (paired): P(one object) and SWD."""
    up = [scale_key(s) for s in scales if s > 1]
    lines = ["| method | " + " | ".join(f"{s}x P(one) | {s}x SWD" for s in up) + " |",
             "|---|" + "---|---|" * len(up)]
    for m in lab_rope.METHODS:
        cells = [f"{fmt(diffs[f'{m}+PA-{m}@one@{s}'], 2)} | {fmt(diffs[f'{m}+PA-{m}@swd@{s}'])}" for s in up]
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return lines


#: Paired differences that choose the node's default: ``(a, b, what it asks)``, row a minus row b. Negative SWD
#: and positive P(one) favour ``a``.
CHOICES = (
    ("SEGA", "Dy-YaRN", "SEGA against DyPE's default"),
    ("SEGA", "NTK", "SEGA's magnitudes against its NTK frequencies alone"),
    ("SEGA", "PI", "SEGA against the lab's best layout keeper"),
    ("SEGA+PA", "SEGA", "proportional attention on top of SEGA's magnitudes"),
    ("SEGA+PA", "Dy-YaRN+PA", "SEGA against DyPE, both with proportional attention"),
    ("Dy-YaRN+PA", "Dy-YaRN/no-factor+PA", "proportional attention stacked on YaRN's factor, against replacing it"),
    ("Dy-YaRN/no-factor+PA", "Dy-YaRN", "proportional attention replacing YaRN's factor, against the factor alone"),
)


def choices(diffs: dict[str, Cell], scales: list[float]) -> list[str]:
    """The ``CHOICES`` differences per scale (patch SWD and P(one object)) as a markdown table."""
    up = [scale_key(s) for s in scales if s > 1]
    lines = ["| a minus b | " + " | ".join(f"{s}x SWD | {s}x P(one)" for s in up) + " |",
             "|---|" + "---|---|" * len(up)]
    for a, b, what in CHOICES:
        cells = [f"{fmt(diffs[f'{a}-{b}@swd@{s}'])} | {fmt(diffs[f'{a}-{b}@one@{s}'], 2)}" for s in up]
        lines.append(f"| {a} - {b} ({what}) | " + " | ".join(cells) + " |")
    return lines


#: The guide's paired differences: each guided row minus the same row unguided, and the projections against
#: each other (HiFlow's Butterworth minus I-Max's block mean).
GUIDE_PAIRS = tuple((row, row[:row.rindex("+")]) for row in GUIDED_ROWS if row.endswith("+G")) + tuple(
    (row, row[:-1]) for row in GUIDED_ROWS if row.endswith("+GB"))
#: The metrics the guide's tables show: (key, heading).
GUIDE_METRICS = (("one", "P(one object)"), ("zero", "P(no object)"), ("swd", "patch SWD"), ("period", "periodicity"))


def guide_effects(diffs: dict[str, Cell], scales: list[float]) -> list[str]:
    """One table per ``GUIDE_METRICS`` metric: every ``GUIDE_PAIRS`` difference (a minus b, paired) per scale."""
    up = [scale_key(s) for s in scales if s > 1]
    lines: list[str] = []
    for name, heading in GUIDE_METRICS:
        digits = 2 if name in ("one", "zero") else 3
        lines += [f"{heading}, guided minus unguided:", "", "| a - b | " + " | ".join(f"{s}x" for s in up) + " |",
                  "|---|" + "---|" * len(up)]
        for a, b in GUIDE_PAIRS:
            lines.append(f"| {a} - {b} | " + " | ".join(fmt(diffs[f"{a}-{b}@{name}@{s}"], digits) for s in up) + " |")
        lines.append("")
    return lines


def guide_cost(facts: dict[str, object]) -> list[str]:
    """What the guide's native pass costs against the large sample it guides: the 1x sample per image against an
    unguided sample per image at each scale (the median over the unguided rows), both from the cells' timings.
    (Guided and unguided rows may have been sampled in different runs, on other threads: their times are not
    compared; the correction itself is timed by ``benchmarks/guide_cost.py``.)"""
    seconds, counts = facts.get("cell_seconds", {}), facts["counts"]
    native = seconds.get("none@1")
    if not native:
        return []
    per_native = native / counts["1"]
    lines = [f"- The guide's native pass is the 1x sample: {per_native:.2f} s per image."]
    for s in (scale_key(s) for s in facts["scales"] if s > 1):
        unguided = [seconds[f"{b}@{s}"] / counts[s] for _, b in GUIDE_PAIRS if f"{b}@{s}" in seconds]
        if unguided:
            large = float(np.median(unguided))
            lines.append(f"- {s}x: an unguided sample takes {large:.2f} s per image; the native pass adds "
                         f"{per_native / large * 100:.0f}% to it")
    return lines


def leaders(result: dict[str, dict[str, dict[str, Cell]]], scales: list[float]) -> list[str]:
    """Per scale: the rows with the lowest patch SWD and the highest P(one object), with their values."""
    lines, rows = [], [r for r in result if r != REAL]
    for s in (scale_key(s) for s in scales if s > 1):
        swd = sorted(rows, key=lambda r: result[r][s]["swd"].value)[:3]
        one = sorted(rows, key=lambda r: -result[r][s]["one"].value)[:3]
        lines.append(f"- {s}x: lowest SWD " + ", ".join(f"{r} {result[r][s]['swd'].value:.3f}" for r in swd)
                     + "; most often one object " + ", ".join(f"{r} {result[r][s]['one'].value:.2f}" for r in one))
    return lines


def comparisons(scales: list[float], compared: list[str]) -> list[tuple[str, str, str, str]]:
    """Every paired difference the claims use for the ``compared`` treatments (suffixes whose
    gate passed; every row is sampled then), and the attention effects: ``(a, b, metric, scale_key)``."""
    out = []
    for s in (scale_key(s) for s in scales if s > 1) if compared else ():
        for x in compared:
            out += [("PI" + x, "none" + x, "hf", s), ("PI" + x, "Dy-PI" + x, "hf", s)]
            for static, dyn in PAIRS.items():
                out += [(dyn + x, static + x, "swd", s), (dyn + x, static + x, "one", s)]
            out += [("Dy-YaRN" + x, m + x, "swd", s) for m in lab_rope.METHODS if m != "Dy-YaRN"]
        out += [(m + "+PA", m, metric, s) for m in lab_rope.METHODS for metric in ("one", "swd")]
        out += [(a, b, metric, s) for a, b, _ in CHOICES for metric in ("swd", "one")]
        out += [(a, b, metric, s) for a, b in GUIDE_PAIRS for metric, _ in GUIDE_METRICS]
    return out


def write_grid(stored: dict[str, np.ndarray], rows: list[str], scales: list[float], base: int, patch: int,
               path: Path, index: int = 0) -> None:
    """PNG grid: the real scene of seed ``index`` and every sampled row, columns = scales; sample
    ``index`` (the same noise seed and prompt) in every cell, shown at its own resolution."""
    rows = [REAL, *rows]
    fig, axes = plt.subplots(len(rows), len(scales), figsize=(2.0 * len(scales), 2.0 * len(rows)), squeeze=False)
    for r, row in enumerate(rows):
        for c, s in enumerate(scales):
            size = canvas(base, s, patch)
            if row == REAL:  # the scene whose prompt the samples of this column carry
                image = data.render(data.draw_scene(index), size)
            else:
                image = samples_of(stored, row, s)[index]
            axes[r, c].imshow(np.clip((image.transpose(1, 2, 0) + 1) / 2, 0, 1), interpolation="nearest")
            axes[r, c].set_xticks([])
            axes[r, c].set_yticks([])
            if r == 0:
                axes[r, c].set_title(f"{scale_key(s)}x ({size} px)")
            if c == 0:
                axes[r, c].set_ylabel(row)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=72)
    plt.close(fig)


def markdown(result: dict[str, dict[str, dict[str, Cell]]], diffs: dict[str, Cell], facts: dict[str, object]) -> str:
    """The whole ``results.md``: set-up, timings, 1x quality, the gate per attention treatment,
    the claims for every treatment whose gate passed, the attention effects and the tables."""
    scales = [float(s) for s in facts["scales"]]
    counts = facts["counts"]
    compared = list(facts["compared"])
    good, quality = base_quality(result)
    cell_seconds = facts.get("cell_seconds", {})
    slowest = max(cell_seconds, key=cell_seconds.get) if cell_seconds else "n/a"
    sizes = ", ".join(f"{scale_key(s)}x = {canvas(int(facts['base']), s, int(facts['patch']))} px "
                      f"({counts[scale_key(s)]} samples)" for s in scales)
    lines = [
        "# DyPE quality lab: results",
        "",
        "Generated by `python -m lab evaluate` (rewritten from results.json by `python -m lab report`); "
        "do not edit by hand. Design notes and the pilots tried: [notes.md](notes.md).",
        "",
        "## Set-up",
        "",
        "- Data: `lab/data.py` scenes (one coloured object on smooth grey shading with pixel grain); the object "
        "scales with the canvas, so one object is the truth at every size.",
        f"- Model: `{facts.get('weights')}`, a RoPE DiT trained at {facts['base']} px (model `{facts.get('model')}`, "
        f"recipe `{facts.get('train_recipe')}`), rotary tables from `dype_core.build_table` for every method.",
        f"- Scales: {sizes}. Noise seeds 0..n-1, shared by all rows; Euler, {facts['steps']} uniform steps from "
        "t = 1 to 0. At 1x every row is plain RoPE with the trained attention, so one set is sampled and shared.",
        "- Rows: `method` samples with the trained attention, `method+PA` with proportional attention (logits "
        "times sqrt(log N / log N_train), the same factor for every method). `+G` adds the low-resolution guide "
        "(`dype_core.guide`, I-Max's projected flow at the DyPE Guide node's defaults: 2x2 block mean, weights "
        "0.5 (1 + cos(pi i / N))) with the 1x sample of the same seed, upscaled bicubically, as guide; `+GB` the "
        "same with HiFlow's Butterworth low-pass.",
        "- Intervals: 95% bootstrap over the samples of a cell (percentile intervals for per-image means; basic "
        "intervals for the set distances `swd`, `lf`, `hf`, whose resamples are biased upwards by duplicated "
        "images, so an estimate can sit near or just outside the edge of its interval); row differences use "
        "a paired bootstrap (the rows share their noise seeds).",
        f"- Machine: {facts.get('machine')}. Training took {float(facts.get('train_seconds', float('nan'))):.0f} s; "
        f"sampling took {float(facts.get('sample_seconds', float('nan'))):.0f} s (slowest cell {slowest}: "
        f"{float(cell_seconds.get(slowest, float('nan'))):.0f} s); measuring took "
        f"{float(facts.get('measure_seconds', float('nan'))):.0f} s.",
        "",
        "![rows x scales](grid.png)",
        "",
        "## Gate: is the model good at 1x, and does plain RoPE repeat content above it?",
        "",
        quality,
        "",
    ]
    passed_any = False
    for suffix in ATTENTION:
        passed, gate_lines = gate(result, scales, suffix)
        passed_any |= passed
        lines += [f"### Plain RoPE with {treatment_name(suffix)} (`none{suffix}`)", "", *gate_lines, "",
                  f"**Gate {'passed' if passed else 'not passed'}** with {treatment_name(suffix)}.", ""]
    if not compared and passed_any:
        lines += ["The comparison of methods was not run: this run stopped after the gate (`--gate-only`); "
                  "`python -m lab evaluate` runs it.", ""]
    elif not compared:
        lines += ["The comparison of methods was not run: it counts only once plain RoPE fails by repetition "
                  "at some scale while 1x is good (see docs/lab/notes.md for what was tried).", ""]
    for suffix in compared:
        lines += [f"## The paper's claims, point by point, with {treatment_name(suffix)}", "",
                  *claims(diffs, result, scales, suffix), ""]
    if compared:
        lines += ["## Proportional attention's effect (method+PA minus method, paired)", "",
                  *attention_effects(diffs, scales), "",
                  "## SEGA, and how proportional attention meets YaRN's factor (paired)", "",
                  *choices(diffs, scales), "", "Leaders:", "", *leaders(result, scales), "",
                  "## The low-resolution guide (paired differences)", "", *guide_effects(diffs, scales),
                  "What the guide costs here (sampling time per image):", "", *guide_cost(facts), ""]
    lines += ["## Tables (value [95% interval])", "", *metric_tables(result, scales)]
    return "\n".join(lines) + "\n"
