"""Rotary tables in ComfyUI's layout, built from position ids.

The host's FLUX-family table holds, for every token and pair, the matrix
``[[cos a, -sin a], [sin a, cos a]]`` with ``a = position * w_i``: positions are float32,
angles and their cosines float64, the table float32, shape ``[B, 1, L, sum(D)/2, 2, 2]``.
This module builds the same table with per-token frequencies: main-image tokens get DyPE
frequencies, every other token (text, references, padding) plain RoPE unless told
otherwise. Built from plain frequencies it is bitwise equal to the host's own.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable

import torch

from .frequencies import RotaryFrequencies, plain
from .layout import RotaryLayout

#: Device types without float64, on which the host also forms its tables on the CPU.
NO_FLOAT64 = frozenset({"mps", "xpu", "privateuseone"})


def math_device(device: torch.device) -> torch.device:
    """Where tables for ``device`` are formed: the device itself, or the CPU if it lacks float64."""
    return torch.device("cpu") if device.type in NO_FLOAT64 else device


def _fill(out: torch.Tensor, positions: torch.Tensor, layout: RotaryLayout, freqs: RotaryFrequencies) -> None:
    """Write the rotation matrices of ``positions [B, L, n_axes]`` into ``out [B, L, P, 2, 2]``.

    One axis at a time, so that no temporary is larger than that axis's share of a table.
    """
    for axis, (first, end) in enumerate(layout.pair_slices):
        angle = positions[..., axis, None].to(torch.float64) * freqs.omega[first:end]
        gain = freqs.gains[axis]
        scaled = isinstance(gain, torch.Tensor) or gain != 1.0
        block = out[..., first:end, :, :]
        value = torch.cos(angle)
        if scaled:
            value.mul_(gain)
        block[..., 0, 0] = value
        block[..., 1, 1] = value
        value = torch.sin(angle, out=angle)
        if scaled:
            value.mul_(gain)
        block[..., 1, 0] = value
        block[..., 0, 1] = value.neg_()


def build_table(
    ids: torch.Tensor,
    layout: RotaryLayout,
    image: RotaryFrequencies,
    *,
    image_tokens: slice = slice(None),
    other: RotaryFrequencies | None = None,
    head_axis: int = 1,
) -> torch.Tensor:
    """The rotary table of ``ids [B, L, n_axes]`` in the host's layout, float32.

    Tokens in ``image_tokens`` (a contiguous range along ``L``) use ``image``; the rest use
    ``other`` (plain RoPE when ``None``). ``head_axis`` places the singleton head dimension:
    1 gives ``[B, 1, L, P, 2, 2]``, 2 gives ``[B, L, 1, P, 2, 2]``. Nothing here reads a
    tensor's values back to the host.
    """
    if ids.ndim != 3 or ids.shape[-1] != len(layout.axes_dim):
        raise ValueError(
            f"{layout.name} expects position ids [batch, tokens, {len(layout.axes_dim)}], got {list(ids.shape)}"
        )
    if ids.is_complex() or not ids.is_floating_point():
        raise ValueError(f"position ids must be a real floating-point tensor, got {ids.dtype}")
    if head_axis not in (1, 2):
        raise ValueError(f"head_axis must be 1 ([B, 1, L, ...]) or 2 ([B, L, 1, ...]), got {head_axis}")
    start, stop, step = image_tokens.indices(ids.shape[1])
    if step != 1:
        raise ValueError(f"image_tokens must be a contiguous range, got step {step}")
    device = math_device(ids.device)
    positions = ids.to(device)
    other = other if other is not None else plain(layout, device)
    out = torch.empty(*ids.shape[:2], layout.pairs, 2, 2, dtype=torch.float32, device=device)
    stop = max(start, stop)
    for tokens, freqs in ((slice(0, start), other), (slice(start, stop), image), (slice(stop, None), other)):
        _fill(out[:, tokens], positions[:, tokens], layout, freqs.on(device))
    return out.unsqueeze(head_axis).to(ids.device)


class TableCache:
    """A bounded LRU of built tables, so that a repeated request costs nothing.

    A request is its ``key`` (everything the table depends on besides the ids) plus the ids
    themselves, compared by value: the uncond forward after the cond one with equal ids
    hits, whatever tensor object holds them. Keep one cache per sampling run so that
    nothing outlives it.
    """

    def __init__(self, maxsize: int = 4) -> None:
        if maxsize < 1:
            raise ValueError(f"maxsize must be >= 1, got {maxsize}")
        self.maxsize = maxsize
        self._entries: OrderedDict[Hashable, tuple[torch.Tensor, torch.Tensor]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get_or_build(self, key: Hashable, ids: torch.Tensor, build: Callable[[], torch.Tensor]) -> torch.Tensor:
        """The cached table for ``(key, ids)``, or ``build()``'s, remembered."""
        full_key = (key, tuple(ids.shape), ids.dtype, ids.device)
        entry = self._entries.get(full_key)
        if entry is not None and torch.equal(entry[0], ids):
            self._entries.move_to_end(full_key)
            return entry[1]
        table = build()
        self._entries[full_key] = (ids.clone(), table)
        self._entries.move_to_end(full_key)
        while len(self._entries) > self.maxsize:
            self._entries.popitem(last=False)
        return table
