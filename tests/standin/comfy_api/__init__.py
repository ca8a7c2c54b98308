"""Stand-in for ComfyUI's ``comfy_api`` package (see tests/standin/README.md)."""
