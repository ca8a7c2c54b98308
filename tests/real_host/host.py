"""Start ComfyUI in this process (CPU) and load the pack as the package ``comfyui_dype``.

Run under ComfyUI's Python with ``COMFYUI_PATH`` set; imported first by every real-host script.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
COMFYUI = Path(os.environ["COMFYUI_PATH"]).resolve()

sys.path.insert(0, str(COMFYUI))
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(REPO / "tests"))
os.chdir(COMFYUI)

from comfy.cli_args import args  # noqa: E402  (must precede every other comfy import)

args.cpu = True

# As main.py does before anything imports ``nodes``: bind ComfyUI's ``utils`` package now, since ``nodes``
# (0.14) puts ``comfy/`` first on ``sys.path``, where ``comfy/utils.py`` would take the name.
import utils.extra_config  # noqa: E402,F401
from pack import load_pack  # noqa: E402,F401  (re-exported for the scripts)


def comfyui_version() -> str:
    import comfyui_version

    return comfyui_version.__version__


def checks(results: dict[str, object], skip: type[Exception] | None = None) -> Callable:
    """The ``@check(name)`` decorator of a real-host script: it runs the decorated function at once and records
    in ``results[name]`` ``True`` (it returned ``None`` or ``True``), what else it returned (an explanation),
    ``"skipped: ..."`` for a ``skip`` exception, or the traceback of any other: a failed check is reported and
    the others still run."""

    def check(name: str) -> Callable:
        def run(fn: Callable) -> Callable:
            try:
                outcome = fn()
                results[name] = True if outcome in (None, True) else outcome
            except Exception as error:  # noqa: BLE001 - reported, not raised
                if skip is not None and isinstance(error, skip):
                    results[name] = f"skipped: {error}"
                else:
                    results[name] = traceback.format_exc(limit=6)
            return fn
        return run
    return check
