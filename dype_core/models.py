"""Every model the DyPE node supports, as a plan needs it: its rotary layout at its native size and
the time shift its own sampling uses.

One entry per model, keyed by the name the command line takes (``--model``). A family whose
variants sample differently has one entry per variant (FLUX.1 dev and schnell, Wan and Wan Animate
2). The node reads the axes, theta and sampling from the loaded checkpoint; these entries carry the
same numbers for planning without one. Axes, theta, pixels per token and sampling come from
ComfyUI's model configs (``comfy/supported_models.py``, ``sampling_settings``); native sizes from the
model cards, cited where each family is described in the node pack (``nodes/families``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

from .layout import FLUX1, FLUX2, RotaryLayout
from .schedule import edm_flow_time, sigma_to_t
from .shift import edm_simple_schedule, simple_schedule

#: The EDM sigma range of a rectified flow sampled in EDM sigmas (Cosmos Predict2's config).
COSMOS_SIGMAS = (0.002, 80.0)
#: Entries of ``ModelSamplingFlux``'s sigma table (ComfyUI's ``ModelType.FLUX``, which writes its shift as
#: ``mu``); a discrete flow tabulates 1000 and writes a shift ``s``.
FLUX_TIMESTEPS = 10000


@dataclass(frozen=True)
class Model:
    """A supported model: ``layout`` (its base grid is the native size in tokens), ``mu``, the shift of
    its own flow sampling written as FLUX's ``mu`` (``ln s`` for a discrete-flow shift ``s``; ``None``
    for Cosmos Predict2's EDM sigmas, which have none), ``timesteps``, the entries of its sampling's
    sigma table (``ModelSamplingFlux`` 10000, a discrete flow 1000), and for a video model
    ``frames_per_latent``, the video frames one latent frame holds after the first (the VAE's time
    compression)."""

    key: str
    layout: RotaryLayout
    mu: float | None
    timesteps: int = 1000
    frames_per_latent: int = 4

    @property
    def native(self) -> tuple[int, int]:
        """The native ``(height, width)`` in pixels."""
        rows, cols = self.layout.base_grid
        return round(rows * self.layout.px_per_token), round(cols * self.layout.px_per_token)

    @property
    def video(self) -> bool:
        """Whether the model makes videos whose time axis DyPE extends (a trained clip length)."""
        return self.layout.base_frames is not None

    @property
    def time(self) -> Callable[[float], float]:
        """Diffusion time ``t`` in ``[0, 1]`` of one of the model's sigmas."""
        return sigma_to_t if self.mu is not None else edm_flow_time

    @property
    def shift(self) -> str:
        """The own time shift as the model's config writes it: ``mu 1.15`` or ``shift 3 (mu 1.099)``."""
        if self.mu is None:
            return "none (EDM sigmas)"
        if self.timesteps == FLUX_TIMESTEPS:
            return f"mu {self.mu:.4g}"
        return f"shift {math.exp(self.mu):.4g} (mu {self.mu:.4g})"

    def latent_frames(self, frames: int) -> int:
        """Latent frames of a video of ``frames`` frames: the first, then one per ``frames_per_latent``."""
        return (frames - 1) // self.frames_per_latent + 1

    def schedule(self, steps: int, mu: float | None) -> list[float]:
        """ComfyUI's ``simple`` schedule of ``steps`` steps on the model's sampling, with ``mu`` as its shift."""
        if self.mu is None:
            return edm_simple_schedule(steps, *COSMOS_SIGMAS)
        return simple_schedule(steps, mu, self.timesteps)


def _layout(name: str, axes_dim: tuple[int, ...], theta: float, native: int, px: tuple[int, int],
            time_axis: int | None = None, base_frames: float | None = None) -> RotaryLayout:
    """A layout with rows and columns on the axes after the first (the first is time / index), ``px`` =
    ``(latent_downscale, patch)``, trained at ``native x native`` px."""
    side = native / (px[0] * px[1])
    return RotaryLayout(
        name=name, axes_dim=axes_dim, theta=theta, row_axis=len(axes_dim) - 2, col_axis=len(axes_dim) - 1,
        base_grid=(side, side), latent_downscale=px[0], patch=px[1], time_axis=time_axis, base_frames=base_frames,
    )


def _renamed(layout: RotaryLayout, name: str, native: int = 1024, **changes: int) -> RotaryLayout:
    """``layout`` under another name, with other pixels per token and trained at ``native`` px."""
    layout = replace(layout, name=name, **changes)
    side = native / layout.px_per_token
    return replace(layout, base_grid=(side, side))


_WAN = dict(axes_dim=(44, 42, 42), theta=10000.0, time_axis=0)
_HUNYUAN_VIDEO = dict(axes_dim=(16, 56, 56), theta=256.0, time_axis=0)
_LATENT_8, _LATENT_16 = (8, 2), (16, 1)

