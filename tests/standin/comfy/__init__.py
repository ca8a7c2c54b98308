"""Stand-in for the ComfyUI ``comfy`` package (see tests/standin/README.md)."""
