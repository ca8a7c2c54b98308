"""DyPE (Dynamic Position Extrapolation, arXiv 2510.20766), SEGA and proportional attention in pure torch.

The math of the ComfyUI node pack, with no host import: the DyPE schedule, the frequency
methods (PI, NTK-aware, YaRN and their DyPE forms), SEGA's spectrum and per-pair magnitudes
(``sega``), proportional attention's factor (``attention``), rotary layouts of the supported
models, rotary tables in the host's layout, and per-step plans.
"""

from .frequencies import RotaryFrequencies
from .layout import FLUX1, FLUX2, SCALINGS, RotaryLayout
from .methods import METHODS, axis_frequencies, plain_frequencies
from .models import MODELS, Model
from .plan import Plan, plan
from .schedule import edm_flow_time, kappa, sigma_to_t
from .settings import DyPESettings
from .shift import flux_time_shift, linear_mu, simple_schedule
from .table import TableCache, build_table
from .yarn import RAMPS, attention_scale

__all__ = [
    "FLUX1", "FLUX2", "METHODS", "MODELS", "RAMPS", "SCALINGS",
    "DyPESettings", "Model", "Plan", "RotaryFrequencies", "RotaryLayout", "TableCache",
    "attention_scale", "axis_frequencies", "build_table", "edm_flow_time", "flux_time_shift", "kappa",
    "linear_mu", "plain_frequencies", "plan", "sigma_to_t", "simple_schedule",
]

__version__ = "0.1.0"
