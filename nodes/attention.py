"""Proportional attention at the host's attention seam: ``transformer_options["optimized_attention_override"]``.

ComfyUI's attention functions call ``override(func, q, k, v, heads, ...)`` in place of ``func`` when the
model's ``transformer_options`` hold one. DyPE's override scales ``q`` by
``dype_core.attention.proportional_factor`` inside a DyPE call above the base size (``context.STEP``) and
hands the call on unchanged otherwise: to the override installed before it, if any, else to the host's
own ``func``. It holds no state besides that predecessor; per-call facts come from the call stack.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from ..dype_core.attention import proportional_factor
from .context import STEP

#: Where the host looks for an attention override.
OVERRIDE = "optimized_attention_override"


def _keys(k: torch.Tensor) -> int:
    """How many keys an attention call attends over: ``k [B, H, L, D]`` (the host's ``skip_reshape``) or
    ``[B, L, H*D]``."""
    return k.shape[-2] if k.ndim == 4 else k.shape[1]


@torch.compiler.disable
def _factor(keys: int) -> float:
    """The factor of an attention over ``keys`` keys in the current DyPE call (1 outside one, or with
    proportional attention off), counted in the call's ``attended``. Not traced by ``torch.compile``: a
    compiled model would otherwise keep the step it was traced with, and count into that step's list."""
    step = STEP.get()
    if step is None or not step.settings.proportional:
        return 1.0
    step.attended.append(True)
    return proportional_factor(keys, step.count, step.layout.trained_tokens(step.frames))


@dataclass(frozen=True)
class ProportionalAttention:
    """The attention override: ``q`` times ``sqrt(log N / log N_train)`` in DyPE calls above the base size.

    ``previous`` is the override that was installed before DyPE's (a SageAttention node, say), called in
    its place; ``None`` calls the host's function. ``memory_efficient`` tells ComfyUI (0.39+) that this
    override needs no more memory than what it wraps: the host's own function, or a predecessor tagged so.
    """

    previous: Callable[..., Any] | None = None

    @property
    def memory_efficient(self) -> bool:
        return self.previous is None or bool(getattr(self.previous, "memory_efficient", False))

    def __call__(self, func: Callable[..., Any], q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                 *args: Any, **kwargs: Any) -> Any:
        factor = _factor(_keys(k))
        if factor != 1.0:
            q = q * factor
        if self.previous is not None:
            return self.previous(func, q, k, v, *args, **kwargs)
        return func(q, k, v, *args, **kwargs)


def install(options: dict, proportional: bool) -> None:
    """Put DyPE's override into a clone's ``transformer_options`` (``proportional``), or take an earlier DyPE
    patch's out; an override of another pack stays, called from DyPE's."""
    installed = options.get(OVERRIDE)
    previous = installed.previous if isinstance(installed, ProportionalAttention) else installed
    if proportional:
        options[OVERRIDE] = ProportionalAttention(previous)
    elif previous is None:
        options.pop(OVERRIDE, None)
    else:
        options[OVERRIDE] = previous
