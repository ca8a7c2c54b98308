"""Frequency methods for one rotary axis: plain RoPE, PI, NTK-aware, YaRN and their DyPE forms, and SEGA's.

Every method is one function with the same keyword signature, returning the new angular
frequencies and the attention scale of the axis; ``METHODS`` maps each name to it, and
``axis_frequencies`` validates a request and dispatches it. Static methods take
``t = None``; dynamic (DyPE) ones take the diffusion time ``t`` in ``[0, 1]``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from .schedule import kappa
from .yarn import RAMPS, attention_scale, blend

#: Lumina-Next's switch point: PI while ``t >= 1 - LUMINA_WATERSHED``, NTK afterwards.
LUMINA_WATERSHED = 0.3


def plain_frequencies(
    dim: int, theta: float, device: torch.device | str | None = None
) -> torch.Tensor:
    """Plain RoPE ``w_i = theta ** (-2i / D)``, float64, formed exactly as ComfyUI forms it.

    ComfyUI computes ``1 / theta ** linspace(0, (D - 2) / D, D / 2)``; using the same
    expression makes tables built from these frequencies bitwise equal to the host's.
    """
    exponents = torch.linspace(0, (dim - 2) / dim, steps=dim // 2, dtype=torch.float64, device=device)
    return 1.0 / (theta**exponents)


def _none(omega: torch.Tensor, **_: object) -> tuple[torch.Tensor, float]:
    """Plain RoPE: no extrapolation."""
    return omega, 1.0


def _pi(
    omega: torch.Tensor, *, scale: float, t: float | None, lambda_s: float, lambda_t: float, **_: object
) -> tuple[torch.Tensor, float]:
    """PI ``w_i / s``; Dy-PI ``w_i / s ** k(t)`` (paper Eq. 14).

    ``s ** -k`` is formed as ``exp(-k ln s)``: a very large ``k`` gives frequencies that
    underflow to 0 rather than a float overflow.
    """
    exponent = 1.0 if t is None else kappa(t, lambda_s, lambda_t)
    return omega * math.exp(-exponent * math.log(scale)), 1.0


def _ntk(
    omega: torch.Tensor, *, scale: float, t: float | None, lambda_s: float, lambda_t: float, **_: object
) -> tuple[torch.Tensor, float]:
    """NTK-aware ``w_i s ** (-2i / (D - 2))``; Dy-NTK with the exponent times ``k(t)`` (Eq. 15).

    The exponent ``k (2i / (D - 2))`` is formed fraction first and applied as ``exp(-x ln s)``,
    so a very large ``k`` underflows to 0 instead of overflowing (or making ``inf * 0``).
    """
    exponent = 1.0 if t is None else kappa(t, lambda_s, lambda_t)
    pairs = torch.arange(omega.numel(), dtype=omega.dtype, device=omega.device)
    fraction = 2.0 * pairs / max(2 * omega.numel() - 2, 1)
    return omega * torch.exp(-(exponent * fraction) * math.log(scale)), 1.0


def _sega(omega: torch.Tensor, *, scale: float, **_: object) -> tuple[torch.Tensor, float]:
    """SEGA's frequencies: static NTK-aware ones (the magnitude of each pair comes from the latent's
    spectrum, ``sega.pair_gains``, applied in ``frequencies.dype``)."""
    return _ntk(omega, scale=scale, t=None, lambda_s=1.0, lambda_t=1.0)


def _yarn(
    omega: torch.Tensor,
    *,
    scale: float,
    theta: float,
    base_len: float,
    t: float | None,
    lambda_s: float,
    lambda_t: float,
    yarn_ramp: str,
) -> tuple[torch.Tensor, float]:
    """YaRN / Dy-YaRN (Eq. 16-17) with the attention factor ``0.1 ln s + 1``, constant in time."""
    new = blend(
        omega, scale=scale, theta=theta, base_len=base_len, t=t,
        lambda_s=lambda_s, lambda_t=lambda_t, ramp=yarn_ramp,
    )
    return new, attention_scale(scale)


def _lumina(
    omega: torch.Tensor, *, scale: float, t: float | None, **_: object
) -> tuple[torch.Tensor, float]:
    """Lumina-Next's time-aware baseline: PI early, then NTK with base ``b * s`` (comparison only).

    Lumina-Next uses one isotropic ``s = sqrt(N_h N_w / (L_h L_w))``: pass that as ``scale``
    (``scaling="area"`` in ``DyPESettings``).
    """
    if t is None:
        raise ValueError("method 'lumina' is time-aware: pass the diffusion time t in [0, 1]")
    if t >= 1.0 - LUMINA_WATERSHED:
        return omega / scale, 1.0
    pairs = torch.arange(omega.numel(), dtype=omega.dtype, device=omega.device)
    return omega * scale ** (-2.0 * pairs / (2 * omega.numel())), 1.0


def intrinsic_index(omega: torch.Tensor, base_len: float) -> int | None:
    """RIFLEx's intrinsic component: the pair that made less than one turn over the trained length ``L``
    and whose period ``N_j = 2 pi / w_j`` is the closest to it, ``argmin_{N_j >= L} |N_j - L|`` (Zhao et
    al. 2025, Eq. 4 and 7, with the first repetition frame ``N`` just past ``L``); ``None`` when every
    pair turned fully.

    Faster pairs completed whole turns in training, so extending the video only repeats phases they
    have seen; this one is the first whose turn completes inside a longer video, which makes it loop
    back to its start. (It gives the official code's k = 4 for HunyuanVideo and 2 for CogVideoX.)
    """
    periods = 2.0 * math.pi / omega
    slow = (periods >= base_len).nonzero().flatten()
    return None if slow.numel() == 0 else int(slow[0])


def _riflex(
    omega: torch.Tensor, *, scale: float, base_len: float, t: float | None, lambda_t: float, **_: object
) -> tuple[torch.Tensor, float]:
    """RIFLEx (Zhao et al. 2025, Eq. 8): lower only the intrinsic pair ``k`` to ``w'_k = 2 pi / (L s)``,
    so that its period covers the new length ``L s``; a pair whose period already covers it is kept.
    Every other pair keeps its plain frequency. With the DyPE schedule (``t`` given), the change follows
    ``k_y(t) = t ** lambda_t`` geometrically, ``w_k (w'_k / w_k) ** k_y``: full at the noisiest step,
    plain RoPE at the last.
    """
    index = intrinsic_index(omega, base_len)
    if index is None:
        return omega, 1.0
    target = min(float(omega[index]), 2.0 * math.pi / (base_len * scale))
    weight = 1.0 if t is None else kappa(t, 1.0, lambda_t)
    new = omega.clone()
    new[index] = float(omega[index]) * (target / float(omega[index])) ** weight
    return new, 1.0


FrequencyMethod = Callable[..., tuple[torch.Tensor, float]]

#: Every method by name. ``lumina`` is a comparison baseline, not a DyPE method; ``riflex`` is for a time
#: axis (one pair changes), a comparison method there; ``sega`` is static (its magnitudes follow the latent).
METHODS: dict[str, FrequencyMethod] = {
    "none": _none,
    "pi": _pi,
    "ntk": _ntk,
    "yarn": _yarn,
    "sega": _sega,
    "lumina": _lumina,
    "riflex": _riflex,
}


def validate_request(
    method: str,
    *,
    dim: int,
    theta: float,
    scale: float,
    base_len: float,
    t: float | None,
    lambda_s: float,
    lambda_t: float,
    yarn_ramp: str,
) -> None:
    """Raise ``ValueError`` saying what is wrong and what is allowed."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if yarn_ramp not in RAMPS:
        raise ValueError(f"unknown yarn_ramp {yarn_ramp!r}; choose one of {', '.join(RAMPS)}")
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 2 or dim % 2:
        raise ValueError(f"dim must be an even integer >= 2 (one rotary axis), got {dim!r}")
    checks = (
        ("theta", theta, theta > 1.0, "> 1"),
        ("scale", scale, scale >= 1.0, ">= 1 (s = max(1, N / L))"),
        ("base_len", base_len, base_len > 0.0, "> 0 tokens"),
        ("lambda_s", lambda_s, lambda_s >= 0.0, ">= 0"),
        ("lambda_t", lambda_t, lambda_t >= 0.0, ">= 0"),
    )
    for name, value, ok, allowed in checks:
        if not math.isfinite(value) or not ok:
            raise ValueError(f"{name} must be finite and {allowed}, got {value!r}")
    if t is not None and not 0.0 <= t <= 1.0:
        raise ValueError(f"t must be None (static method) or a diffusion time in [0, 1], got {t!r}")


def axis_frequencies(
    method: str,
    *,
    dim: int,
    theta: float,
    scale: float,
    base_len: float,
    t: float | None,
    lambda_s: float = 2.0,
    lambda_t: float = 2.0,
    yarn_ramp: str = "official",
    device: torch.device | str | None = None,
) -> tuple[torch.Tensor, float]:
    """Angular frequencies (float64, length ``dim // 2``) and attention scale of one axis.

    ``t = None`` selects the static method; a float selects its DyPE form at that
    diffusion time. Every method is exactly plain RoPE at ``scale = 1``. The frequencies
    are formed on ``device`` (CPU by default), so nothing is copied between devices.
    """
    validate_request(
        method, dim=dim, theta=theta, scale=scale, base_len=base_len, t=t,
        lambda_s=lambda_s, lambda_t=lambda_t, yarn_ramp=yarn_ramp,
    )
    omega = plain_frequencies(dim, theta, device)
    if scale == 1.0:
        return omega, 1.0
    return METHODS[method](
        omega, scale=scale, theta=theta, base_len=base_len, t=t,
        lambda_s=lambda_s, lambda_t=lambda_t, yarn_ramp=yarn_ramp,
    )
