"""The ComfyUI that runs the pack, for messages, and the check that a node was given one of its MODELs."""

from __future__ import annotations

from typing import Any


def comfyui_version() -> str:
    """ComfyUI's version (its top-level ``comfyui_version`` module), ``"unknown"`` where it has none."""
    try:
        from comfyui_version import __version__
    except ImportError:
        return "unknown"
    return str(__version__)


def require_model(model: Any, node: str) -> None:
    """``ValueError`` unless ``model`` is a loaded ComfyUI MODEL (a ``ModelPatcher``): what ``node`` patches."""
    if not all(hasattr(model, name) for name in ("clone", "model", "model_options", "get_model_object")):
        raise ValueError(f"{node} needs a MODEL (a loaded diffusion model, as a loader node outputs it); "
                         f"got {type(model).__name__}")
