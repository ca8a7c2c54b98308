"""Sample every method at every scale and measure the samples against real images.

Scale ``s`` means a canvas of ``s`` times the training size on each side. Every method draws
the same ``count`` samples (noise seeds ``0 .. count - 1``) with the same Euler sampler and
steps. At ``1x`` every method is plain RoPE (all axis scales are 1, where ``dype_core``
returns the plain frequencies bitwise), so one set is sampled and shared.

Real references are rendered by ``lab.data`` at the same size: ``REAL_COUNT`` scenes from
seeds ``0 ..`` as the reference set, and ``count`` scenes from seeds ``FLOOR_SEED0 ..`` as a
"real" row that gives every metric's floor (real against real).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from . import data, metrics
from . import rope as lab_rope
from .model import DiT
from .sample import noise_for, sample

#: Real reference images per scale.
REAL_COUNT = 64
#: First scene seed of the "real" row (disjoint from the reference set and from training).
FLOOR_SEED0 = 5000
#: Row name of the real-against-real floor.
REAL = "real"
#: Metric keys in report order (described in ``lab.report.DESCRIPTIONS``).
METRICS = ("one", "zero", "objects", "swd", "lf", "hf", "period")


@dataclass(frozen=True)
class Cell:
    """Estimate and 95% bootstrap interval of one metric."""

    value: float
    low: float
    high: float


def cell_key(method: str, scale: int) -> str:
    """Storage key of a method's samples at a scale."""
    return f"{method}@{scale}"


def generate(
    model: DiT, scales: list[int], counts: dict[int, int], steps: int, batch: int, runs: Path,
) -> dict[str, float]:
    """Sample every method at every scale into ``runs/samples.npz`` (float16); returns seconds per cell."""
    runs.mkdir(parents=True, exist_ok=True)
    base = model.config.image_size
    stored: dict[str, np.ndarray] = {}
    seconds: dict[str, float] = {}
    for scale in scales:
        for method, settings in lab_rope.METHODS.items():
            if scale == 1 and method != "none":
                continue
            start = time.perf_counter()
            chunks = []
            for first in range(0, counts[scale], batch):
                n = min(batch, counts[scale] - first)
                chunks.append(sample(model, noise_for(first, n, base * scale), settings, steps))
            stored[cell_key(method, scale)] = torch.cat(chunks).clamp(-1, 1).numpy().astype(np.float16)
            seconds[cell_key(method, scale)] = time.perf_counter() - start
            print(f"sampled {method:8s} {scale}x: {counts[scale]} images in {seconds[cell_key(method, scale)]:.0f} s",
                  flush=True)
    np.savez_compressed(runs / "samples.npz", **stored)
    return seconds


def samples_of(stored: dict[str, np.ndarray], method: str, scale: int) -> np.ndarray:
    """A method's samples at a scale (the shared plain set at 1x)."""
    return stored[cell_key("none" if scale == 1 else method, scale)].astype(np.float32)


class CellMetrics:
    """All metrics of one set of images against the real reference of its size, bootstrappable
    over the images of the set (``stat(name)(idx)``)."""

    def __init__(self, images: np.ndarray, real: np.ndarray, real_spectra: np.ndarray, seed: int) -> None:
        self.n = images.shape[0]
        self.counts = metrics.count_objects(images)
        self.period = metrics.periodicity(images)
        self.spectra, self.freqs = metrics.radial_spectrum(images)
        self.real_spectra = real_spectra
        self.swd = metrics.PatchSWD(images, real, seed=seed)

    def stat(self, name: str) -> Callable[[np.ndarray], float]:
        """The statistic ``name`` as a function of resampled indices."""
        if name == "one":
            return lambda idx: float(np.mean(self.counts[idx] == 1))
        if name == "zero":
            return lambda idx: float(np.mean(self.counts[idx] == 0))
        if name == "objects":
            return lambda idx: float(np.mean(self.counts[idx]))
        if name == "period":
            return lambda idx: float(np.mean(self.period[idx]))
        if name == "swd":
            return self.swd
        band = 0 if name == "lf" else 1
        return lambda idx: metrics.spectrum_error(self.spectra[idx], self.real_spectra, self.freqs)[band]


