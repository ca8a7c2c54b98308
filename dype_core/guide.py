"""The low-resolution guide: pull the large image's low frequencies toward a native-size sample.

I-Max's projected flow (Du et al., arXiv 2410.07536) samples the image first at the model's native
size, where its layout is reliable, upscales it to the target size as a guide ``G``, and then at
every step of the large image's sampling corrects the model's clean-image prediction ``x0``:

    x0' = x0 + c_i * (P(G) - P(x0))

``P`` is a low-pass projection, so only the frequencies a native-size image can hold are pulled
toward the guide, and the high ones stay the model's own. ``c_i = 0.5 (1 + cos(pi i / N))`` falls
from 1 at the first of the ``N`` steps to nearly 0 at the last, so the layout is held while it forms
and the details are free at the end. I-Max writes the correction on the velocity,
``v' = v + c_i (P(v_G) - P(v))`` with ``v_G = (x_t - G) / sigma``; with ``x0 = x_t - sigma v`` and
``P`` linear that is the line above. The paper's method section was not available to us: the
projection, the weights and the velocity form are those of its official code (PRIS-CV/I-Max,
schedule ``cosine_decay``, its README's default). ``P`` is linear, so ``P(G) - P(x0) = P(G - x0)``
and the guide's projection is made once per sampling run.

Two projections: ``BlockMean`` (I-Max's) and ``Butterworth`` (HiFlow's, Bu et al., arXiv
2504.06232, Eq. 8, which pulls ``x0`` the same way). Both act on the last two (spatial) dimensions,
frame by frame for a video.

The weights follow the sampler's own sigmas, not a step count: the position of a model call in
the schedule is read from its sigma (``position``), so ``denoise < 1``, any scheduler and
samplers that evaluate between the schedule's sigmas all get the weight of where they are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class BlockMean:
    """I-Max's projection: ``P(x)`` is the mean of every ``block x block`` spatial patch, spread back
    over the patch. I-Max's code takes a level-1 Haar wavelet transform of the latent and zeroes its
    detail bands, which is exactly that with ``block = 2`` (the paper does not name its filter).
    ``low`` gives the compact means (``block^2`` times fewer values); ``add`` spreads a difference of
    means back. A side that is not a whole number of blocks has a smaller last block."""

    block: int = 2

    def low(self, x: torch.Tensor) -> torch.Tensor:
        """The block means of ``x [..., H, W]``: ``[..., ceil(H / block), ceil(W / block)]``."""
        flat = x.reshape(-1, 1, *x.shape[-2:])
        pooled = F.avg_pool2d(flat, self.block, ceil_mode=True, count_include_pad=False)
        return pooled.reshape(*x.shape[:-2], *pooled.shape[-2:])

    def add(self, x: torch.Tensor, low: torch.Tensor, weight: torch.Tensor | float) -> torch.Tensor:
        """``x + weight * low`` with ``low``'s block means spread over their blocks. When the sides are whole
        blocks the means are broadcast over a blocked view of ``x``, so the result is the only new tensor."""
        height, width = x.shape[-2:]
        weight = torch.as_tensor(weight, dtype=x.dtype, device=x.device)
        if height % self.block == 0 and width % self.block == 0:
            rows, cols = height // self.block, width // self.block
            blocks = x.unflatten(-2, (rows, self.block)).unflatten(-1, (cols, self.block))
            out = torch.addcmul(blocks, low[..., :, None, :, None], weight)
            return out.flatten(-2).flatten(-3, -2)
        spread = low.repeat_interleave(self.block, dim=-2)[..., :height, :]
        spread = spread.repeat_interleave(self.block, dim=-1)[..., :width]
        return torch.addcmul(x, spread, weight)


@dataclass(frozen=True)
class Butterworth:
    """HiFlow's projection (arXiv 2504.06232, Eq. 8): the 2-D Butterworth low-pass
    ``H(d) = 1 / (1 + (d / cutoff)^(2 order))`` applied in the Fourier domain, ``d`` the radial frequency
    over the spatial axes with 1 at Nyquist. The cut-off is the paper's (0.4); the order, which the
    paper does not give, is its code's (4)."""

    cutoff: float = 0.4
    order: int = 4

    def response(self, height: int, width: int, device: torch.device) -> torch.Tensor:
        """``H(d)`` on the ``rfft2`` grid of an ``height x width`` image, float32."""
        fy = 2.0 * torch.fft.fftfreq(height, device=device)[:, None]
        fx = 2.0 * torch.fft.rfftfreq(width, device=device)[None, :]
        radius = (fy.square() + fx.square()).sqrt()
        return 1.0 / (1.0 + (radius / self.cutoff) ** (2 * self.order))

    def low(self, x: torch.Tensor) -> torch.Tensor:
        """The low-passed ``x [..., H, W]`` (computed in float32; same shape and dtype)."""
        height, width = x.shape[-2:]
        spectrum = torch.fft.rfft2(x.float()) * self.response(height, width, x.device)
        return torch.fft.irfft2(spectrum, s=(height, width)).to(x.dtype)

    def add(self, x: torch.Tensor, low: torch.Tensor, weight: torch.Tensor | float) -> torch.Tensor:
        """``x + weight * low``."""
        return torch.addcmul(x, low, torch.as_tensor(weight, dtype=x.dtype, device=x.device))


