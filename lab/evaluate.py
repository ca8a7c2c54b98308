"""Sample every method at every scale and measure the samples against real images.

Scale ``s`` means a canvas of ``s`` times the training size on each side (fractional scales
such as 1.25 included, as long as the canvas is a whole number of patches). A *row* is a
method with an attention treatment: ``"YaRN"`` samples with the trained attention,
``"YaRN+PA"`` with proportional attention (``dype_core.attention.proportional_factor``). Every row
draws the same samples (noise seeds ``0 .. count - 1``, each prompted with the scene of its
seed, ``lab.data.conditions``) with the same Euler sampler and steps.
At ``1x`` every row is plain RoPE with the trained attention (all axis scales are 1, where
``dype_core`` returns the plain frequencies bitwise, and the attention factor is 1), so one set
is sampled and shared.

A guided row (``"SEGA+G"``, ``"SEGA+PA+G"``) samples as its method does, with a low-resolution
guide (``dype_core.guide``, I-Max's projected flow): the 1x sample of the same seed, upscaled to the
canvas. ``+G`` projects by I-Max's block mean, ``+GB`` by HiFlow's Butterworth low-pass. At 1x the
guide would be the sample itself, so guided rows share the plain set there too.

Real references are rendered by ``lab.data`` at the same size: ``REAL_COUNT`` scenes from
seeds ``0 ..`` as the reference set (the scenes whose prompts the samples carry), and
``count`` scenes from seeds ``FLOOR_SEED0 ..`` as a "real" row that gives every metric's floor
(real against real).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from dype_core import DyPESettings
from dype_core import guide as core_guide
from dype_core.menu import DEFAULT_GUIDE_STRENGTH, GUIDE_PROJECTIONS

from . import data, metrics
from . import rope as lab_rope
from .model import DiT
from .sample import Guide, noise_for, sample

#: Real reference images per scale.
REAL_COUNT = 64
#: First scene seed of the "real" row (disjoint from the reference set and from training).
FLOOR_SEED0 = 5000
#: Row name of the real-against-real floor.
REAL = "real"
#: Metric keys in report order (described in ``lab.report.DESCRIPTIONS``).
METRICS = ("one", "zero", "objects", "swd", "lf", "hf", "period")
#: Attention treatments: row-label suffix -> proportional attention on.
ATTENTION = {"": False, "+PA": True}
#: The rows the gate needs: plain RoPE under every attention treatment.
GATE_ROWS = tuple("none" + suffix for suffix in ATTENTION)
#: Guide treatments: row-label suffix -> the DyPE Guide node's projection. I-Max's 2x2 block mean is one
#: token's pixels here (the lab has no VAE; a FLUX token is 2x2 latent pixels), HiFlow's the Butterworth low-pass.
GUIDES: dict[str, core_guide.Projection] = {"+G": GUIDE_PROJECTIONS["I-Max block mean"],
                                            "+GB": GUIDE_PROJECTIONS["HiFlow Butterworth"]}
#: The strength that multiplies I-Max's cosine weights in the lab: the node's default.
GUIDE_STRENGTH = DEFAULT_GUIDE_STRENGTH
#: Guided rows: every method with I-Max's guide; the node's default (SEGA with proportional attention)
#: with both guides; plain RoPE with HiFlow's, to compare the projections.
GUIDED_ROWS = (*(method + "+G" for method in lab_rope.METHODS), "SEGA+PA+G", "none+GB", "SEGA+PA+GB")


@dataclass(frozen=True)
class Recipe:
    """How a row samples: rotary settings (None: plain RoPE), proportional attention, and the guide's
    projection (None: unguided)."""

    settings: DyPESettings | None
    proportional: bool
    projection: core_guide.Projection | None = None


@dataclass(frozen=True)
class Cell:
    """Estimate and 95% bootstrap interval of one metric."""

    value: float
    low: float
    high: float


def rows_of(treatments: Iterable[str]) -> dict[str, tuple[DyPESettings | None, bool]]:
    """Every method under each attention treatment (a suffix of ``ATTENTION``), in report order:
    row label -> (rotary settings, proportional attention)."""
    return {method + suffix: (settings, ATTENTION[suffix])
            for suffix in treatments for method, settings in lab_rope.METHODS.items()}


def recipe(row: str) -> Recipe:
    """The ``Recipe`` of a row label: a method, an attention suffix, then a guide suffix."""
    projection = next((proj for suffix, proj in GUIDES.items() if row.endswith(suffix)), None)
    base = row[:row.rindex("+")] if projection is not None else row
    methods = rows_of(ATTENTION)
    if base not in methods:
        raise ValueError(f"unknown lab row {row!r}: choose from {[*methods, *GUIDED_ROWS]}")
    return Recipe(*methods[base], projection)


def scale_key(scale: float) -> str:
    """Storage and display key of a scale: ``1``, ``1.25``, ``2``."""
    return f"{scale:g}"


def canvas(base: int, scale: float, patch: int) -> int:
    """Side in pixels of the ``scale`` canvas; it must be a whole number of patches."""
    size = base * scale
    if size != round(size) or round(size) % patch:
        raise ValueError(f"scale {scale:g} gives a {size:g} px canvas, not a multiple of the {patch} px patch")
    return round(size)


def cell_key(row: str, scale: float) -> str:
    """Storage key of a row's samples at a scale."""
    return f"{row}@{scale_key(scale)}"