#: Bootstrap resamples: many for the cheap per-image statistics, fewer for the set-level ones.
RESAMPLES = {"one": 1000, "zero": 1000, "objects": 1000, "period": 1000, "swd": 200, "lf": 300, "hf": 300}
#: Set-level statistics (a distance between sets), which use the basic bootstrap interval.
SET_LEVEL = frozenset({"swd", "lf", "hf"})


def interval(statistic: Callable[[np.ndarray], float], n: int, name: str, seed: int) -> Cell:
    """The bootstrap cell of metric ``name``: percentile interval for per-image means, basic
    interval for set-level distances."""
    return Cell(*metrics.bootstrap(statistic, n, RESAMPLES[name], seed=seed, basic=name in SET_LEVEL))


def measure(
    stored: dict[str, np.ndarray], scales: list[int], base: int,
) -> tuple[dict[str, dict[str, dict[str, Cell]]], dict[tuple[str, int], CellMetrics]]:
    """``result[row][scale][metric]`` for every method and the real floor row, and the
    ``CellMetrics`` of every method and scale (for paired differences)."""
    result: dict[str, dict[str, dict[str, Cell]]] = {}
    cells: dict[tuple[str, int], CellMetrics] = {}
    for scale in scales:
        size = base * scale
        real = data.batch(range(REAL_COUNT), size).numpy()
        real_spectra, _ = metrics.radial_spectrum(real)
        count = samples_of(stored, "none", scale).shape[0]
        floor = data.batch(range(FLOOR_SEED0, FLOOR_SEED0 + count), size).numpy()
        for row in [REAL, *lab_rope.METHODS]:
            images = floor if row == REAL else samples_of(stored, row, scale)
            cm = CellMetrics(images, real, real_spectra, seed=scale)
            cells[(row, scale)] = cm
            result.setdefault(row, {})[str(scale)] = {
                name: interval(cm.stat(name), cm.n, name, scale)
                for name in METRICS
            }
        print(f"measured {scale}x", flush=True)
    return result, cells


def paired_difference(cells: dict[tuple[str, int], CellMetrics], a: str, b: str, scale: int, name: str) -> Cell:
    """Metric ``name`` of method ``a`` minus that of ``b`` at ``scale``, with a paired bootstrap
    interval (the same resampled noise seeds for both: the methods share their seeds)."""
    sa, sb = cells[(a, scale)].stat(name), cells[(b, scale)].stat(name)
    return interval(lambda idx: sa(idx) - sb(idx), cells[(a, scale)].n, name, scale)


def save_results(
    path: Path, result: dict[str, dict[str, dict[str, Cell]]], diffs: dict[str, Cell], facts: dict[str, object],
) -> None:
    """Write the measured table, the paired differences and the run facts as JSON."""
    table = {row: {s: {m: [c.value, c.low, c.high] for m, c in cells.items()} for s, cells in by.items()}
             for row, by in result.items()}
    pairs = {k: [c.value, c.low, c.high] for k, c in diffs.items()}
    path.write_text(json.dumps({"table": table, "diffs": pairs, "facts": facts}, indent=1) + "\n")


def load_results(
    path: Path,
) -> tuple[dict[str, dict[str, dict[str, Cell]]], dict[str, Cell], dict[str, object]]:
    """Inverse of ``save_results``."""
    raw = json.loads(path.read_text())
    table = {row: {s: {m: Cell(*v) for m, v in cells.items()} for s, cells in by.items()}
             for row, by in raw["table"].items()}
    return table, {k: Cell(*v) for k, v in raw["diffs"].items()}, raw["facts"]
