"""Model conditioning containers (``comfy.conds``): how each cond is batched and concatenated."""

from __future__ import annotations

import torch

from .utils import repeat_to_batch_size


class CONDRegular:
    """A tensor repeated to the batch; two conds batch together only if shapes match."""

    def __init__(self, cond):
        self.cond = cond

    def process_cond(self, batch_size, **kwargs):
        return type(self)(repeat_to_batch_size(self.cond, batch_size))

    def can_concat(self, other):
        return self.cond.shape == other.cond.shape

    def concat(self, others):
        return torch.cat([self.cond] + [o.cond for o in others])


class CONDConstant(CONDRegular):
    """A non-tensor value passed as is; batches only with an equal value."""

    def process_cond(self, batch_size, **kwargs):
        return self

    def can_concat(self, other):
        return self.cond == other.cond

    def concat(self, others):
        return self.cond


class CONDList(CONDRegular):
    """A list of tensors (e.g. reference latents), each repeated and concatenated element-wise."""

    def process_cond(self, batch_size, **kwargs):
        return type(self)([repeat_to_batch_size(c, batch_size) for c in self.cond])

    def can_concat(self, other):
        return len(self.cond) == len(other.cond) and all(a.shape == b.shape for a, b in zip(self.cond, other.cond))

    def concat(self, others):
        return [torch.cat([c] + [o.cond[i] for o in others]) for i, c in enumerate(self.cond)]
