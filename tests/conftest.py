"""Test set-up: the repository root and the ComfyUI stand-in on ``sys.path``, and the pack
loaded as the package ``comfyui_dype``, as ComfyUI loads a custom-node folder.

The stand-in (``tests/standin``) provides ``comfy`` and ``comfy_api`` in this process; tests
against the real ComfyUI run in a separate process (``tests/real_host``).
"""

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STANDIN = Path(__file__).resolve().parent / "standin"
for path in (STANDIN, ROOT):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))


def _load_pack():
    if "comfyui_dype" in sys.modules:
        return sys.modules["comfyui_dype"]
    spec = importlib.util.spec_from_file_location(
        "comfyui_dype", ROOT / "__init__.py", submodule_search_locations=[str(ROOT)]
    )
    pack = importlib.util.module_from_spec(spec)
    sys.modules["comfyui_dype"] = pack
    spec.loader.exec_module(pack)
    return pack


_load_pack()
