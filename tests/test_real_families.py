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


#: The newest ComfyUI the pack is verified on (README), and the classes the pack names that are newer still
#: (read from ComfyUI 0.37's source): on that version every other class the pack names must exist, so a
#: misspelt class path fails here.
NEWEST_VERIFIED = "0.33.0"
NEWER = {"comfy.ldm.qwen_image21.model.QwenImage21Transformer2DModel", "comfy.ldm.sensenova.model.SenseNovaU15"}


def test_every_class_the_pack_names_exists_in_the_newest_verified_comfyui(report: dict):
    present, absent = report["class_paths"]["present"], set(report["class_paths"]["absent"])
    print(f"ComfyUI {report['comfyui']}: {len(present)} classes present, absent: {sorted(absent)}")
    if report["comfyui"] != NEWEST_VERIFIED:
        pytest.skip(f"class paths are checked on ComfyUI {NEWEST_VERIFIED}; this is {report['comfyui']}")
    assert absent == NEWER
