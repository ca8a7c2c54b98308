"""The ComfyUI that runs the pack, for messages."""

from __future__ import annotations


def comfyui_version() -> str:
    """ComfyUI's version (its top-level ``comfyui_version`` module), ``"unknown"`` where it has none."""
    try:
        from comfyui_version import __version__
    except ImportError:
        return "unknown"
    return str(__version__)
