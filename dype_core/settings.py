"""What a user chooses: the method, its DyPE schedule, scaling and attention scale."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from .layout import SCALINGS
from .methods import METHODS
from .schedule import kappa
from .yarn import RAMPS

#: How a video's time axis is extrapolated: RIFLEx (static or on the DyPE schedule), the spatial
#: method, or not at all.
TIME_METHODS = ("riflex", "dy-riflex", "follow", "off")


@dataclass(frozen=True)
class DyPESettings:
    """One DyPE configuration; validated on construction.

    ``method`` is one of ``METHODS``; ``dynamic`` selects its DyPE form (frequencies follow
    ``k(t)``) over the static one (SEGA has only the latter: its magnitudes follow the latent).
    ``attention_scale`` applies YaRN's ``0.1 ln s + 1`` to the
    scaled axes (YaRN only; constant in time). ``time`` is how a video's time axis is extrapolated
    above its trained length: ``"riflex"`` (RIFLEx, static), ``"dy-riflex"`` (RIFLEx on the DyPE
    schedule), ``"follow"`` (the spatial method and its schedule) or ``"off"``. ``proportional`` scales
    the attention logits by ``attention.proportional_factor`` above the base size (proportional attention).
    """

    method: str = "yarn"
    dynamic: bool = True
    lambda_s: float = 2.0
    lambda_t: float = 2.0
    yarn_ramp: str = "official"
    scaling: str = "per_axis"
    attention_scale: bool = True
    time: str = "riflex"
    proportional: bool = False

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r}; choose one of {', '.join(METHODS)}")
        if self.yarn_ramp not in RAMPS:
            raise ValueError(f"unknown yarn_ramp {self.yarn_ramp!r}; choose one of {', '.join(RAMPS)}")
        if self.scaling not in SCALINGS:
            raise ValueError(f"unknown scaling {self.scaling!r}; choose one of {', '.join(SCALINGS)}")
        for name in ("lambda_s", "lambda_t"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        if self.time not in TIME_METHODS:
            raise ValueError(f"unknown time {self.time!r}; choose one of {', '.join(TIME_METHODS)}")
        if self.method == "lumina" and not self.dynamic:
            raise ValueError("method 'lumina' is time-aware and has no static form: set dynamic=True")
        if self.method == "sega" and self.dynamic:
            raise ValueError("method 'sega' follows the latent, not a schedule: set dynamic=False")

    def kappa(self, t: float) -> float:
        """The schedule factor this method follows at time ``t``; 1 when static.

        Dy-PI and Dy-NTK use ``k(t) = lambda_s t^lambda_t`` (Eq. 13); Dy-YaRN scales its
        thresholds by ``k_y(t) = t^lambda_t`` (Eq. 16, ``lambda_s = 1``) except the legacy
        ramp, which raises them to ``k(t)``.
        """
        if not self.dynamic:
            return 1.0
        yarn_k_y = self.method == "yarn" and self.yarn_ramp != "legacy"
        return kappa(t, 1.0 if yarn_k_y else self.lambda_s, self.lambda_t)

    def for_time(self) -> DyPESettings | None:
        """The settings of the time axis (``None``: keep it plain)."""
        if self.time == "off" or self.method == "none":
            return None
        if self.time == "follow":
            return replace(self, method="ntk") if self.method == "sega" else self
        return replace(self, method="riflex", dynamic=self.time == "dy-riflex", attention_scale=False)

    @property
    def time_label(self) -> str:
        """The time axis's method in words: ``RIFLEx``, ``Dy-RIFLEx``, ``follow method`` or ``off``."""
        return {"riflex": "RIFLEx", "dy-riflex": "Dy-RIFLEx", "follow": "follow method", "off": "off"}[self.time]

    @property
    def label(self) -> str:
        """Short human name: ``Dy-YaRN``, ``NTK``, ``off``..."""
        names = {"none": "off", "pi": "PI", "ntk": "NTK", "yarn": "YaRN", "sega": "SEGA", "lumina": "Lumina-Next"}
        name = names[self.method]
        return f"Dy-{name}" if self.dynamic and self.method in ("pi", "ntk", "yarn") else name
