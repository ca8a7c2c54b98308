"""``comfy.model_management`` on a CPU-only machine: device queries and lazy model loading.

Reproduced host behaviour: ``load_models_gpu`` drops (without unpatching) any loaded patcher that
shares the torch model with one being loaded, then calls ``partially_load`` on the new one, which
restores the shared backups and applies its own patches. So object patches stay applied after
sampling until a different clone of the same model is loaded or ``unload_all_models()`` runs.
"""

from __future__ import annotations

import torch

in_training = False
current_loaded_models: list = []  # ModelPatchers, most recently loaded first


def get_torch_device():
    return torch.device("cpu")


def unet_offload_device():
    return torch.device("cpu")


def intermediate_device():
    return torch.device("cpu")


def intermediate_dtype():
    return torch.float32


def supports_fp64(device=None) -> bool:
    return getattr(device, "type", "cpu") not in ("mps", "xpu")


def load_models_gpu(models, memory_required=0, force_patch_weights=False, minimum_memory_required=None,
                    force_full_load=False):
    for patcher in reversed(list(dict.fromkeys(models))):
        current_loaded_models[:] = [p for p in current_loaded_models if not patcher.is_clone(p)]
        patcher.partially_load(patcher.load_device, force_patch_weights=force_patch_weights)
        current_loaded_models.insert(0, patcher)


def load_model_gpu(model):
    return load_models_gpu([model])


def loaded_models(only_currently_used=False) -> list:
    return list(current_loaded_models)


def unload_all_models():
    while current_loaded_models:
        current_loaded_models.pop(0).detach(unpatch_all=True)


def cleanup_models():
    pass


def soft_empty_cache(force=False):
    pass
