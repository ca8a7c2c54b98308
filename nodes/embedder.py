"""The replacement rotary embedder: the host's table, with DyPE frequencies on image tokens."""

from __future__ import annotations

from contextvars import ContextVar

import torch

from ..dype_core import build_table
from ..dype_core import frequencies as freqs
from ..dype_core.table import math_device
from .context import RUN, STEP, Step


def exact_image_ids(ids: torch.Tensor, step: Step) -> torch.Tensor:
    """``ids`` in float32 with the main image's rows and columns rebuilt exactly from the grid.

    For models that form image ids in their own dtype: bf16 holds integers exactly only up
    to 256, so a 4096 px FLUX image (256 tokens a side) would already be off by one.
    """
    exact = ids.to(torch.float32, copy=True)
    rows, cols = step.grid
    image = exact[:, step.image].view(ids.shape[0], rows, cols, ids.shape[-1])
    image[..., step.layout.row_axis] = torch.arange(rows, dtype=torch.float32, device=ids.device)[:, None]
    image[..., step.layout.col_axis] = torch.arange(cols, dtype=torch.float32, device=ids.device)[None, :]
    return exact


class DyPEEmbedder(torch.nn.Module):
    """Stands where the host's rotary embedder was; holds no state besides the original.

    Inside a DyPE call (its context variable set: ``STEP`` for the diffusion model,
    ``CONTROL_STEP`` for a ControlNet) it builds the table with the step's DyPE frequencies
    for the main image's tokens and the host's plain RoPE for every other token. Anywhere
    else it is the original embedder. It holds no parameters or buffers.
    """

    def __init__(self, original: torch.nn.Module, step: ContextVar[Step | None] = STEP) -> None:
        super().__init__()
        self.original = original
        self.step = step

    def __getattr__(self, name: str):
        # Host code reads the embedder's configuration (``theta``, ``axes_dim``, ``dim``).
        try:
            return super().__getattr__(name)
        except AttributeError:
            original = self.__dict__.get("_modules", {}).get("original")
            if original is None:
                raise
            return getattr(original, name)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        step = self.step.get()
        if step is None:
            return self.original(ids)
        rows, cols = step.grid
        start, stop, _ = step.image.indices(ids.shape[1]) if ids.ndim == 3 else (0, 0, 1)
        if ids.ndim != 3 or stop - start != rows * cols:
            raise RuntimeError(
                f"DyPE expected ids [batch, tokens, axes] holding {rows}x{cols} image tokens "
                f"at {step.image}, but the embedder got ids of shape {list(ids.shape)}. "
                "Another patch may have changed the model's token layout."
            )
        if step.exact_image_ids:
            ids = exact_image_ids(ids, step)
        run = RUN.get()
        if run is None:
            return self._build(ids, step)
        key = (step.layout, step.settings, step.t, step.scales, step.image.start, step.image.stop, step.head_axis)
        return run.cache.get_or_build(key, ids, lambda: self._build(ids, step))

    @staticmethod
    def _build(ids: torch.Tensor, step: Step) -> torch.Tensor:
        image = freqs.dype(step.layout, step.settings, step.scales, step.t, math_device(ids.device))
        return build_table(ids, step.layout, image, image_tokens=step.image, head_axis=step.head_axis)


def host_embedder(embedder: torch.nn.Module) -> torch.nn.Module:
    """The host's own embedder, looking through a DyPE patch applied earlier."""
    return embedder.original if isinstance(embedder, DyPEEmbedder) else embedder
