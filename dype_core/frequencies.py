"""Frequencies of every axis of a layout at one diffusion time."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .layout import RotaryLayout
from .methods import axis_frequencies, plain_frequencies
from .settings import DyPESettings


@dataclass(frozen=True)
class RotaryFrequencies:
    """Angular frequencies of all pairs (float64, axes concatenated) and each axis's gain.

    ``gains[a]`` multiplies the rotation matrices of axis ``a`` (YaRN's attention scale).
    """

    omega: torch.Tensor
    gains: tuple[float, ...]

    def on(self, device: torch.device) -> RotaryFrequencies:
        """The same frequencies on ``device``."""
        return self if self.omega.device == device else RotaryFrequencies(self.omega.to(device), self.gains)


def plain(layout: RotaryLayout, device: torch.device | str | None = None) -> RotaryFrequencies:
    """Plain RoPE of every axis, as the host computes it."""
    omega = torch.cat([plain_frequencies(d, layout.theta, device) for d in layout.axes_dim])
    return RotaryFrequencies(omega, (1.0,) * len(layout.axes_dim))


def dype(
    layout: RotaryLayout,
    settings: DyPESettings,
    scales: tuple[float, ...],
    t: float,
    device: torch.device | str | None = None,
) -> RotaryFrequencies:
    """The settings' frequencies of every axis at scales ``scales`` and diffusion time ``t``.

    A video's time axis follows ``settings.for_time()`` (RIFLEx by default). Axes with ``s = 1``
    (other non-spatial ones always) and a time axis set to ``off`` keep plain RoPE bitwise.
    """
    parts, gains = [], []
    for axis, (dim, scale) in enumerate(zip(layout.axes_dim, scales)):
        chosen = settings.for_time() if axis == layout.time_axis else settings
        if scale == 1.0 or chosen is None:
            omega, gain = plain_frequencies(dim, layout.theta, device), 1.0
        else:
            omega, gain = axis_frequencies(
                chosen.method, dim=dim, theta=layout.theta, scale=scale,
                base_len=layout.base_len(axis), t=t if chosen.dynamic else None,
                lambda_s=chosen.lambda_s, lambda_t=chosen.lambda_t,
                yarn_ramp=chosen.yarn_ramp, device=device,
            )
            gain = gain if chosen.attention_scale else 1.0
        parts.append(omega)
        gains.append(gain)
    return RotaryFrequencies(torch.cat(parts), tuple(gains))
