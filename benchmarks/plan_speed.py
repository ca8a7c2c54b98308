"""How long the DyPE Plan node's work takes: the plan and its chart, FLUX.1, 28 steps.

    python benchmarks/plan_speed.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dype_core import FLUX1, plan, simple_schedule  # noqa: E402
from dype_core.chart import render_rgb  # noqa: E402

SIZES = ((1024, 1024), (2048, 2048), (4096, 4096), (4096, 1365))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    sigmas = simple_schedule(28, 1.15)
    start = time.perf_counter()
    render_rgb(plan(FLUX1, 1024, 1024, sigmas))
    print(f"first call (imports matplotlib): {time.perf_counter() - start:.2f} s")
    for width, height in SIZES:
        plans, charts = [], []
        for _ in range(args.repeats):
            start = time.perf_counter()
            result = plan(FLUX1, width, height, sigmas)
            plans.append(time.perf_counter() - start)
            render_rgb(result)
            charts.append(time.perf_counter() - start - plans[-1])
        print(f"{width}x{height}: plan {statistics.median(plans) * 1e3:.0f} ms, "
              f"chart {statistics.median(charts) * 1e3:.0f} ms (median of {args.repeats})")


if __name__ == "__main__":
    main()