Projection = BlockMean | Butterworth


def position(sigma: torch.Tensor, sigmas: torch.Tensor) -> torch.Tensor:
    """Where ``sigma`` is in the decreasing schedule ``sigmas = (s_0 .. s_N)``, as a fractional step:
    ``i + (s_i - sigma) / (s_i - s_{i+1})`` between ``s_i`` and ``s_{i+1}``, 0 at or above ``s_0`` and
    ``N`` at or below ``s_N``. A step the schedule repeats (``s_i = s_{i+1}``) counts once ``sigma`` is
    below it. A 0-d tensor on ``sigmas``' device: nothing is read back."""
    values = sigmas.detach().flatten().float()
    sigma = torch.as_tensor(sigma, device=values.device).detach().float().amax()
    upper, lower = values[:-1], values[1:]
    gap = upper - lower
    inside = ((upper - sigma) / gap.clamp_min(torch.finfo(torch.float32).tiny)).clamp(0.0, 1.0)
    return torch.where(gap > 0, inside, (sigma < upper).float()).sum()


def weight(sigma: torch.Tensor, sigmas: torch.Tensor, strength: float) -> torch.Tensor:
    """The guide's weight at a model call at ``sigma`` of the schedule ``sigmas``: ``strength`` times I-Max's
    ``c_i = 0.5 (1 + cos(pi i / N))`` at ``i = position(sigma, sigmas)`` of ``N`` steps, a 0-d tensor on the
    schedule's device."""
    steps = max(1, sigmas.numel() - 1)
    return strength * 0.5 * (1.0 + torch.cos(position(sigma, sigmas) * (math.pi / steps)))


def weights(sigmas: torch.Tensor, strength: float, at: torch.Tensor | None = None) -> list[float]:
    """The weights at the sigmas ``at`` (default: every step of ``sigmas``, its last value excluded), as
    floats: what the readout and the plan show."""
    at = sigmas.flatten()[:-1] if at is None else at.flatten()
    return [float(weight(sigma, sigmas, strength)) for sigma in at]


def guided(
    x0: torch.Tensor, low_guide: torch.Tensor, weight: torch.Tensor | float, project: Projection,
) -> torch.Tensor:
    """The projected-flow correction of a clean-image prediction ``x0``:
    ``x0 + weight * (P(G) - P(x0))``, with ``low_guide = project.low(G)``."""
    return project.add(x0, low_guide - project.low(x0), weight)


def resize(guide: torch.Tensor, shape: torch.Size | tuple[int, ...]) -> torch.Tensor:
    """``guide [B, C, H, W]`` (or a video's ``[B, C, T, H, W]``) resized to the spatial (and frame) size of
    ``shape``: bicubic in space (I-Max upsamples its native sample bicubically; antialiased when shrinking),
    linear in frames with the first and last frames kept. Batch and channels are left alone."""
    if guide.ndim not in (4, 5) or guide.ndim != len(shape):
        raise ValueError(f"a guide {tuple(guide.shape)} cannot be resized to a latent {tuple(shape)}")
    out = guide.float()
    if guide.ndim == 5 and out.shape[2] != shape[2]:
        batch, channels, frames, height, width = out.shape
        line = out.permute(0, 1, 3, 4, 2).reshape(-1, 1, frames)
        line = F.interpolate(line, size=shape[2], mode="linear", align_corners=True) if frames > 1 else \
            line.expand(-1, -1, shape[2])
        out = line.reshape(batch, channels, height, width, shape[2]).permute(0, 1, 4, 2, 3)
    if tuple(out.shape[-2:]) != tuple(shape[-2:]):
        lead = out.shape[:-2]
        flat = F.interpolate(out.reshape(-1, 1, *out.shape[-2:]), size=tuple(shape[-2:]), mode="bicubic",
                             align_corners=False, antialias=True)
        out = flat.reshape(*lead, *shape[-2:])
    return out.to(guide.dtype)