def sample_row(
    model: DiT, row: str, size: int, seeds: range, steps: int,
    on_step: Callable[[float, torch.Tensor], None] | None = None,
    native: torch.Tensor | None = None,
) -> torch.Tensor:
    """``row``'s samples of noise seeds ``seeds`` on a ``size`` px canvas, each prompted with the
    scene of its seed (``lab.sample.sample`` with the row's rotary settings and attention). A guided
    row needs ``native``, the 1x samples of the same seeds, which it upscales into its guide."""
    row_recipe = recipe(row)
    guide = None
    if row_recipe.projection is not None:
        if native is None:
            raise ValueError(f"the guided row {row} needs the 1x samples of its seeds")
        image = core_guide.resize(native, (len(seeds), native.shape[1], size, size))
        guide = Guide(image, row_recipe.projection, GUIDE_STRENGTH)
    return sample(model, noise_for(seeds.start, len(seeds), size), data.conditions(seeds), row_recipe.settings,
                  steps, row_recipe.proportional, on_step, guide)


def generate(
    model: DiT, rows: list[str], scales: list[float], counts: dict[float, int], steps: int, batch: int,
    stored: dict[str, np.ndarray],
) -> dict[str, float]:
    """Sample ``rows`` at every scale into ``stored`` (float16; cells already there are kept, and
    at 1x only the shared plain set is drawn); returns seconds per new cell."""
    base, patch = model.config.image_size, model.config.patch
    seconds: dict[str, float] = {}
    for scale in scales:
        size = canvas(base, scale, patch)
        for row in rows:
            key = cell_key("none" if scale == 1 else row, scale)
            if key in stored:
                continue
            start = time.perf_counter()
            chunks = [sample_row(model, row, size, seeds, steps, native=_native(stored, row, seeds))
                      for seeds in (range(first, min(first + batch, counts[scale]))
                                    for first in range(0, counts[scale], batch))]
            stored[key] = torch.cat(chunks).clamp(-1, 1).numpy().astype(np.float16)
            seconds[key] = time.perf_counter() - start
            print(f"sampled {row:12s} {scale_key(scale)}x: {counts[scale]} images in {seconds[key]:.0f} s", flush=True)
    return seconds


def _native(stored: dict[str, np.ndarray], row: str, seeds: range) -> torch.Tensor | None:
    """The stored 1x samples of ``seeds`` for a guided row (``None`` for the others)."""
    if recipe(row).projection is None:
        return None
    return torch.from_numpy(samples_of(stored, "none", 1)[seeds.start:seeds.stop])


