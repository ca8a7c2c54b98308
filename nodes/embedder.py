"""The replacement rotary embedder: the host's table, with DyPE frequencies on image tokens."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any

import torch

from ..dype_core import build_table
from ..dype_core import frequencies as freqs
from ..dype_core.table import math_device
from .context import CONTROL_STEP, RUN, STEP, Step
from .tokens import LayoutMismatch


def exact_image_ids(ids: torch.Tensor, image: slice, step: Step) -> torch.Tensor:
    """``ids`` in float32 with the main image's rows and columns rebuilt exactly from the grid.

    For models that form image ids in their own dtype: bf16 holds integers exactly only up
    to 256, so a 4096 px FLUX image (256 tokens a side) would already be off by one. Row ``i``
    gets ``row0 + shift_y + i * scale_y`` with the step's ``placement`` (a host that applies
    ``ScaleROPE``; identity otherwise), columns alike. Other axes (time, reference index) keep
    their values.
    """
    exact = ids.to(torch.float32, copy=True)
    rows, cols = step.grid
    row0, col0 = step.family.origin(rows, cols)
    scale_y, shift_y, scale_x, shift_x = step.placement
    line = torch.arange(max(rows, cols), dtype=torch.float32, device=ids.device)
    grids = exact[:, image].view(ids.shape[0], step.frames, rows, cols, ids.shape[-1])
    grids[..., step.layout.row_axis] = (row0 + shift_y + line[:rows] * scale_y)[:, None]
    grids[..., step.layout.col_axis] = col0 + shift_x + line[:cols] * scale_x
    return exact


def require_image_grid(ids: torch.Tensor, image: slice, step: Step) -> None:
    """Raise ``LayoutMismatch`` unless the ``image`` tokens of ``ids`` form the main image's grid: per frame,
    one row id along each row and one column id down each column, whatever the spacing (bf16 rounding,
    ``ScaleROPE``) or origin. Checked on a run's first call; a model whose ids moved fails here."""
    frames, (rows, cols) = step.frames, step.grid
    grid = ids[:, image].reshape(ids.shape[0], frames, rows, cols, ids.shape[-1])
    row_ids, col_ids = grid[..., step.layout.row_axis], grid[..., step.layout.col_axis]
    if not (torch.equal(row_ids, row_ids[..., :1].expand_as(row_ids))
            and torch.equal(col_ids, col_ids[..., :1, :].expand_as(col_ids))):
        raise LayoutMismatch(
            f"DyPE expected tokens {image.start}..{image.stop - 1} of the embedder's ids {list(ids.shape)} to be the "
            f"main image's {frames}x{rows}x{cols} grid (one row id per row, one column id per column), but they are "
            "not; the model places its image tokens elsewhere, or another patch changed its token layout"
        )


class DyPEEmbedder(torch.nn.Module):
    """Stands where the host's rotary embedder was; holds no state besides the original.

    Inside a DyPE call (the first of its context variables ``steps`` that is set) it builds the
    table with the step's DyPE frequencies for the main image's tokens and the host's plain RoPE
    for every other token. The model's own embedder answers to ``STEP`` (its forward call) and
    then to ``CONTROL_STEP`` (the cond batch, where a ControlNet may call the model's embedder:
    Qwen-Image's Fun ControlNet); a ControlNet's own embedder only to ``CONTROL_STEP``. A call
    without main-image tokens (a caption segment), and any call outside DyPE, gets the original
    embedder's table. It holds no parameters or buffers.
    """

    def __init__(self, original: torch.nn.Module,
                 steps: tuple[ContextVar[Step | None], ...] = (STEP, CONTROL_STEP)) -> None:
        super().__init__()
        self.original = original
        self.steps = steps

    def current(self) -> Step | None:
        """The step of the DyPE call this embedder is in, if any."""
        return next((step for step in (var.get() for var in self.steps) if step is not None), None)

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
        step = self.current()
        image = None if step is None else step.tokens.locate(ids)
        if image is None:
            return self.original(ids)
        run = RUN.get()
        if run is None or not run.verified:
            require_image_grid(ids, image, step)
        step.served.append(True)
        if not ids.is_floating_point():
            ids = ids.to(torch.float32)  # integer ids (OmniGen2) are exact; the host's rope casts them the same way
        if step.exact_ids:
            ids = exact_image_ids(ids, image, step)
        if run is None:
            return self._build(ids, image, step)
        key = (step.family.name, step.layout, step.settings, step.t, step.scales, step.spectrum,
               image.start, image.stop)
        return run.cache.get_or_build(key, ids, lambda: self._build(ids, image, step))

    def _build(self, ids: torch.Tensor, image: slice, step: Step) -> torch.Tensor:
        """The table of ``ids``: DyPE on ``image``, the host's own table everywhere else.

        In FLUX's layout ``build_table`` forms the other tokens with the host's recipe in the
        same pass. A family with its own layout gets the original embedder's table for the
        tokens before and after the image.
        """
        frequencies = freqs.dype(step.layout, step.settings, step.scales, step.t, math_device(ids.device),
                                 step.spectrum)
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


