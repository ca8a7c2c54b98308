"""The property-based input sweep on the real ComfyUI (``COMFYUI_PATH``): ``real_host/check_inputs.py`` in
ComfyUI's own Python (``COMFYUI_PYTHON``), which needs ``hypothesis`` installed there. Skipped without either."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent / "real_host"
COMFYUI = os.environ.get("COMFYUI_PATH")
PYTHON = os.environ.get("COMFYUI_PYTHON", sys.executable)


def _has_hypothesis() -> bool:
    return subprocess.run([PYTHON, "-c", "import hypothesis"], capture_output=True).returncode == 0


pytestmark = [
    pytest.mark.skipif(not COMFYUI, reason="COMFYUI_PATH is unset: no real ComfyUI to test against"),
    pytest.mark.skipif(bool(COMFYUI) and not _has_hypothesis(),
                       reason=f"hypothesis is not installed in {PYTHON} (pip install hypothesis)"),
]


def test_every_api_input_is_refused_clearly_or_runs_finite_on_the_real_host():
    done = subprocess.run([PYTHON, str(HERE / "check_inputs.py")], capture_output=True, text=True, timeout=1200,
                          env=dict(os.environ, COMFYUI_PATH=str(Path(COMFYUI).resolve())))
    assert done.returncode == 0, done.stderr[-6000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"ComfyUI {report['comfyui']}: {report['outcomes']}")
    for node, counts in report["outcomes"].items():
        assert counts.get("ran") and counts.get("refused at validation"), (node, counts)
