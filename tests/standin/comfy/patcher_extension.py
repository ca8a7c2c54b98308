"""Wrapper plumbing of ``comfy.patcher_extension``.

Layout reproduced from the host: ``transformer_options["wrappers"][wrapper_type][key] = [fn, ...]``.
A chain runs the wrappers in list order, the first one outermost; each wrapper is called as
``fn(executor, *args, **kwargs)`` and continues the chain by calling ``executor(*args, **kwargs)``.
"""

from __future__ import annotations

from collections.abc import Callable


class WrappersMP:
    OUTER_SAMPLE = "outer_sample"
    PREPARE_SAMPLING = "prepare_sampling"
    SAMPLER_SAMPLE = "sampler_sample"
    PREDICT_NOISE = "predict_noise"
    CALC_COND_BATCH = "calc_cond_batch"
    APPLY_MODEL = "apply_model"
    DIFFUSION_MODEL = "diffusion_model"


class CallbacksMP:
    ON_CLONE = "on_clone"
    ON_LOAD = "on_load_after"
    ON_DETACH = "on_detach_after"
    ON_CLEANUP = "on_cleanup"
    ON_PRE_RUN = "on_pre_run"


def _options(transformer_options: dict, is_model_options: bool) -> dict:
    return transformer_options.get("transformer_options", {}) if is_model_options else transformer_options


def add_wrapper_with_key(wrapper_type: str, key: str, wrapper: Callable, transformer_options: dict,
                         is_model_options=False):
    if is_model_options:
        transformer_options = transformer_options.setdefault("transformer_options", {})
    transformer_options.setdefault("wrappers", {}).setdefault(wrapper_type, {}).setdefault(key, []).append(wrapper)


def add_wrapper(wrapper_type: str, wrapper: Callable, transformer_options: dict, is_model_options=False):
    add_wrapper_with_key(wrapper_type, None, wrapper, transformer_options, is_model_options)


def get_wrappers_with_key(wrapper_type: str, key: str, transformer_options: dict, is_model_options=False):
    return list(_options(transformer_options, is_model_options).get("wrappers", {}).get(wrapper_type, {}).get(key, []))


def get_all_wrappers(wrapper_type: str, transformer_options: dict, is_model_options=False) -> list[Callable]:
    """All wrappers of one type, flattened over keys in insertion order."""
    by_key = _options(transformer_options, is_model_options).get("wrappers", {}).get(wrapper_type, {})
    return [fn for fns in by_key.values() for fn in fns]


def get_all_callbacks(call_type: str, transformer_options: dict, is_model_options=False) -> list[Callable]:
    by_key = _options(transformer_options, is_model_options).get("callbacks", {}).get(call_type, {})
    return [fn for fns in by_key.values() for fn in fns]


class WrapperExecutor:
    """One position in a wrapper chain; ``class_obj`` is the instance whose method is wrapped."""

    def __init__(self, original: Callable, class_obj: object, wrappers: list[Callable], idx: int):
        self.original, self.class_obj, self.wrappers, self.idx = original, class_obj, list(wrappers), idx
        self.is_last = idx == len(self.wrappers)

    @classmethod
    def new_executor(cls, original: Callable, wrappers: list[Callable], idx=0):
        return cls(original, None, wrappers, idx)

    @classmethod
    def new_class_executor(cls, original: Callable, class_obj: object, wrappers: list[Callable], idx=0):
        return cls(original, class_obj, wrappers, idx)

    def execute(self, *args, **kwargs):
        """Start the chain (host code only; a wrapper calls the executor it receives instead)."""
        if self.is_last:
            return self.original(*args, **kwargs)
        return self.wrappers[self.idx](self, *args, **kwargs)

    def __call__(self, *args, **kwargs):
        if self.idx >= len(self.wrappers):
            raise Exception("Wrapper idx exceeded available wrappers; something went very wrong.")
        return type(self)(self.original, self.class_obj, self.wrappers, self.idx + 1).execute(*args, **kwargs)


def copy_nested_dicts(input_dict: dict) -> dict:
    """Copy dicts recursively and lists shallowly; other values are shared."""
    out = dict(input_dict)
    for k, v in input_dict.items():
        if isinstance(v, dict):
            out[k] = copy_nested_dicts(v)
        elif isinstance(v, list):
            out[k] = list(v)
    return out


def merge_nested_dicts(dict1: dict, dict2: dict, copy_dict1=True) -> dict:
    """Merge ``dict2`` into ``dict1``: dicts recursively, lists extended, other values replaced."""
    merged = copy_nested_dicts(dict1) if copy_dict1 else dict1
    for k, v in dict2.items():
        if isinstance(v, dict):
            merged[k] = merge_nested_dicts(merged.setdefault(k, {}), v)
        elif isinstance(v, list):
            merged.setdefault(k, []).extend(v)
        else:
            merged[k] = v
    return merged
