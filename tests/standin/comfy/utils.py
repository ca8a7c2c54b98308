"""Small helpers of ``comfy.utils`` used by the patcher and samplers."""

from __future__ import annotations

import math

import torch


def get_attr(obj, dotted: str):
    for name in dotted.split("."):
        obj = getattr(obj, name)
    return obj


def set_attr(obj, dotted: str, value):
    """Set a dotted attribute and return the previous value (host: ``comfy.utils.set_attr``)."""
    *path, last = dotted.split(".")
    owner = get_attr(obj, ".".join(path)) if path else obj
    old = getattr(owner, last)
    setattr(owner, last, value)
    return old


def set_attr_param(obj, dotted: str, value):
    return set_attr(obj, dotted, torch.nn.Parameter(value, requires_grad=False))


def deepcopy_list_dict(obj, memo=None):
    """Deep-copy dicts and lists only; leaves (tensors, callables, modules) are shared."""
    memo = {} if memo is None else memo
    if id(obj) in memo:
        return memo[id(obj)]
    if isinstance(obj, dict):
        res = {k: deepcopy_list_dict(v, memo) for k, v in obj.items()}
    elif isinstance(obj, list):
        res = [deepcopy_list_dict(v, memo) for v in obj]
    else:
        res = obj
    memo[id(obj)] = res
    return res


def repeat_to_batch_size(tensor, batch_size, dim=0):
    if tensor.shape[dim] > batch_size:
        return tensor.narrow(dim, 0, batch_size)
    if tensor.shape[dim] < batch_size:
        reps = [1] * tensor.ndim
        reps[dim] = math.ceil(batch_size / tensor.shape[dim])
        return tensor.repeat(reps).narrow(dim, 0, batch_size)
    return tensor
