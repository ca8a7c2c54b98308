"""DyPE quality lab: a small RoPE DiT, trained on procedural images, that shows what each
position-extrapolation method does at 1x-4x its training resolution.

Independent of ComfyUI and not part of the node pack's runtime; it imports only
``dype_core`` (for every rotary table), torch, numpy, safetensors and matplotlib.
Run ``python -m lab --help``.
"""
