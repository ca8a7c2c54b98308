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


def run_checks(script: str, *args: str) -> dict:
    python = os.environ.get("COMFYUI_PYTHON", sys.executable)
    done = subprocess.run(
        [python, str(HERE / script), *args], capture_output=True, text=True, timeout=600,
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


def test_the_guide_node_on_the_real_host():
    results = run_checks("check_guide.py")
    version, figures = results.pop("comfyui"), results.pop("figures")
    print(f"ComfyUI {version}: {len(results)} guide checks; {figures}")
    failed = {name: outcome for name, outcome in results.items() if outcome is not True}
    assert not failed, "\n\n".join(f"{name}:\n{outcome}" for name, outcome in failed.items())
    assert len(results) == 7


def test_the_wan_time_axis_ab_workflow_converts_and_validates_on_the_real_host():
    name = "wan21_t2v_14b_1280x720_161f_ab.json"
    results = run_checks("check_workflow_prompts.py", name)
    result = results["workflows"][name]
    if result.get("missing"):
        pytest.skip(f"ComfyUI {results['comfyui']} has no {result['missing']} in this process")
    assert result["valid"] is True, result
    time_axes = [inputs["time_axis"] for inputs in result["pack_nodes"].values()]
    assert sorted(time_axes) == ["RIFLEx", "off"] and len(result["outputs"]) == 2


GUIDE_WORKFLOWS = ("flux1_ab_guide_1024_to_4096.json", "zimage_ab_guide_1024_to_2048.json",
                   "qwen_image_ab_guide_1328_to_2656.json")


def test_the_guide_workflows_convert_and_validate_on_the_real_host():
    results = run_checks("check_workflow_prompts.py", *GUIDE_WORKFLOWS)
    for name in GUIDE_WORKFLOWS:
        result = results["workflows"][name]
        assert result["valid"] is True, (name, result)
        guides = [inputs for inputs in result["pack_nodes"].values() if "guide" in inputs]
        assert len(guides) == 1 and guides[0]["strength"] == 1.0, (name, guides)
        assert len(result["outputs"]) == 3, (name, result["outputs"])


def test_qwen_image_controlnets_see_the_model_s_dype_table_on_the_real_host():
    results = run_checks("check_controlnets.py")
    version = results.pop("comfyui")
    failed = {name: outcome for name, outcome in results.items() if outcome is not True}
    report = "\n\n".join(f"{name}:\n{outcome}" for name, outcome in failed.items())
    assert not failed, f"ComfyUI {version}:\n\n{report}"
    assert len(results) == 7
