"""Per-call state, kept in the call stack: what the current forward call and sampling run are.

The host may install one replacement embedder on several model clones and run their
forwards concurrently in threads, so nothing per-call lives on a module. The
DIFFUSION_MODEL wrapper sets ``STEP`` for the duration of one forward call; the
CALC_COND_BATCH wrapper sets ``CONTROL_STEP`` while ControlNets run; the OUTER_SAMPLE
wrapper sets ``RUN`` for one sampling run, and the model-call wrapper records in it what each
call received (``Seen``), from which the run's plan is reported once sampling ends. A thread
started elsewhere sees neither unless the host copies the context, and then it gets the same
values (and records into the same run).
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field

import torch

from ..dype_core import DyPESettings, RotaryLayout, TableCache
from ..dype_core.sega import Spectrum
from .families.family import IDENTITY_PLACEMENT, Family
from .tokens import Locator


@dataclass(frozen=True)
class Step:
    """One forward call of a DyPE-patched model above its base resolution.

    ``tokens`` finds the main image's tokens in an embedder call; they are ``frames`` grids
    of ``(rows, cols)``. With ``exact_ids`` their row and column ids are rebuilt in float32
    from the grid, the first token at the family's ``origin``, scaled and shifted by ``placement``
    (``scale_y, shift_y, scale_x, shift_x``: a ``ScaleROPE`` the host applies). ``spectrum`` is the
    spectral energy of the call's latent (SEGA only). ``served`` counts the tables DyPE built for the
    main image during the call, ``attended`` the attention calls proportional attention scaled (one
    entry each).
    """

    family: Family
    layout: RotaryLayout
    settings: DyPESettings
    t: float
    scales: tuple[float, ...]
    frames: int
    grid: tuple[int, int]
    tokens: Locator
    exact_ids: bool
    spectrum: Spectrum | None = None
    placement: tuple[float, float, float, float] = IDENTITY_PLACEMENT
    served: list[bool] = field(default_factory=list, compare=False, hash=False)
    attended: list[bool] = field(default_factory=list, compare=False, hash=False)

    @property
    def count(self) -> int:
        """The main image's tokens: ``frames x rows x cols``."""
        return self.frames * self.grid[0] * self.grid[1]


@dataclass(frozen=True)
class Seen:
    """What one model call of a sampling run received: its main image's ``frames x (rows, cols)`` tokens,
    the ``(width, height)`` in pixels its latent decodes to, and its sigma (the largest of the call's, as a
    0-d tensor on the call's device, read back only once the run has ended; ``None``: the call had none),
    and the spectrum SEGA read from its latent (``None``: no SEGA call)."""

    frames: int
    grid: tuple[int, int]
    pixels: tuple[int, int]
    sigma: torch.Tensor | None
    spectrum: Spectrum | None = None


@dataclass(frozen=True)
class Run:
    """One sampling run: its table cache, dropped with the run, whether a model call above the base
    size has yet been seen to reach DyPE's table (``verified``, empty until one has), and what every
    model call received, in call order (``calls``, at any size, at or below the base size too)."""

    cache: TableCache
    verified: list[bool] = field(default_factory=list, compare=False, hash=False)
    calls: list[Seen] = field(default_factory=list, compare=False, hash=False)


STEP: ContextVar[Step | None] = ContextVar("dype_step", default=None)
#: The step of the ControlNets running for a DyPE-patched model (outside its forward call).
CONTROL_STEP: ContextVar[Step | None] = ContextVar("dype_control_step", default=None)
RUN: ContextVar[Run | None] = ContextVar("dype_run", default=None)
