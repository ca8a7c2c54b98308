"""Regenerate every picture and text in ``docs/`` that the code draws, so they cannot drift.

    .venv/bin/python tools/docs_pictures.py [--out DIR]        (``make docs``; DIR defaults to docs/)

Writes into DIR:

- ``plan_flux_4096.png``, ``plan_flux_2048.png``, ``plan_flux_panorama.png`` (4096x1365): the charts
  of the command line itself, ``python -m dype_core plan --model flux --width W --height H --steps 28
  --method Dy-YaRN --proportional-attention off --chart PATH``, run in this process through
  ``dype_core.__main__.main``;
- ``plan_flux_4096.txt``: what that command prints for 4096x4096 with ``--chart -`` (no chart, so
  the text names no path and does not depend on DIR);
- ``dype_node_readout.png``: the DyPE node's readout after a FLUX.1 run at 4096x4096, 28 steps,
  ``mu`` 1.15. The readout is the message the pack sends (``nodes/readout.py``'s ``readout`` of a
  real plan), shown by the pack's own ``web/dype_readout.js`` (``formatReadout``, ``drawChart``) in
  a static page styled as ``web/dype.js`` styles the node's widget, and photographed by headless
  Chromium (``chromium``, ``chromium-browser`` or ``$CHROMIUM_PATH``). The page and the pack's
  ``web/`` folder are served from a temporary folder on 127.0.0.1 (ES modules do not load from
  ``file://``). Without Chromium this picture is skipped with one line saying how to get it; the
  others are still written and the exit status is 0.

``nodes/readout.py`` is part of the node pack, which ComfyUI imports as a package (its imports are
relative). It is loaded here as the tests load it, with ``tests/pack.py``'s ``load_pack`` (the
package ``comfyui_dype``). The readout and what it imports (``dype_core``, ``nodes/time_shift.py``)
need no ComfyUI modules, so the host stand-in (``tests/standin``) is not needed.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.server
import importlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
STEPS = 28
#: The plan charts: file name -> (width, height) in pixels.
PLAN_CHARTS = {
    "plan_flux_4096.png": (4096, 4096),
    "plan_flux_2048.png": (2048, 2048),
    "plan_flux_panorama.png": (4096, 1365),
}
PLAN_TEXT = "plan_flux_4096.txt"
PLAN_TEXT_SIZE = (4096, 4096)

READOUT = "dype_node_readout.png"
READOUT_SIZE = (4096, 4096)  # pixels of the run the readout shows
READOUT_MU = 1.15  # FLUX.1 dev's own time shift (time_shift "model")
#: The readout widget in CSS px: web/dype.js gives it at least 215 px; its chart is 90 px tall.
WIDGET = (360, 215)
MARGIN = 10  # CSS px of node body around the widget
CHART_HEIGHT = 90  # CSS px, web/dype.js CHART_HEIGHT
DEVICE_SCALE = 2  # a sharp picture: the chart follows devicePixelRatio as in the browser
#: The k(t) series colour of the chart (web/dype_readout.js CHART_COLORS.kappa): its pixels prove the chart was drawn.
KAPPA_RGB = (0xF0, 0xB4, 0x29)
CHROMIUM_NAMES = ("chromium", "chromium-browser")
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    # Nothing but the loopback server: every other host name fails to resolve.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]

# The page: the widget's elements and inline styles as web/dype.js builds them (with its CSS variables'
# fallbacks), on the node's body colour; the module script does what dype.js's show() and drawInto() do.
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>DyPE readout</title>
<style>
  html, body { margin: 0; background: #353535; }
  #root { display: flex; flex-direction: column; gap: 3px; box-sizing: border-box; padding: 4px 6px;
          font: 11px/1.35 monospace; color: #aaa; overflow: hidden; background: #222; border-radius: 6px;
          margin: @MARGIN@px; width: @WIDTH@px; height: @HEIGHT@px; }
  #badge { font-weight: bold; color: #ddd; white-space: nowrap; }
  #lines { white-space: pre; overflow: hidden; text-overflow: ellipsis; }
  #chart { width: 100%; height: @CHART@px; display: block; }
</style></head>
<body><div id="root"><div id="badge"></div><div id="lines"></div><canvas id="chart"></canvas></div>
<script type="module">
import { drawChart, formatReadout } from "./web/dype_readout.js";

const readout = @READOUT@;
const CHART_HEIGHT = @CHART@;
const text = formatReadout(readout);
document.getElementById("badge").textContent = text.badge;
document.getElementById("lines").textContent = text.lines.join("\\n");
document.getElementById("root").title = text.title;
const canvas = document.getElementById("chart");
const width = Math.max(40, canvas.clientWidth);
const dpr = window.devicePixelRatio || 1;
canvas.width = Math.round(width * dpr);
canvas.height = Math.round(CHART_HEIGHT * dpr);
const ctx = canvas.getContext("2d");
ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
drawChart(ctx, readout, width, CHART_HEIGHT);
</script></body></html>
"""


# ------------------------------------------------------------------------------------- plans

def plan_argv(width: int, height: int, chart: str) -> list[str]:
    """The command line's arguments for DyPE's (Dy-YaRN's) FLUX.1 plan at ``width x height`` over 28 steps: the
    pictures show how DyPE's correction recedes (SEGA, the node's default, changes no frequency over time)."""
    return ["plan", "--model", "flux", "--width", str(width), "--height", str(height), "--steps", str(STEPS),
            "--method", "Dy-YaRN", "--proportional-attention", "off", "--chart", chart]


