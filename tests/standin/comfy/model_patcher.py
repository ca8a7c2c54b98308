"""``comfy.model_patcher.ModelPatcher``: clones, object patches, weight patches, wrappers.

Host behaviour reproduced:
- clones share the torch model and the *backup* dicts (weights and ``object_patches_backup``), so
  whichever clone loads next restores what the previous clone patched;
- ``model_options`` is deep-copied for dicts/lists only, ``object_patches`` shallow-copied,
  wrappers/callbacks copied per type and key;
- object and weight patches are applied by ``patch_model`` (called from model management when
  the model is loaded for sampling) and stay applied after sampling until another clone loads or
  the model is unloaded.
"""

from __future__ import annotations

import uuid

import torch

from . import utils
from .patcher_extension import CallbacksMP


class ModelPatcher:
    def __init__(self, model, load_device, offload_device, size=0, weight_inplace_update=False):
        self.model, self.size = model, size
        self.load_device, self.offload_device = load_device, offload_device
        self.weight_inplace_update = weight_inplace_update
        self.patches: dict[str, list] = {}
        self.backup: dict[str, torch.nn.Parameter] = {}
        self.object_patches: dict = {}
        self.object_patches_backup: dict = {}
        self.model_options = {"transformer_options": {}}
        self.patches_uuid = uuid.uuid4()
        self.parent = None
        self.wrappers: dict[str, dict[str, list]] = {}
        self.callbacks: dict[str, dict[str, list]] = {}
        for name, default in (("device", offload_device), ("current_weight_patches_uuid", None),
                              ("current_patcher", None)):
            if getattr(model, name, None) is None:
                setattr(model, name, default)

    # -- cloning -------------------------------------------------------------------------------
    def clone(self, disable_dynamic=False, model_override=None, force_deepcopy=False):
        n = self.__class__(self.model, self.load_device, self.offload_device, self.size, self.weight_inplace_update)
        n.patches = {k: list(v) for k, v in self.patches.items()}
        n.patches_uuid = self.patches_uuid
        n.object_patches = self.object_patches.copy()
        n.model_options = utils.deepcopy_list_dict(self.model_options)
        n.backup, n.object_patches_backup = self.backup, self.object_patches_backup
        n.parent = self
        n.wrappers = {t: {k: list(v) for k, v in d.items()} for t, d in self.wrappers.items()}
        n.callbacks = {t: {k: list(v) for k, v in d.items()} for t, d in self.callbacks.items()}
        for cb in self.get_all_callbacks(CallbacksMP.ON_CLONE):
            cb(self, n)
        return n

    def is_clone(self, other) -> bool:
        return getattr(other, "model", None) is self.model

    def is_dynamic(self) -> bool:
        return False

    def model_dtype(self):
        if hasattr(self.model, "get_dtype"):
            return self.model.get_dtype()

    # -- model_options setters -----------------------------------------------------------------
    def set_model_unet_function_wrapper(self, unet_wrapper_function):
        self.model_options["model_function_wrapper"] = unet_wrapper_function

    def set_model_sampler_cfg_function(self, sampler_cfg_function, disable_cfg1_optimization=False):
        self.model_options["sampler_cfg_function"] = sampler_cfg_function
        if disable_cfg1_optimization:
            self.model_options["disable_cfg1_optimization"] = True

    def set_model_sampler_post_cfg_function(self, post_cfg_function, disable_cfg1_optimization=False):
        self.model_options["sampler_post_cfg_function"] = (
            self.model_options.get("sampler_post_cfg_function", []) + [post_cfg_function])
        if disable_cfg1_optimization:
            self.model_options["disable_cfg1_optimization"] = True

    def set_model_patch(self, patch, name):
        patches = self.model_options["transformer_options"].setdefault("patches", {})
        patches[name] = patches.get(name, []) + [patch]

    def set_model_attn1_patch(self, patch):
        self.set_model_patch(patch, "attn1_patch")

    def set_model_post_input_patch(self, patch):
        self.set_model_patch(patch, "post_input")

    def set_model_rope_options(self, scale_x, shift_x, scale_y, shift_y, scale_t, shift_t, **kwargs):
        to = self.model_options["transformer_options"]
        rope = to.get("rope_options", {})
        rope.update(scale_x=scale_x, scale_y=scale_y, scale_t=scale_t, shift_x=shift_x, shift_y=shift_y,
                    shift_t=shift_t)
        to["rope_options"] = rope

    # -- object patches ------------------------------------------------------------------------
    def add_object_patch(self, name, obj):
        self.object_patches[name] = obj

    def get_model_object(self, name: str):
        """Patched object if any, else the original (even while another clone's patch is applied)."""
        if name in self.object_patches:
            return self.object_patches[name]
        if name in self.object_patches_backup:
            return self.object_patches_backup[name]
        return utils.get_attr(self.model, name)

    # -- weight patches ------------------------------------------------------------------------
    def add_patches(self, patches: dict, strength_patch=1.0, strength_model=1.0) -> list:
        """Register weight deltas keyed by parameter name relative to the BaseModel.

        Applied at load time as ``weight * strength_model + strength_patch * delta``. Values use the
        host's diff forms ``(delta,)`` or ``("diff", (delta,))``; a bare tensor is rejected because the
        host would misread it (it takes ``len(value)``). Unknown keys are ignored, like the host.
        """
        known = set(self.model.state_dict())
        added = []
        for key, value in patches.items():
            if not isinstance(value, tuple) or len(value) not in (1, 2) or (len(value) == 2 and value[0] != "diff"):
                raise TypeError(f"add_patches[{key!r}]: expected (delta,) or ('diff', (delta,)), got {type(value)}")
            if key in known:
                self.patches.setdefault(key, []).append((strength_patch, value, strength_model))
                added.append(key)
        self.patches_uuid = uuid.uuid4()
        return added

    def _patched_weight(self, key: str, weight: torch.Tensor) -> torch.Tensor:
        out = weight.detach().to(torch.float32, copy=True)
        for strength_patch, value, strength_model in self.patches[key]:
            value = value[0] if len(value) == 1 else value[1][0]
            if strength_model != 1.0:
                out *= strength_model
            out += strength_patch * value.to(out)
        return out.to(weight.dtype)

    def load(self, device_to=None, lowvram_model_memory=0, force_patch_weights=False, full_load=False):
        for key in self.patches:
            weight = utils.get_attr(self.model, key)
            if key not in self.backup:
                self.backup[key] = weight
            utils.set_attr_param(self.model, key, self._patched_weight(key, weight))
        self.model.current_weight_patches_uuid = self.patches_uuid
        for cb in self.get_all_callbacks(CallbacksMP.ON_LOAD):
            cb(self, device_to, lowvram_model_memory, force_patch_weights, full_load)

    def patch_model(self, device_to=None, lowvram_model_memory=0, load_weights=True, force_patch_weights=False):
        for name, obj in self.object_patches.items():
            old = utils.set_attr(self.model, name, obj)
            if name not in self.object_patches_backup:
                self.object_patches_backup[name] = old
        if load_weights:
            self.load(device_to, force_patch_weights=force_patch_weights, full_load=True)
        return self.model

    def unpatch_model(self, device_to=None, unpatch_weights=True):
        if unpatch_weights:
            for key, original in self.backup.items():
                utils.set_attr(self.model, key, original)
            self.backup.clear()
            self.model.current_weight_patches_uuid = None
        for name, original in self.object_patches_backup.items():
            utils.set_attr(self.model, name, original)
        self.object_patches_backup.clear()

    def partially_load(self, device_to, extra_memory=0, force_patch_weights=False):
        """What model management calls on load: undo what a previous clone left, apply own patches."""
        current = self.model.current_weight_patches_uuid
        reload_weights = current is not None and (current != self.patches_uuid or force_patch_weights)
        self.unpatch_model(self.offload_device, unpatch_weights=reload_weights)
        self.patch_model(load_weights=False)
        if self.model.current_weight_patches_uuid is None:
            self.load(device_to, full_load=True)
        return 0

    def detach(self, unpatch_all=True):
        if unpatch_all:
            self.unpatch_model(self.offload_device, unpatch_weights=True)
        for cb in self.get_all_callbacks(CallbacksMP.ON_DETACH):
            cb(self, unpatch_all)
        return self.model

    def pre_run(self):
        self.model.current_patcher = self
        for cb in self.get_all_callbacks(CallbacksMP.ON_PRE_RUN):
            cb(self)

    def cleanup(self):
        self.model.current_patcher = None
        for cb in self.get_all_callbacks(CallbacksMP.ON_CLEANUP):
            cb(self)

    # -- wrappers and callbacks ----------------------------------------------------------------
    def add_wrapper_with_key(self, wrapper_type: str, key: str, wrapper):
        self.wrappers.setdefault(wrapper_type, {}).setdefault(key, []).append(wrapper)

    def add_wrapper(self, wrapper_type: str, wrapper):
        self.add_wrapper_with_key(wrapper_type, None, wrapper)

    def remove_wrappers_with_key(self, wrapper_type: str, key: str):
        self.wrappers.get(wrapper_type, {}).pop(key, None)

    def get_wrappers(self, wrapper_type: str, key: str) -> list:
        return self.wrappers.get(wrapper_type, {}).get(key, [])

    def get_all_wrappers(self, wrapper_type: str) -> list:
        return [w for ws in self.wrappers.get(wrapper_type, {}).values() for w in ws]

    def add_callback_with_key(self, call_type: str, key: str, callback):
        self.callbacks.setdefault(call_type, {}).setdefault(key, []).append(callback)

    def add_callback(self, call_type: str, callback):
        self.add_callback_with_key(call_type, None, callback)

    def get_all_callbacks(self, call_type: str) -> list:
        return [c for cs in self.callbacks.get(call_type, {}).values() for c in cs]