def object_trace(model: DiT, row: str, scale: float, count: int, steps: int) -> list[tuple[float, float, float]]:
    """When does a row's object appear and stay? ``(t, P(one object), P(no object))`` of the
    model's clean-image prediction at every sampling step (``lab.sample.sample``'s ``on_step``),
    over the samples of seeds ``0 .. count - 1`` at ``scale``, drawn as ``generate`` draws them.
    DyPE assumes the object is settled while ``k(t)`` is still large; a row whose object appears
    and then vanishes late breaks that assumption."""
    size = canvas(model.config.image_size, scale, model.config.patch)
    native = None
    if recipe(row).projection is not None:
        native = sample_row(model, "none", model.config.image_size, range(count), steps).clamp(-1, 1)
        native = native.to(torch.float16).float()  # as generate stores it
    predictions: list[tuple[float, torch.Tensor]] = []
    sample_row(model, row, size, range(count), steps, on_step=lambda t, x0: predictions.append((t, x0.clamp(-1, 1))),
               native=native)
    trace = []
    for t, x0 in predictions:
        objects = metrics.count_objects(x0)
        trace.append((t, float(np.mean(objects == 1)), float(np.mean(objects == 0))))
    return trace


def samples_of(stored: dict[str, np.ndarray], row: str, scale: float) -> np.ndarray:
    """A row's samples at a scale (the shared plain set at 1x)."""
    return stored[cell_key("none" if scale == 1 else row, scale)].astype(np.float32)


class CellMetrics:
    """All metrics of one set of images against the real reference of its size, bootstrappable
    over the images of the set (``stat(name)(idx)``)."""

    def __init__(self, images: np.ndarray, real: np.ndarray, real_spectra: np.ndarray) -> None:
        self.n = images.shape[0]
        self.counts = metrics.count_objects(images)
        self.period = metrics.periodicity(images)
        self.spectra, self.freqs = metrics.radial_spectrum(images)
        self.real_spectra = real_spectra
        self.swd = metrics.PatchSWD(images, real)

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


def interval(statistic: Callable[[np.ndarray], float], n: int, name: str) -> Cell:
    """The bootstrap cell of metric ``name``: percentile interval for per-image means, basic
    interval for set-level distances."""
    return Cell(*metrics.bootstrap(statistic, n, RESAMPLES[name], basic=name in SET_LEVEL))


def measure(
    stored: dict[str, np.ndarray], rows: list[str], scales: list[float], base: int,
) -> tuple[dict[str, dict[str, dict[str, Cell]]], dict[tuple[str, str], CellMetrics]]:
    """``result[row][scale_key][metric]`` for ``rows`` and the real floor row, and the
    ``CellMetrics`` of every row and scale key (for paired differences)."""
    result: dict[str, dict[str, dict[str, Cell]]] = {}
    cells: dict[tuple[str, str], CellMetrics] = {}
    for scale in scales:
        size, key = round(base * scale), scale_key(scale)
        real = data.batch(range(REAL_COUNT), size).numpy()
        real_spectra, _ = metrics.radial_spectrum(real)
        count = samples_of(stored, "none", scale).shape[0]
        floor = data.batch(range(FLOOR_SEED0, FLOOR_SEED0 + count), size).numpy()
        for row in [REAL, *rows]:
            images = floor if row == REAL else samples_of(stored, row, scale)
            cm = CellMetrics(images, real, real_spectra)
            cells[(row, key)] = cm
            result.setdefault(row, {})[key] = {name: interval(cm.stat(name), cm.n, name) for name in METRICS}
        print(f"measured {key}x", flush=True)
    return result, cells


def paired_difference(cells: dict[tuple[str, str], CellMetrics], a: str, b: str, key: str, name: str) -> Cell:
    """Metric ``name`` of row ``a`` minus that of ``b`` at scale ``key``, with a paired bootstrap
    interval (the same resampled noise seeds for both: the rows share their seeds)."""
    sa, sb = cells[(a, key)].stat(name), cells[(b, key)].stat(name)
    return interval(lambda idx: sa(idx) - sb(idx), cells[(a, key)].n, name)


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
