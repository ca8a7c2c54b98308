"""The pack on the real ComfyUI (``COMFYUI_PATH``), run in ComfyUI's own Python (``COMFYUI_PYTHON``).

Skipped when ``COMFYUI_PATH`` is unset. Each script prints one JSON object of checks.
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


def run_checks(script: str) -> dict:
    python = os.environ.get("COMFYUI_PYTHON", sys.executable)
    done = subprocess.run(
        [python, str(HERE / script)], capture_output=True, text=True, timeout=600,
        env=dict(os.environ, COMFYUI_PATH=str(Path(COMFYUI).resolve())),
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_flux_family_node_on_the_real_host():
    results = run_checks("check_flux.py")
    print(f"ComfyUI {results.pop('comfyui')}: {len(results)} checks")
    failed = {name: outcome for name, outcome in results.items() if outcome is not True}
    assert not failed, "\n\n".join(f"{name}:\n{outcome}" for name, outcome in failed.items())
    assert len(results) >= 16


def test_the_wan_time_axis_ab_workflow_converts_and_validates_on_the_real_host():
    results = run_checks("check_wan_workflow.py")
    if results.get("missing"):
        pytest.skip(f"ComfyUI {results['comfyui']} has no {results['missing']} in this process")
    assert results["valid"] is True, results
    assert sorted(results["time_axis"].values()) == ["RIFLEx", "off"] and len(results["outputs"]) == 2
