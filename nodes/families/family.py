"""A model family as data: where DyPE attaches and how it reads one model call.

Everything that differs between the rotary models ComfyUI runs is a field here: the
embedder's path, the rotary layout and training resolution, which wrapper sees the sigma
and how that call's arguments read, where the main image's tokens are in the embedder's
ids, whether the host's image ids need an exact rebuild, and the table's head axis.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from ...dype_core import RotaryLayout
from ...dype_core.models import Model
from ..tokens import Block, Locator


class UnsupportedInput(ValueError):
    """A model call DyPE cannot serve (an input the family's geometry does not cover)."""


@dataclass(frozen=True)
class Hook:
    """A host wrapper that sees the sigma, and where its call keeps what DyPE reads.

    ``DIFFUSION_MODEL`` wraps the diffusion model's forward: ``(x, timestep, context, ...)``
    with ``transformer_options`` last (or as a keyword) and the sigma in it.
    ``APPLY_MODEL`` wraps ``BaseModel.apply_model(x, t, c_concat, c_crossattn, control,
    transformer_options, **conds)``, whose ``t`` is the sigma, for models whose forward has
    no wrapper chain; its executor belongs to the BaseModel, not the diffusion model.
    """

    kind: str
    context: str
    context_at: int

    def sigmas(self, args: tuple, kwargs: dict) -> Any:
        if self.kind == "apply_model":
            return kwargs["t"] if "t" in kwargs else args[1]
        return self.options(args, kwargs).get("sigmas")

    def options(self, args: tuple, kwargs: dict) -> dict:
        """The call's ``transformer_options`` (empty when it has none)."""
        if "transformer_options" in kwargs:
            return kwargs["transformer_options"]
        at = 5 if self.kind == "apply_model" else len(args) - 1
        found = args[at] if 0 <= at < len(args) else {}
        return found if isinstance(found, dict) else {}

    def text(self, args: tuple, kwargs: dict) -> torch.Tensor | None:
        """The call's text context (``None`` without one)."""
        if self.context in kwargs:
            return kwargs[self.context]
        return args[self.context_at] if len(args) > self.context_at else None

    def diffusion_model(self, owner: Any) -> Any:
        """The diffusion model of a call whose executor belongs to ``owner``."""
        return owner.diffusion_model if self.kind == "apply_model" else owner


DIFFUSION_MODEL = Hook("diffusion_model", context="context", context_at=2)
APPLY_MODEL = Hook("apply_model", context="c_crossattn", context_at=3)


@dataclass(frozen=True)
class Call:
    """One wrapped model call: the diffusion model, the call's arguments and the main image's
    token geometry."""

    model: Any
    args: tuple
    kwargs: dict
    hook: Hook
    frames: int
    grid: tuple[int, int]

    @property
    def count(self) -> int:
        """The main image's tokens: ``frames x rows x cols``."""
        return self.frames * self.grid[0] * self.grid[1]

    @property
    def text(self) -> int:
        """Tokens of the text context (0 without one)."""
        context = self.hook.text(self.args, self.kwargs)
        return 0 if context is None else int(context.shape[1])

    def argument(self, name: str, default: Any = None) -> Any:
        """A keyword argument of the call (extra conditioning such as ``ref_latents``)."""
        return self.kwargs.get(name, default)


def after_text(call: Call) -> Locator:
    """``cat(text, image, references...)``: the image starts after the text context."""
    return Block(slice(call.text, call.text + call.count), call.count)


def first(call: Call) -> Locator:
    """``cat(image, ...)``: the image comes first."""
    return Block(slice(0, call.count), call.count)


def last(call: Call) -> Locator:
    """``cat(..., image)``: the image comes last."""
    return Block(slice(-call.count, None), call.count)


#: Row and column ids as the grid gives them: ``(scale_y, shift_y, scale_x, shift_x)``.
IDENTITY_PLACEMENT = (1.0, 0.0, 1.0, 0.0)


def corner(rows: int, cols: int) -> tuple[int, int]:
    """Image ids start at row 0, column 0."""
    return 0, 0


@dataclass(frozen=True)
class Family:
    """One model family.

    ``classes`` are the diffusion model's ``module.QualName``s; ``variant(model,
    embedder)`` tells apart families sharing a class (default: the embedder has as many
    axes as the layout). ``model`` is the family's entry in ``dype_core.models``: its rotary
    layout, whose base grid is the training resolution, and its sampling's time; the layout's
    ``axes_dim``, ``theta`` and patch are read from the checkpoint. ``image`` locates
    the main image's tokens in an embedder call. ``exact_ids`` marks families whose image
    ids the host forms in the model dtype (bf16 holds integers exactly only up to 256): DyPE
    rebuilds them in float32 with the first token at ``origin(rows, cols)``. ``head_axis``
    is where the embedder's table has its head axis (1: ``[B,1,L,...]``, 2: ``[B,L,1,...]``).
    ``patch_t`` is the patch length along time of 5-D latents. ``table`` turns a
    table in FLUX's layout into the family's own, for models that lay pairs out otherwise.
    ``source`` is what the host's table is made from: ``"ids"`` (an embedder module called on
    position ids), ``"grid"`` (a module called on the token grid: Cosmos) or ``"components"`` (a
    method of the model called on the component grids: JoyImage); ``read_layout(embedder)``
    reads ``axes_dim`` and ``theta`` from an embedder that does not hold them as attributes
    (empty when its geometry is not one DyPE supports). ``patch_from_model``: the model's
    ``patch_size`` is its token size (Lens's sizes only its output layer); ``downscale_from_format``:
    the latent format's ``spacial_downscale_ratio`` is the VAE's (the HunyuanImage Refiner's format
    keeps the default 8 for a VAE that downscales 16). The time shift a family samples with is
    the loaded checkpoint's own, read from its model config, never a family constant.
    ``rope_options``: the host places the main image's row and column ids by the call's
    ``transformer_options["rope_options"]`` (core ``ScaleROPE``: id ``shift + i * scale``), which an
    exact rebuild follows (families whose host ignores them keep plain ids with or without DyPE).
    ``attention_override``: the model's attention runs through ComfyUI's ``optimized_attention`` with
    its ``transformer_options``, so proportional attention can reach it (ERNIE-Image's does not).
    """

    name: str
    members: str
    classes: tuple[str, ...]
    model: Model
    embedder: str = "diffusion_model.pe_embedder"
    hook: Hook = DIFFUSION_MODEL
    image: Callable[[Call], Locator] = after_text
    exact_ids: bool = False
    origin: Callable[[int, int], tuple[int, int]] = corner
    head_axis: int = 1
    patch_t: int = 1
    controlnets: bool = False
    rope_options: bool = False
    variant: Callable[[Any, Any], bool] | None = None
    table: Callable[[torch.Tensor], torch.Tensor] | None = None
    source: str = "ids"
    read_layout: Callable[[Any], dict] | None = None
    patch_from_model: bool = True
    downscale_from_format: bool = True
    attention_override: bool = True

    def placement(self, options: dict) -> tuple[float, float, float, float]:
        """``(scale_y, shift_y, scale_x, shift_x)`` the host applies to the main image's row and column ids in a
        call with ``transformer_options`` ``options`` (identity for a family whose host ignores them)."""
        rope = options.get("rope_options") if self.rope_options else None
        if not rope:
            return IDENTITY_PLACEMENT
        return (float(rope.get("scale_y", 1.0)), float(rope.get("shift_y", 0.0)), float(rope.get("scale_x", 1.0)),
                float(rope.get("shift_x", 0.0)))

    @property
    def layout(self) -> RotaryLayout:
        """The family's rotary layout at its native size."""
        return self.model.layout

    @property
    def native(self) -> tuple[int, int]:
        """The training resolution ``(height, width)`` in pixels."""
        return self.model.native

    def time(self, sigma: float) -> float:
        """Diffusion time in ``[0, 1]`` of one of the sampler's sigmas."""
        return self.model.time(sigma)

    def rotary(self, embedder: Any) -> dict:
        """The embedder's ``axes_dim`` and ``theta`` (those it has)."""
        if self.read_layout is not None:
            return self.read_layout(embedder)
        found = {"axes_dim": getattr(embedder, "axes_dim", None), "theta": getattr(embedder, "theta", None)}
        return {name: value for name, value in found.items() if value is not None}

    def matches(self, model: Any, embedder: Any) -> bool:
        """Whether ``model`` (with rotary ``embedder``) belongs to this family."""
        if self.variant is not None:
            return self.variant(model, embedder)
        axes_dim = self.rotary(embedder).get("axes_dim")
        return axes_dim is not None and len(axes_dim) == len(self.layout.axes_dim)

    def geometry(self, latent: torch.Tensor, layout: RotaryLayout) -> tuple[int, tuple[int, int]]:
        """``(frames, (rows, cols))`` of a latent ``[B, C, H, W]`` or ``[B, C, T, H, W]``."""
        frames = -(-latent.shape[2] // self.patch_t) if latent.ndim == 5 else 1
        return frames, (layout.tokens(latent.shape[-2]), layout.tokens(latent.shape[-1]))
