"""The shipped A/B workflow on a real ComfyUI server (``COMFYUI_PATH``), on the CPU.

``tests/real_host/server_run.py`` runs in ComfyUI's own Python (``COMFYUI_PYTHON``, default: this
Python): it starts ``main.py --cpu`` on a free loopback port with tiny random models, queues the
workflow through the HTTP API and checks the result; see its docstring. Skipped when
``COMFYUI_PATH`` is unset.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent / "real_host" / "server_run.py"
COMFYUI = os.environ.get("COMFYUI_PATH")
pytestmark = pytest.mark.skipif(not COMFYUI, reason="COMFYUI_PATH is unset: no real ComfyUI server to run")


def test_ab_workflow_runs_on_a_real_server_and_dype_changes_the_result():
    python = os.environ.get("COMFYUI_PYTHON", sys.executable)
    done = subprocess.run(
        [python, str(SCRIPT), "--comfyui", str(Path(COMFYUI).resolve()), "--timeout", "100"],
        capture_output=True, text=True, timeout=140,
    )
    lines = done.stdout.strip().splitlines()
    assert lines, f"no summary (exit {done.returncode}):\n{done.stderr[-4000:]}"
    summary = json.loads(lines[-1])
    print(json.dumps({k: v for k, v in summary.items() if k != "log_tail"}, indent=2))
    assert summary["ok"], "\n".join(summary["errors"]) + "\n\n" + summary.get("log_tail", "")
    assert done.returncode == 0
    assert summary["status"] == "success"
    assert set(summary["branches"]) == {"Dy-YaRN", "off"}
    assert summary["latent_mean_rel_diff"] > 1e-3
    if summary["vae"].startswith("tiny"):
        assert summary["image_mean_abs_diff"] > 0
    assert summary["dype_log_lines"], "no DyPE plan line in the server log"


@pytest.mark.parametrize("name", ["flux1_ab_guide_1024_to_4096.json"])
def test_the_guide_workflow_runs_on_a_real_server_and_the_guide_changes_the_result(name):
    """The FLUX.1 guide A/B queued as it ships (tiny models, shrunk): the native pass, the latent upscale, the
    DyPE Guide and both large passes run; the guided latent differs from the unguided one."""
    python = os.environ.get("COMFYUI_PYTHON", sys.executable)
    workflow = Path(__file__).resolve().parents[1] / "workflows" / name
    done = subprocess.run(
        [python, str(SCRIPT), "--comfyui", str(Path(COMFYUI).resolve()), "--workflow", str(workflow),
         "--timeout", "100"], capture_output=True, text=True, timeout=140,
    )
    lines = done.stdout.strip().splitlines()
    assert lines, f"no summary (exit {done.returncode}):\n{done.stderr[-4000:]}"
    summary = json.loads(lines[-1])
    print(json.dumps({k: v for k, v in summary.items() if k != "log_tail"}, indent=2))
    assert summary["ok"], "\n".join(summary["errors"]) + "\n\n" + summary.get("log_tail", "")
    assert summary["guided_vs_unguided_mean_rel_diff"] > 1e-3
    assert any("guide weight 1.00" in line for line in summary["dype_log_lines"]), summary["dype_log_lines"]
    assert summary["guide_log_lines"], "no DyPE Guide line in the server log"