def rescale_grid_pairs(table: torch.Tensor, step: Step) -> torch.Tensor:
    """``table``'s row and column pairs rebuilt with the step's DyPE frequencies, in place.

    ``table`` is ``[frames * rows * cols, P, 2, 2]``: the main image's rotations for corner-origin
    grid positions, pairs ordered by axis (time, rows, columns). A row's pairs depend on its row only
    and a column's on its column, so one table per axis is built and broadcast; every other pair
    (time) keeps the host's values.
    """
    frames, (rows, cols) = step.frames, step.grid
    layout = step.layout
    plane = replace(layout, axes_dim=(layout.axes_dim[layout.row_axis], layout.axes_dim[layout.col_axis]),
                    row_axis=0, col_axis=1, time_axis=None)
    scales = (step.scales[layout.row_axis], step.scales[layout.col_axis])
    frequencies = freqs.dype(plane, step.settings, scales, step.t, math_device(table.device), step.spectrum)
    split = plane.pair_slices[0][1]
    lines = torch.arange(max(rows, cols), dtype=torch.float32, device=table.device)
    line_table = build_table(torch.stack((lines, lines), dim=-1)[None], plane, frequencies)[0, 0]
    first = layout.pair_slices[layout.row_axis][0]
    grid = table.view(frames, rows, cols, *table.shape[1:])
    grid[:, :, :, first:first + split] = line_table[:rows, None, :split]
    grid[:, :, :, first + split:first + plane.pairs] = line_table[None, :cols, split:]
    return table


def _require_grid(got: tuple[int, int, int], step: Step, where: str) -> None:
    expected = (step.frames, *step.grid)
    if tuple(got) != expected:
        raise LayoutMismatch(
            f"DyPE expected a {'x'.join(map(str, expected))} token grid, but {where} got "
            f"{'x'.join(map(str, got))}. Another patch may have changed the model's token layout."
        )


class DyPEGridEmbedder(DyPEEmbedder):
    """For embedders that take the token grid instead of ids (Cosmos Predict2, Anima).

    The host's ``pos_embedder(x [B, T, H, W, D], fps=..., device=...)`` returns rotation
    matrices ``[T*H*W, P, 2, 2]`` for corner-origin grid positions, pairs ordered by axis.
    Inside a DyPE call the row and column pairs are rebuilt (``rescale_grid_pairs``); the time
    axis keeps the host's values.
    """

    def forward(self, x: torch.Tensor, fps: torch.Tensor | None = None, device: torch.device | None = None,
                dtype: torch.dtype | None = None) -> torch.Tensor:
        table = self.original(x, fps=fps, device=device, dtype=dtype)
        step = self.current()
        if step is None:
            return table
        _require_grid(x.shape[1:4], step, "the position embedder")
        step.served.append(True)
        return rescale_grid_pairs(table.clone(), step)


@dataclass(frozen=True)
class DyPEComponentTable:
    """For models whose table comes from a method of the model, per component grid (JoyImage).

    The host's ``get_rotary_pos_embed_for_components([(t, h, w), ...], device)`` returns
    ``[1, N, 1, P, 2, 2]``: the main image's grid first, then each reference's, every grid's
    rows and columns from 0 and its frames after the previous component's. Inside a DyPE call
    the main image's row and column pairs are rebuilt; references and time keep the host's values.
    It is not a ``Module``: it stands in for a method, as an attribute of the model.
    """

    original: Callable[..., torch.Tensor]
    step: ContextVar[Step | None] = STEP

    def __call__(self, component_sizes: list, device: torch.device | None = None) -> torch.Tensor:
        table = self.original(component_sizes, device=device)
        step = self.step.get()
        if step is None:
            return table
        _require_grid(component_sizes[0], step, "the model's rotary table")
        step.served.append(True)
        table = table.clone()
        count = step.frames * step.grid[0] * step.grid[1]
        rescale_grid_pairs(table[0, :count, 0], step)
        return table


def is_dype(embedder: Any) -> bool:
    """Whether ``embedder`` is one of DyPE's replacements (which keep the host's own as ``original``)."""
    return isinstance(embedder, (DyPEEmbedder, DyPEComponentTable))


def host_embedder(embedder: Any) -> Any:
    """The host's own embedder, looking through a DyPE patch applied earlier."""
    return embedder.original if is_dype(embedder) else embedder
