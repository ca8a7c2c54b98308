"""The replacement rotary embedder: the host's table, with DyPE frequencies on image tokens."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import replace

import torch

from ..dype_core import build_table
from ..dype_core import frequencies as freqs
from ..dype_core.table import math_device
from .context import RUN, STEP, Step
from .tokens import LayoutMismatch


def exact_image_ids(ids: torch.Tensor, image: slice, step: Step) -> torch.Tensor:
    """``ids`` in float32 with the main image's rows and columns rebuilt exactly from the grid.

    For models that form image ids in their own dtype: bf16 holds integers exactly only up
    to 256, so a 4096 px FLUX image (256 tokens a side) would already be off by one. Other
    axes (time, reference index) keep their values.
    """
    exact = ids.to(torch.float32, copy=True)
    rows, cols = step.grid
    row0, col0 = step.family.origin(rows, cols)
    grids = exact[:, image].view(ids.shape[0], step.frames, rows, cols, ids.shape[-1])
    grids[..., step.layout.row_axis] = torch.arange(row0, row0 + rows, dtype=torch.float32, device=ids.device)[:, None]
    grids[..., step.layout.col_axis] = torch.arange(col0, col0 + cols, dtype=torch.float32, device=ids.device)
    return exact


class DyPEEmbedder(torch.nn.Module):
    """Stands where the host's rotary embedder was; holds no state besides the original.

    Inside a DyPE call (its context variable set: ``STEP`` for the diffusion model,
    ``CONTROL_STEP`` for a ControlNet) it builds the table with the step's DyPE frequencies
    for the main image's tokens and the host's plain RoPE for every other token. A call
    without main-image tokens (a caption segment), and any call outside DyPE, gets the
    original embedder's table. It holds no parameters or buffers.
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
        image = None if step is None else step.tokens.locate(ids)
        if image is None:
            return self.original(ids)
        if not ids.is_floating_point():
            ids = ids.to(torch.float32)  # integer ids (OmniGen2) are exact; the host's rope casts them the same way
        if step.exact_ids:
            ids = exact_image_ids(ids, image, step)
        run = RUN.get()
        if run is None:
            return self._build(ids, image, step)
        key = (step.family.name, step.layout, step.settings, step.t, step.scales, image.start, image.stop)
        return run.cache.get_or_build(key, ids, lambda: self._build(ids, image, step))

    def _build(self, ids: torch.Tensor, image: slice, step: Step) -> torch.Tensor:
        """The table of ``ids``: DyPE on ``image``, the host's own table everywhere else.

        In FLUX's layout ``build_table`` forms the other tokens with the host's recipe in the
        same pass. A family with its own layout gets the original embedder's table for the
        tokens before and after the image.
        """
        frequencies = freqs.dype(step.layout, step.settings, step.scales, step.t, math_device(ids.device))
        family = step.family
        if family.table is None:
            return build_table(ids, step.layout, frequencies, image_tokens=image, head_axis=family.head_axis)
        rows = family.table(build_table(ids[:, image], step.layout, frequencies, head_axis=1))
        parts = [rows]
        if image.start:
            parts.insert(0, self.original(ids[:, : image.start]))
        if image.stop < ids.shape[1]:
            parts.append(self.original(ids[:, image.stop :]))
        return torch.cat(parts, dim=3 - family.head_axis)


class DyPEGridEmbedder(DyPEEmbedder):
    """For embedders that take the token grid instead of ids (Cosmos Predict2, Anima).

    The host's ``pos_embedder(x [B, T, H, W, D], fps=..., device=...)`` returns rotation
    matrices ``[T*H*W, P, 2, 2]`` for corner-origin grid positions, pairs ordered by axis.
    Inside a DyPE call, the row and column axes' pairs are rebuilt with DyPE frequencies
    (built once per row and per column); the time axis keeps the host's values.
    """

    def forward(self, x: torch.Tensor, fps: torch.Tensor | None = None, device: torch.device | None = None,
                dtype: torch.dtype | None = None) -> torch.Tensor:
        table = self.original(x, fps=fps, device=device, dtype=dtype)
        step = self.step.get()
        if step is None:
            return table
        frames, rows, cols = x.shape[1:4]
        if (frames, (rows, cols)) != (step.frames, step.grid):
            raise LayoutMismatch(
                f"DyPE expected a {step.frames}x{step.grid[0]}x{step.grid[1]} token grid, but the position "
                f"embedder got {frames}x{rows}x{cols}. Another patch may have changed the model's token layout."
            )
        layout = step.layout
        plane = replace(layout, axes_dim=(layout.axes_dim[layout.row_axis], layout.axes_dim[layout.col_axis]),
                        row_axis=0, col_axis=1, time_axis=None)
        scales = (step.scales[layout.row_axis], step.scales[layout.col_axis])
        frequencies = freqs.dype(plane, step.settings, scales, step.t, math_device(table.device))
        # A row's pairs depend on its row only, a column's on its column: one table per axis, broadcast.
        split = plane.pair_slices[0][1]
        lines = torch.arange(max(rows, cols), dtype=torch.float32, device=table.device)
        ids = torch.stack((lines, lines), dim=-1)[None]
        line_table = build_table(ids, plane, frequencies)[0, 0]
        first = layout.pair_slices[layout.row_axis][0]  # the grid embedder's pairs run [time | rows | columns]
        table = table.clone()
        grid = table.view(frames, rows, cols, *table.shape[1:])
        grid[:, :, :, first:first + split] = line_table[:rows, None, :split]
        grid[:, :, :, first + split:first + plane.pairs] = line_table[None, :cols, split:]
        return table


def host_embedder(embedder: torch.nn.Module) -> torch.nn.Module:
    """The host's own embedder, looking through a DyPE patch applied earlier."""
    return embedder.original if isinstance(embedder, DyPEEmbedder) else embedder
