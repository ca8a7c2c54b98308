"""Every family DyPE supports, and two models it must refuse, on the real ComfyUI (``COMFYUI_PATH``).

``real_host/check_families.py`` runs once in ComfyUI's own Python (``COMFYUI_PYTHON``) and
reports every case of ``real_host/tiny_families.py``; each case is one test here. A case whose
model class this ComfyUI lacks is reported as skipped. Skipped when ``COMFYUI_PATH`` is unset.
"""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent / "real_host"
COMFYUI = os.environ.get("COMFYUI_PATH")
pytestmark = pytest.mark.skipif(not COMFYUI, reason="COMFYUI_PATH is unset: no real ComfyUI to test against")


def _cases() -> list[str]:
    """The case names of the table (which imports ComfyUI only to build models)."""
    spec = importlib.util.spec_from_file_location("tiny_families", HERE / "tiny_families.py")
    table = sys.modules[spec.name] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(table)
    return [case.name for case in table.CASES]


@pytest.fixture(scope="module")
def report() -> dict:
    python = os.environ.get("COMFYUI_PYTHON", sys.executable)
    done = subprocess.run(
        [python, str(HERE / "check_families.py")], capture_output=True, text=True, timeout=1200,
        env=dict(os.environ, COMFYUI_PATH=str(Path(COMFYUI).resolve())),
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("case", _cases())
def test_family_on_the_real_host(report: dict, case: str):
    assert case in report["results"], f"check_families.py did not report {case!r}"
    status, reason = report["results"][case]
    print(f"ComfyUI {report['comfyui']}: {status} {case}: {reason}")
    if status == "SKIP":
        pytest.skip(reason)
    assert status == "PASS", reason
