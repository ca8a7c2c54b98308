"""The one timer of the benchmarks: a median wall time after a warm-up call."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch


def median_seconds(run: Callable[[], object], repeats: int, device: str = "cpu") -> float:
    """The median seconds of ``repeats`` calls of ``run`` after one warm-up call; on CUDA each call is timed
    between two synchronisations, so that queued kernels count."""
    run()
    samples = []
    for _ in range(repeats):
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        run()
        if device == "cuda":
            torch.cuda.synchronize()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)
