"""Euler sampling of the rectified flow, with one rotary table per step.

FLUX's rectified flow: ``x_t = (1 - t) x0 + t noise``, velocity ``v = noise - x0``. Sampling
integrates ``dx/dt = v(x_t, t)`` from ``t = 1`` (noise) to ``t = 0`` with Euler steps
``x_{t'} = x_t + (t' - t) v(x_t, t)`` on a uniform grid of ``steps`` intervals. The table of
each step comes from ``lab.rope.table`` at that step's ``t`` (= sigma, since sigma_max = 1),
so dynamic methods follow DyPE's ``k(t)`` exactly as the node pack does. With
``proportional`` every step also scales the attention logits by
``dype_core.attention.proportional_factor`` of the token count (the same factor for every method).
``on_step`` sees the model's prediction of the clean image at every step, ``x0 = x_t - t v``
(the flow's ``x_t = (1 - t) x0 + t noise`` solved with ``v = noise - x0``); the last step's
prediction is the sample itself. With a ``Guide`` that prediction is first corrected toward the
guide image by ``dype_core.guide.guided`` (I-Max's projected flow) at the weight of its step, and the
step moves along the velocity of the corrected prediction, ``v = (x_t - x0) / t``, as ComfyUI's
samplers do with a post-CFG function's output.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from dype_core import DyPESettings
from dype_core import guide as lab_guide
from dype_core.attention import proportional_factor

from . import rope as lab_rope
from .model import DiT


@dataclass(frozen=True)
class Guide:
    """A low-resolution guide: ``image [B, C, H, W]`` at the canvas size (the upscaled native sample),
    its ``projection`` and the ``strength`` that multiplies I-Max's cosine weights."""

    image: torch.Tensor
    projection: lab_guide.Projection
    strength: float = 1.0


def time_grid(steps: int) -> list[float]:
    """``steps + 1`` times from 1 to 0, uniform."""
    return [1.0 - i / steps for i in range(steps + 1)]


@torch.no_grad()
def sample(
    model: DiT,
    noise: torch.Tensor,
    prompt: torch.Tensor,
    settings: DyPESettings | None,
    steps: int,
    proportional: bool = False,
    on_step: Callable[[float, torch.Tensor], None] | None = None,
    guide: Guide | None = None,
) -> torch.Tensor:
    """Images from ``noise [B, C, H, W]`` (any multiple of the patch) and prompts ``prompt``
    (``lab.data.conditions``) by ``steps`` Euler steps, with the rotary tables of ``settings``
    (None: plain RoPE), proportional attention when ``proportional`` and the low-resolution
    ``guide`` if given; ``on_step(t, x0)`` is called at every step with the step's time and
    (guided) clean-image prediction."""
    layout = model.config.layout()
    rows, cols = noise.shape[2] // model.config.patch, noise.shape[3] // model.config.patch
    tokens = rows * cols
    logit_scale = proportional_factor(tokens, tokens, model.config.base_tokens ** 2) if proportional else 1.0
    x = noise
    times = time_grid(steps)
    schedule = torch.tensor(times)
    low_guide = None if guide is None else guide.projection.low(guide.image)
    for t, t_next in zip(times[:-1], times[1:]):
        table = lab_rope.table(layout, rows, cols, settings, t, x)
        v = model(x, torch.full((x.shape[0],), t), prompt, table, logit_scale)
        x0 = x - t * v
        if guide is not None:
            weight = lab_guide.weight(torch.tensor(t), schedule, guide.strength)
            x0 = lab_guide.guided(x0, low_guide, weight, guide.projection)
            v = (x - x0) / t
        if on_step is not None:
            on_step(t, x0)
        x = x + (t_next - t) * v
    return x


def noise_for(seed: int, count: int, size: int, channels: int = 3) -> torch.Tensor:
    """The starting noise of sample seeds ``seed .. seed + count - 1`` at ``size`` pixels: one
    generator per seed, so a sample does not depend on the batch it is drawn in."""
    out = []
    for index in range(seed, seed + count):
        gen = torch.Generator().manual_seed(index)
        out.append(torch.randn(channels, size, size, generator=gen))
    return torch.stack(out)
