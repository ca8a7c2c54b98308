"""Start ComfyUI in this process (CPU) and load the pack as the package ``comfyui_dype``.

Run under ComfyUI's Python with ``COMFYUI_PATH`` set; imported first by every real-host script.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
COMFYUI = Path(os.environ["COMFYUI_PATH"]).resolve()

sys.path.insert(0, str(COMFYUI))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.chdir(COMFYUI)

from comfy.cli_args import args  # noqa: E402  (must precede every other comfy import)

args.cpu = True


def load_pack():
    """The pack imported the way ComfyUI imports a custom node folder: as a package."""
    spec = importlib.util.spec_from_file_location(
        "comfyui_dype", REPO / "__init__.py", submodule_search_locations=[str(REPO)]
    )
    pack = importlib.util.module_from_spec(spec)
    sys.modules["comfyui_dype"] = pack
    spec.loader.exec_module(pack)
    return pack


def comfyui_version() -> str:
    import comfyui_version

    return comfyui_version.__version__