_MODELS = (
    # FLUX.1 dev, Krea, Fill, Kontext, Ovis-Image, LongCat-Image: ModelSamplingFlux, mu 1.15.
    Model("flux", FLUX1, mu=1.15, timesteps=FLUX_TIMESTEPS),
    # FLUX.1 schnell: a discrete flow of shift 1 (its config), mu 0.
    Model("flux-schnell", replace(FLUX1, name="FLUX.1 schnell"), mu=0.0),
    Model("flux2", FLUX2, mu=2.02, timesteps=FLUX_TIMESTEPS),
    Model("chroma", _renamed(FLUX1, "Chroma"), mu=1.15, timesteps=FLUX_TIMESTEPS),
    Model("chroma-radiance", _renamed(FLUX1, "Chroma Radiance", latent_downscale=1, patch=16), mu=1.15,
          timesteps=FLUX_TIMESTEPS),
    Model("qwen-image", _renamed(FLUX1, "Qwen-Image", native=1328), mu=1.15, timesteps=FLUX_TIMESTEPS),
    Model("qwen-image-2.1", _renamed(FLUX1, "Qwen-Image 2.1", latent_downscale=16, patch=1), mu=0.69,
          timesteps=FLUX_TIMESTEPS),
    Model("mage-flow", _renamed(FLUX1, "Mage-Flow", native=2048, latent_downscale=16, patch=1), mu=math.log(6.0)),
    Model("lumina2", _layout("Lumina 2", (32, 32, 32), 10000.0, 1024, _LATENT_8), mu=math.log(6.0)),
    Model("z-image", _layout("Z-Image", (32, 48, 48), 256.0, 1024, _LATENT_8), mu=math.log(3.0)),
    Model("z-image-pixel", _layout("Z-Image pixel space", (32, 48, 48), 256.0, 1024, (1, 16)), mu=math.log(3.0)),
    # HiDream-I1: ComfyUI's config sets its shift twice, the second time to nothing: shift 1.
    Model("hidream-i1", _layout("HiDream-I1", (64, 32, 32), 10000.0, 1024, _LATENT_8), mu=0.0),
    Model("krea2", _layout("Krea 2", (32, 48, 48), 1000.0, 1024, _LATENT_8), mu=1.15, timesteps=FLUX_TIMESTEPS),
    Model("lens", _layout("Lens", (8, 28, 28), 10000.0, 1440, _LATENT_16), mu=1.829, timesteps=FLUX_TIMESTEPS),
    Model("hunyuanimage-2.1", _layout("HunyuanImage 2.1", (64, 64), 256.0, 2048, (32, 1)), mu=math.log(5.0)),
    Model("hunyuanimage-2.1-refiner", _layout("HunyuanImage 2.1 Refiner", native=2048, px=_LATENT_16,
                                               **_HUNYUAN_VIDEO), mu=math.log(4.0)),
    Model("hunyuanvideo", _layout("HunyuanVideo", native=1280, px=_LATENT_16, base_frames=33.0, **_HUNYUAN_VIDEO),
          mu=math.log(7.0)),
    Model("wan", _layout("Wan", native=1280, px=_LATENT_8, base_frames=21.0, **_WAN), mu=math.log(8.0)),
    Model("wan-animate2", _layout("Wan Animate 2", native=1280, px=_LATENT_8, base_frames=21.0, **_WAN),
          mu=math.log(5.0)),
    Model("wan-1.3b", _layout("Wan 2.1 1.3B", native=832, px=_LATENT_8, base_frames=21.0, **_WAN), mu=math.log(8.0)),
    Model("wan-2.2-5b", _layout("Wan 2.2 5B", native=1280, px=(16, 2), base_frames=31.0, **_WAN), mu=math.log(8.0)),
    Model("kandinsky5-image", _layout("Kandinsky 5 Image", (32, 48, 48), 10000.0, 1024, _LATENT_8, time_axis=0),
          mu=math.log(3.0)),
    Model("omnigen2", _layout("OmniGen2", (40, 40, 40), 10000.0, 1024, _LATENT_8), mu=math.log(2.6)),
    Model("boogu", _layout("Boogu", (40, 40, 40), 10000.0, 1024, _LATENT_8), mu=math.log(3.16)),
    Model("ernie-image", _layout("Ernie-Image", (32, 48, 48), 256.0, 1024, _LATENT_16), mu=math.log(3.0)),
    # Cosmos' spatial theta carries its built-in NTK factor (ratio 4 in ComfyUI's detection).
    Model("cosmos-predict2", _layout("Cosmos Predict2", (44, 42, 42), 10000.0 * 4.0 ** (42 / 40), 1024, _LATENT_8,
                                     time_axis=0), mu=None),
    Model("anima", _layout("Anima", (44, 42, 42), 10000.0 * 4.0 ** (42 / 40), 1024, _LATENT_8, time_axis=0),
          mu=math.log(3.0)),
    Model("joyimage", _layout("JoyImage", (16, 56, 56), 10000.0, 1024, _LATENT_8, time_axis=0), mu=math.log(1.5)),
)

#: Every supported model by its command-line key.
MODELS: dict[str, Model] = {model.key: model for model in _MODELS}
