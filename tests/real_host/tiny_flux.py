"""Tiny random-weight FLUX-family models on the real ComfyUI, on the CPU.

Imported only in a process started with ComfyUI on ``sys.path`` (see ``host.py``).
"""

from __future__ import annotations

import comfy.model_management
import comfy.model_patcher
import comfy.supported_models
import torch

#: FLUX.1 with the real rotary layout (16/56/56, head dim 128), one block of each kind.
FLUX1 = {
    "image_model": "flux", "in_channels": 16, "out_channels": 16, "vec_in_dim": 32, "context_in_dim": 64,
    "hidden_size": 128, "num_heads": 1, "mlp_ratio": 2.0, "depth": 1, "depth_single_blocks": 1,
    "axes_dim": [16, 56, 56], "theta": 10000, "patch_size": 2, "qkv_bias": True, "guidance_embed": True,
    "txt_ids_dims": [],
}


def patcher(unet_config: dict = FLUX1, config_class: type = comfy.supported_models.Flux, seed: int = 0):
    """A ``ModelPatcher`` around a tiny model of ``config_class`` with seeded random weights."""
    config = config_class(dict(unet_config))
    config.set_inference_dtype(torch.float32, None)
    model = config.get_model({}, "", device=torch.device("cpu"))
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in model.diffusion_model.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.05)
    return comfy.model_patcher.ModelPatcher(
        model, load_device=comfy.model_management.get_torch_device(),
        offload_device=comfy.model_management.unet_offload_device(),
    )


def conds(context_dim: int = 64, pooled_dim: int = 32, text: int = 8, negative_text: int = 8, seed: int = 1):
    generator = torch.Generator().manual_seed(seed)
    positive = [[torch.randn(1, text, context_dim, generator=generator),
                 {"pooled_output": torch.randn(1, pooled_dim, generator=generator), "guidance": 3.5}]]
    negative = [[torch.randn(1, negative_text, context_dim, generator=generator),
                 {"pooled_output": torch.randn(1, pooled_dim, generator=generator), "guidance": 3.5}]]
    return positive, negative

#: Flux.2: four axes 32/32/32/32, theta 2000, patch 1 on 128-channel latents, text on axis 3.
FLUX2 = dict(
    FLUX1, image_model="flux2", in_channels=128, out_channels=128, axes_dim=[32, 32, 32, 32], theta=2000,
    patch_size=1, txt_ids_dims=[3], vec_in_dim=None, guidance_embed=True,
)

#: Chroma: FLUX.1's rotary layout, modulation from a small approximator instead of a vector.
CHROMA = {
    "image_model": "chroma", "in_channels": 64, "out_channels": 64, "context_in_dim": 64, "hidden_size": 128,
    "mlp_ratio": 2.0, "num_heads": 1, "depth": 1, "depth_single_blocks": 1, "axes_dim": [16, 56, 56],
    "theta": 10000, "patch_size": 2, "qkv_bias": True, "in_dim": 64, "out_dim": 128, "hidden_dim": 64,
    "n_layers": 1, "txt_ids_dims": [], "vec_in_dim": 0,
}
