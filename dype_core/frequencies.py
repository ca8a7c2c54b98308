"""Frequencies of every axis of a layout at one diffusion time."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from . import sega
from .layout import RotaryLayout
from .methods import axis_frequencies, plain_frequencies
from .settings import DyPESettings

#: One axis's gain: a number for all its pairs, or one per pair (SEGA's ``m_i``, float64, shape ``[pairs]``).
Gain = float | torch.Tensor


@dataclass(frozen=True)
class RotaryFrequencies:
    """Angular frequencies of all pairs (float64, axes concatenated) and each axis's gain.

    ``gains[a]`` multiplies the rotation matrices of axis ``a``: YaRN's attention scale (one number), or
    SEGA's magnitude of each of its pairs (a tensor).
    """

    omega: torch.Tensor
    gains: tuple[Gain, ...]

    def on(self, device: torch.device) -> RotaryFrequencies:
        """The same frequencies on ``device``."""
        if self.omega.device == device:
            return self
        gains = tuple(g.to(device) if isinstance(g, torch.Tensor) else g for g in self.gains)
        return RotaryFrequencies(self.omega.to(device), gains)


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
    spectrum: sega.Spectrum | None = None,
) -> RotaryFrequencies:
    """The settings' frequencies of every axis at scales ``scales`` and diffusion time ``t``.

    A video's time axis follows ``settings.for_time()`` (RIFLEx by default). Axes with ``s = 1``
    (other non-spatial ones always) and a time axis set to ``off`` keep plain RoPE bitwise. SEGA's
    spatial axes get NTK-aware frequencies and the magnitudes ``sega.pair_gains`` of ``spectrum``,
    the current latent's; without one, ``m_ref`` on every pair (what a flat spectrum gives).
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
            if chosen.method == "sega":
                gain = _sega_gain(layout, axis, dim, scale, spectrum, omega.device)
        parts.append(omega)
        gains.append(gain)
    return RotaryFrequencies(torch.cat(parts), tuple(gains))


def _sega_gain(layout: RotaryLayout, axis: int, dim: int, scale: float, spectrum: sega.Spectrum | None,
               device: torch.device) -> Gain:
    """SEGA's magnitudes of one spatial axis: ``m_ref = s^kappa`` without a spectrum, else ``m_i`` per pair,
    formed on ``device`` with the frequencies (the CPU for a latent on a device without float64)."""
    m_ref = sega.reference_magnitude(scale)
    if spectrum is None:
        return m_ref
    energy = spectrum.rows if axis == layout.row_axis else spectrum.cols
    return sega.pair_gains(energy.to(device), dim // 2, m_ref, spectrum.spread.to(device))