def run_cli(argv: list[str]) -> str:
    """What ``python -m dype_core ARGV`` prints, run in this process; raises if it fails."""
    from dype_core.__main__ import main as cli

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        status = cli(argv)
    if status not in (0, None):
        raise RuntimeError(f"python -m dype_core {' '.join(argv)} exited with status {status}")
    return printed.getvalue()


def write_plans(out: Path) -> list[Path]:
    """Write the plan charts and the 4096x4096 plan's text into ``out``; returns their paths."""
    written = []
    for name, (width, height) in PLAN_CHARTS.items():
        run_cli(plan_argv(width, height, str(out / name)))
        written.append(out / name)
    text = out / PLAN_TEXT
    text.write_text(run_cli(plan_argv(*PLAN_TEXT_SIZE, "-")), encoding="utf-8")
    written.append(text)
    return written


# ----------------------------------------------------------------------------------- readout

def pack_module(name: str) -> Any:
    """A module of the node pack, imported as ComfyUI imports it (as the tests do: ``tests/pack.py``)."""
    tests = str(ROOT / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)
    from pack import load_pack

    return importlib.import_module(f"{load_pack().__name__}.{name}")


def readout_detail() -> dict[str, Any]:
    """The readout message of a FLUX.1 run at 4096x4096, 28 steps, ``mu`` 1.15 (time shift ``model``)."""
    from dype_core.layout import FLUX1
    from dype_core.plan import plan
    from dype_core.settings import DyPESettings
    from dype_core.shift import simple_schedule

    width, height = READOUT_SIZE
    result = plan(FLUX1, width, height, simple_schedule(STEPS, READOUT_MU), DyPESettings(),
                  time_shift="model", mu=READOUT_MU)
    return pack_module("nodes.readout").readout(result, "1")


def find_chromium() -> str | None:
    """The Chromium to run: ``$CHROMIUM_PATH``, else ``chromium`` or ``chromium-browser`` on PATH."""
    for candidate in (os.environ.get("CHROMIUM_PATH"), *CHROMIUM_NAMES):
        if candidate and (found := shutil.which(candidate)):
            return found
    return None


def page_html(detail: dict[str, Any]) -> str:
    """The static page that shows ``detail`` as the node's readout widget."""
    values = {"@READOUT@": json.dumps(detail), "@MARGIN@": str(MARGIN), "@WIDTH@": str(WIDGET[0]),
              "@HEIGHT@": str(WIDGET[1]), "@CHART@": str(CHART_HEIGHT)}
    html = PAGE
    for key, value in values.items():
        html = html.replace(key, value)
    return html


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files without logging each request; scripts as JavaScript (ES modules need that type)."""

    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, ".js": "text/javascript"}

    def log_message(self, *args: Any) -> None:
        pass


@contextlib.contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve ``folder`` on 127.0.0.1 (an ephemeral port) from a thread; yields its URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="docs-pictures-http", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def kappa_pixels(png: Path) -> int:
    """How many pixels of ``png`` have the chart's k(t) colour."""
    import matplotlib.image
    import numpy as np

    rgb = matplotlib.image.imread(png)[..., :3] * 255.0
    return int((np.abs(rgb - np.array(KAPPA_RGB)).sum(axis=-1) < 60).sum())


def screenshot(chromium: str, url: str, png: Path, size: tuple[int, int], profile: Path) -> None:
    """Photograph ``url`` at ``size`` CSS px (times the device scale) into ``png`` with headless Chromium."""
    command = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={size[0]},{size[1]}",
               f"--force-device-scale-factor={DEVICE_SCALE}", f"--screenshot={png}", url]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if result.returncode != 0 or not png.is_file():
        raise RuntimeError(f"{chromium} wrote no screenshot (exit status {result.returncode}):\n{result.stderr}")


def write_readout(out: Path, chromium: str) -> Path:
    """Write the node readout picture into ``out`` with ``chromium``; returns its path."""
    png = out / READOUT
    with tempfile.TemporaryDirectory(prefix="dype-docs-") as folder:
        site = Path(folder, "site")
        site.mkdir()
        (site / "index.html").write_text(page_html(readout_detail()), encoding="utf-8")
        (site / "web").symlink_to(ROOT / "web", target_is_directory=True)  # the pack's own scripts
        size = (WIDGET[0] + 2 * MARGIN, WIDGET[1] + 2 * MARGIN)
        shot = Path(folder, READOUT)
        with serve(site) as url:
            screenshot(chromium, url + "index.html", shot, size, Path(folder, "profile"))
        if kappa_pixels(shot) < 50:
            raise RuntimeError(f"the readout picture shows no k(t) curve: the page's script did not run ({url})")
        shutil.copyfile(shot, png)
    return png


# -------------------------------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    """Write every picture and text into ``--out`` (default docs/); 0 also when the readout is skipped."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DOCS, help="folder to write into (default: docs/)")
    args = parser.parse_args(argv)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))  # dype_core without an installed pack
    args.out.mkdir(parents=True, exist_ok=True)
    written = write_plans(args.out)
    chromium = find_chromium()
    if chromium is not None:
        written.append(write_readout(args.out, chromium))
    for path in written:
        print(f"wrote {path}")
    if chromium is None:
        print(f"{READOUT} skipped: no Chromium found (chromium, chromium-browser or $CHROMIUM_PATH); "
              "install it (apt-get install chromium) or set CHROMIUM_PATH, then run make docs again")
    return 0


if __name__ == "__main__":
    sys.exit(main())
