"""The DyPE node's readout in a real browser: the real ComfyUI server and frontend, headless Chromium.

``tests/real_host/browser_readout.py`` runs in this Python, which needs Playwright (``pip install
playwright``; the system Chromium is used, no ``playwright install``) and torch + safetensors for the
tiny models; the server runs in ComfyUI's own Python (``COMFYUI_PYTHON``, default: this Python). It
loads a shipped A/B workflow in the page, queues it for the page's client id on tiny random models,
checks the readout on both DyPE nodes, saves screenshots, and checks that a prompt queued without a
client id sends the page nothing; see its docstring. Skipped unless ``COMFYUI_PATH`` is set,
Playwright is importable and a Chromium binary is found (``CHROMIUM_PATH`` or ``chromium`` on PATH).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent / "real_host" / "browser_readout.py"
COMFYUI = os.environ.get("COMFYUI_PATH")


def find_chromium() -> str | None:
    for candidate in (os.environ.get("CHROMIUM_PATH"), "chromium", "chromium-browser", "/usr/bin/chromium"):
        if candidate and (found := shutil.which(candidate)):
            return found
    return None


def skip_reason() -> str | None:
    if not COMFYUI:
        return "COMFYUI_PATH is unset: no real ComfyUI server to open in a browser"
    if importlib.util.find_spec("playwright") is None:
        return f"playwright is not importable in {sys.executable} (pip install playwright)"
    if find_chromium() is None:
        return "no Chromium binary (set CHROMIUM_PATH or put chromium on PATH)"
    missing = [name for name in ("torch", "safetensors") if importlib.util.find_spec(name) is None]
    if missing:
        return f"{', '.join(missing)} not importable in {sys.executable}: needed for the tiny test models"
    return None


pytestmark = pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or "")


def test_readout_shows_on_the_dype_nodes_in_a_real_browser(tmp_path):
    python = os.environ.get("COMFYUI_PYTHON", sys.executable)
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--comfyui", str(Path(COMFYUI).resolve()), "--python", python,
         "--chromium", find_chromium(), "--out", str(tmp_path), "--timeout", "150"],
        capture_output=True, text=True, timeout=175,
    )
    lines = done.stdout.strip().splitlines()
    assert lines, f"no summary (exit {done.returncode}):\n{done.stderr[-4000:]}"
    summary = json.loads(lines[-1])
    print(json.dumps({k: v for k, v in summary.items() if k != "log_tail"}, indent=2, ensure_ascii=False))
    assert summary["ok"], "\n".join(summary["errors"]) + "\n\n" + summary.get("log_tail", "")
    assert done.returncode == 0
    for warning in summary["warnings"]:
        warnings.warn(warning, UserWarning, stacklevel=1)

    assert summary["extension_registered"]
    assert summary["placeholder"] == {"9": "DyPE: no run yet", "13": "DyPE: no run yet"}
    assert "DyPE 2x2" in summary["readouts"]["9"]["badge"] and "Dy-YaRN" in summary["readouts"]["9"]["badge"]
    assert summary["readouts"]["13"]["badge"].startswith("DyPE off")
    assert summary["readout_events"] == 2
    headless = summary["headless"]
    assert headless["status"] == "success"
    assert headless["readout_events_total"] == 2 and headless["stored_unchanged"]
    assert not summary["pack_console_problems"]

    shot = Path(summary["screenshots"]["node"])
    assert shot.parent == tmp_path and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "readout_page.png").is_file()


def test_three_alike_dype_nodes_each_show_their_own_run_and_the_guided_one_its_weights(tmp_path):
    """The FLUX.1 guide A/B: three DyPE nodes with the same settings (native pass, A, B), so ComfyUI's cache must
    not hand one node's patched model to another (the DyPE node is not idempotent); each gets its own readout and
    only A's, whose model the DyPE Guide patches, shows the guide's weights."""
    python = os.environ.get("COMFYUI_PYTHON", sys.executable)
    workflow = Path(__file__).resolve().parents[1] / "workflows" / "flux1_ab_guide_1024_to_4096.json"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--comfyui", str(Path(COMFYUI).resolve()), "--python", python,
         "--chromium", find_chromium(), "--out", str(tmp_path), "--timeout", "150", "--workflow", str(workflow)],
        capture_output=True, text=True, timeout=175,
    )
    lines = done.stdout.strip().splitlines()
    assert lines, f"no summary (exit {done.returncode}):\n{done.stderr[-4000:]}"
    summary = json.loads(lines[-1])
    assert summary["ok"], "\n".join(summary["errors"]) + "\n\n" + summary.get("log_tail", "")
    readouts = summary["readouts"]
    assert summary["readout_events"] == len(readouts) == 3
    guided = [node for node, readout in readouts.items() if "guide weight 1 → " in readout["lines"]]
    assert len(guided) == 1, readouts
