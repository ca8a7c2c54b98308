"""DyPE inside larger graphs on the real ComfyUI (``COMFYUI_PATH``), run in ComfyUI's own Python.

EasyCache and LazyCache after DyPE, Kontext-style edits with every reference method and
``FluxKVCache``, and a two-pass hires fix / img2img. Skipped when ``COMFYUI_PATH`` is unset.
A check reported as a string starting with ``skipped`` needs what this ComfyUI lacks (or fails
there without DyPE too) and counts as passed.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent / "real_host"
COMFYUI = os.environ.get("COMFYUI_PATH")
pytestmark = pytest.mark.skipif(not COMFYUI, reason="COMFYUI_PATH is unset: no real ComfyUI to test against")


def test_dype_in_cache_edit_and_two_pass_graphs():
    python = os.environ.get("COMFYUI_PYTHON", sys.executable)
    done = subprocess.run(
        [python, str(HERE / "check_graphs.py")], capture_output=True, text=True, timeout=900,
        env=dict(os.environ, COMFYUI_PATH=str(Path(COMFYUI).resolve())),
    )
    assert done.returncode == 0, done.stderr[-4000:]
    results = json.loads(done.stdout.strip().splitlines()[-1])
    version, info = results.pop("comfyui"), results.pop("info", {})
    skipped = {name: outcome for name, outcome in results.items()
               if isinstance(outcome, str) and outcome.startswith("skipped")}
    print(f"ComfyUI {version}: {len(results)} checks, {len(skipped)} skipped; {info}")
    for name, outcome in skipped.items():
        print(f"  {name}: {outcome}")
    failed = {name: outcome for name, outcome in results.items() if outcome is not True and name not in skipped}
    assert not failed, "\n\n".join(f"{name}:\n{outcome}" for name, outcome in failed.items())
    assert len(results) >= 20 and len(skipped) < len(results) // 2
