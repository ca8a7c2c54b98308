"""The node's choices by the names users see, and the ranges of its numbers: one source for the DyPE
node and the command line, so that what the plan shows is what the node does."""

from __future__ import annotations

from . import guide
from .settings import DyPESettings
from .yarn import RAMPS

#: The method menu: label -> (method, dynamic).
METHODS = {
    "SEGA": ("sega", False),
    "Dy-YaRN": ("yarn", True),
    "Dy-NTK": ("ntk", True),
    "Dy-PI": ("pi", True),
    "YaRN (static)": ("yarn", False),
    "NTK (static)": ("ntk", False),
    "PI (static)": ("pi", False),
    "off": ("none", False),
}
#: The node's defaults, chosen from the lab and the published comparisons (README, "Which method should I use?").
DEFAULT_METHOD, DEFAULT_PROPORTIONAL = "SEGA", True
#: The scaling menu: label -> ``DyPESettings.scaling``.
SCALINGS = {"per-axis": "per_axis", "isotropic": "isotropic"}
#: The time-axis menu (video models above their trained clip length): label -> ``DyPESettings.time``.
TIME_AXIS = {"RIFLEx": "riflex", "Dy-RIFLEx": "dy-riflex", "follow method": "follow", "off": "off"}
#: How the schedule's shift is chosen: the model's sampling as it is, the checkpoint's own default, ComfyUI's
#: linear rule in image tokens, or a given ``mu``.
TIME_SHIFTS = ("model", "base", "linear", "custom")
#: Upper bounds of the number inputs (lower bounds are 0).
LAMBDA_MAX, MU_MAX, BASE_RESOLUTION_MAX = 10.0, 20.0, 16384
#: The low-resolution guide's projections (``dype_core.guide``): label -> projection.
GUIDE_PROJECTIONS: dict[str, guide.Projection] = {
    "I-Max block mean": guide.BlockMean(),
    "HiFlow Butterworth": guide.Butterworth(),
}
#: The guide's defaults (I-Max's projection at its full weights) and the strength's upper bound.
DEFAULT_GUIDE_PROJECTION, DEFAULT_GUIDE_STRENGTH, GUIDE_STRENGTH_MAX = "I-Max block mean", 1.0, 1.0

__all__ = [
    "BASE_RESOLUTION_MAX", "DEFAULT_GUIDE_PROJECTION", "DEFAULT_GUIDE_STRENGTH", "DEFAULT_METHOD",
    "DEFAULT_PROPORTIONAL", "GUIDE_PROJECTIONS", "GUIDE_STRENGTH_MAX", "LAMBDA_MAX", "METHODS", "MU_MAX", "RAMPS",
    "SCALINGS", "TIME_AXIS", "TIME_SHIFTS", "check_shift", "guide_projection", "settings",
]


def _in_range(name: str, value: float, high: float) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0.0 <= value <= high:
        raise ValueError(f"{name} must be a number from 0 to {high:g}, got {value!r}")


def _one_of(name: str, value: str, menu: dict | tuple) -> None:
    if value not in menu:
        raise ValueError(f"{name} {value!r} is not one of: {', '.join(menu)}")


def settings(
    method: str, lambda_s: float, lambda_t: float, yarn_ramp: str, scaling: str, attention_scale: bool,
    time_axis: str = "RIFLEx", proportional_attention: bool = False,
) -> DyPESettings:
    """The menus' labels and the numbers as ``DyPESettings``; ``ValueError`` says what is allowed."""
    _one_of("method", method, METHODS)
    _one_of("yarn_ramp", yarn_ramp, RAMPS)
    _one_of("scaling", scaling, SCALINGS)
    _one_of("time_axis", time_axis, TIME_AXIS)
    _in_range("lambda_s", lambda_s, LAMBDA_MAX)
    _in_range("lambda_t", lambda_t, LAMBDA_MAX)
    if not isinstance(proportional_attention, bool):
        raise ValueError(f"proportional_attention must be true or false, got {proportional_attention!r}")
    name, dynamic = METHODS[method]
    return DyPESettings(
        method=name, dynamic=dynamic, lambda_s=lambda_s, lambda_t=lambda_t, yarn_ramp=yarn_ramp,
        scaling=SCALINGS[scaling], attention_scale=attention_scale, time=TIME_AXIS[time_axis],
        proportional=proportional_attention,
    )


def check_shift(time_shift: str, mu: float, base_resolution: int) -> None:
    """``ValueError`` unless the time shift, ``mu`` and base resolution are ones the node allows."""
    _one_of("time_shift", time_shift, TIME_SHIFTS)
    _in_range("mu", mu, MU_MAX)
    if isinstance(base_resolution, bool) or not isinstance(base_resolution, int) \
            or not 0 <= base_resolution <= BASE_RESOLUTION_MAX:
        raise ValueError(f"base_resolution must be 0 (auto) or a size up to {BASE_RESOLUTION_MAX} px, "
                         f"got {base_resolution!r}")


def guide_projection(strength: float, projection: str) -> guide.Projection:
    """The guide's projection for the menu label ``projection``, once ``strength`` is checked to be in range;
    ``ValueError`` says what is allowed."""
    _in_range("strength", strength, GUIDE_STRENGTH_MAX)
    _one_of("projection", projection, GUIDE_PROJECTIONS)
    return GUIDE_PROJECTIONS[projection]
