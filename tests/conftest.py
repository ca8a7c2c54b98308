"""Test set-up: the repository root and the ComfyUI stand-in on ``sys.path``, and the pack
loaded as the package ``comfyui_dype``, as ComfyUI loads a custom-node folder.

The stand-in (``tests/standin``) provides ``comfy`` and ``comfy_api`` in this process; tests
against the real ComfyUI run in a separate process (``tests/real_host``).
"""

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
for path in (TESTS / "standin", TESTS.parent, TESTS):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from pack import load_pack  # noqa: E402

load_pack()
