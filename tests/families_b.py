"""Stand-in models of HunyuanImage 2.1 (+ Refiner), HunyuanVideo, Wan 2.1 / 2.2, Kandinsky 5, OmniGen2,
Boogu, Ernie-Image and Chroma Radiance, and their facts, for ``test_families_b.py``.

Each ``Spec`` holds a tiny model (the stand-in network of ``comfy.ldm.<family>`` inside a BaseModel that
forms the family's extra conds as the host's ``comfy.model_base`` class does) and what the family's facts
(``/work/family-facts``) say: rotary axes, theta, pixels per token, native size, where the image's tokens
are in the embedder's ids, the sampling shift. Nothing here reads ``nodes/``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import torch
from comfy import conds, latent_formats
from comfy.ldm.boogu.model import BooguTransformer2DModel
from comfy.ldm.chroma_radiance.model import ChromaRadiance as ChromaRadianceNet
from comfy.ldm.ernie.model import ErnieImageModel
from comfy.ldm.hunyuan_video.model import HunyuanVideo as HunyuanVideoNet
from comfy.ldm.kandinsky5.model import Kandinsky5 as Kandinsky5Net
from comfy.ldm.omnigen.omnigen2 import OmniGen2Transformer2DModel
from comfy.ldm.wan.model import WanModel
from comfy.ldm.wan.model_animate2 import WanAnimate2Model
from comfy.model_base import BaseModel, Chroma, ModelType
from comfy.model_patcher import ModelPatcher
from family_helpers import tiny_patcher

CPU = torch.device("cpu")


class HunyuanImage21RefinerLatent(latent_formats.LatentFormat):
    """The Refiner's latent: 64 channels (two packed frames of a 32-channel VAE), 5-D. Its VAE downscales
    16, but the host's format keeps the default ``spacial_downscale_ratio`` 8, as here."""

    latent_channels, latent_dimensions = 64, 3


class ChromaRadianceLatent(latent_formats.LatentFormat):
    """Pixels: 3 channels, no downscale."""

    latent_channels, spacial_downscale_ratio = 3, 1


# --- BaseModels: the extra conds each family's host BaseModel forms --------------------------------------


class HunyuanImage21(BaseModel):
    """``txt_byt5`` from ``conditioning_byt5small``; ``guidance`` (default 6)."""

    def extra_conds(self, **kwargs):
        out = super().extra_conds(**kwargs)
        if kwargs.get("conditioning_byt5small") is not None:
            out["txt_byt5"] = conds.CONDRegular(kwargs["conditioning_byt5small"])
        out["guidance"] = conds.CONDRegular(torch.FloatTensor([kwargs.get("guidance", 6.0)]))
        return out


class HunyuanImage21Refiner(HunyuanImage21):
    """Concatenates a condition image (zeros without one) to the noise: 64 + 64 input channels."""

    def extra_conds(self, **kwargs):
        out = super().extra_conds(**kwargs)
        out["c_concat"] = conds.CONDRegular(torch.zeros_like(kwargs["noise"]))
        out["disable_time_r"] = conds.CONDConstant(True)
        return out


class HunyuanVideo(BaseModel):
    """``y`` from ``pooled_output``; ``guidance``; ``ref_latent`` (``process_latent_in``-ed)."""

    def extra_conds(self, **kwargs):
        out = super().extra_conds(**kwargs)
        out["guidance"] = conds.CONDRegular(torch.FloatTensor([kwargs.get("guidance", 6.0)]))
        if kwargs.get("ref_latent") is not None:
            out["ref_latent"] = conds.CONDRegular(self.process_latent_in(kwargs["ref_latent"]))
        return out


class WAN21(BaseModel):
    """In-context reference latents (``context_latents``, a list); Phantom's subject frames appended on the
    time axis (``time_dim_concat``); Fun's reference image (``reference_latent``: the first frame of the last of
    ``reference_latents``)."""

    def extra_conds(self, **kwargs):
        out = super().extra_conds(**kwargs)
        if kwargs.get("reference_latents") is not None:
            reference = self.process_latent_in(kwargs["reference_latents"][-1])[:, :, 0]
            out["reference_latent"] = conds.CONDRegular(reference)
        if kwargs.get("time_dim_concat") is not None:
            out["time_dim_concat"] = conds.CONDRegular(self.process_latent_in(kwargs["time_dim_concat"]))
        if kwargs.get("context_latents") is not None:
            out["context_latents"] = conds.CONDList([self.process_latent_in(x) for x in kwargs["context_latents"]])
        return out


class WANAnimate2(WAN21):
    """``pose_latents`` from ``pose_video_latent`` (``process_latent_in``-ed)."""

    def extra_conds(self, **kwargs):
        out = super().extra_conds(**kwargs)
        if kwargs.get("pose_video_latent") is not None:
            out["pose_latents"] = conds.CONDRegular(self.process_latent_in(kwargs["pose_video_latent"]))
        return out


class Omnigen2(BaseModel):
    """``num_tokens`` from the text's ``attention_mask``; the mask itself only when it pads;
    ``ref_latents`` from ``reference_latents``."""

    def extra_conds(self, **kwargs):
        out = super().extra_conds(**kwargs)
        mask = kwargs.get("attention_mask")
        if mask is not None:
            if mask.numel() != mask.sum():
                out["attention_mask"] = conds.CONDRegular(mask)
            out["num_tokens"] = conds.CONDConstant(max(1, int(mask.sum())))
        if kwargs.get("reference_latents") is not None:
            out["ref_latents"] = conds.CONDList([self.process_latent_in(x) for x in kwargs["reference_latents"]])
        return out


# --- the families ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    """A family's tiny model and its facts.

    ``axes``/``theta``/``px``: the rotary axis dims, theta and pixels per token; ``native``: the native size
    in pixels; ``row_axis``/``col_axis``/``time_axis``: the id axes of rows, columns and frames; ``patch``:
    latent pixels per token side; ``frames``: latent frames of a 5-D latent (``None``: 4-D); ``image_last``:
    the image's tokens close the ids (else they open them); ``pads``: the host pads a latent side up to the
    patch (else it needs whole patches); ``ids_in_model_dtype``: the host forms image ids in the model
    dtype; ``shift``: the sampling shift of the host's model config (FLUX ``mu`` for ``ModelType.FLUX``).
    ``extras(refs, generator)`` gives a cond's options (references only when ``refs``), ``sized(latent)`` those
    that follow the latent's size (Wan Animate 2's pose video). ``family``: the family DyPE detects, when it is
    not ``name``.
    """

    name: str
    base: type
    net: type
    unet: dict
    latent_format: type
    channels: int
    embedder: str
    axes: tuple[int, ...]
    theta: float
    px: int
    native: int
    row_axis: int
    col_axis: int
    time_axis: int | None
    patch: int
    shift: float
    image_last: bool
    frames: int | None = None
    pads: bool = True
    ids_in_model_dtype: bool = True
    split_half: bool = False
    later_calls: bool = False
    apply_model_hook: bool = False
    model_type: ModelType = ModelType.FLOW
    multiplier: float = 1000.0
    extras: Callable[[bool, torch.Generator], dict] = field(default=lambda refs, g: {})
    sized: Callable[[torch.Tensor], dict] = field(default=lambda latent: {})
    family: str = ""

    def __str__(self) -> str:
        return self.name

    @property
    def family_name(self) -> str:
        return self.family or self.name

    @property
    def native_tokens(self) -> float:
        """Tokens a side of the native size."""
        return self.native / self.px

    def latent(self, rows: int, cols: int) -> torch.Tensor:
        """A zero latent whose main image is ``rows x cols`` tokens (sides short of whole patches where the
        host pads)."""
        short = self.patch // 2 if self.pads else 0
        size = (rows * self.patch - short, cols * self.patch - short)
        frames = () if self.frames is None else (self.frames,)
        return torch.zeros(1, self.channels, *frames, *size)

    def build(self, dtype: torch.dtype = torch.float32, seed: int = 0, **unet) -> ModelPatcher:
        """A ModelPatcher around the tiny model (``unet`` overrides its config), weights drawn from ``seed``."""
        return tiny_patcher(partial(self.base, unet_model=self.net), self.model_type, self.latent_format(),
                            {"shift": self.shift, "multiplier": self.multiplier}, dict(self.unet, **unet), seed=seed,
                            dtype=dtype)

    def conds(self, text: int = 40, negative_text: int = 7, refs: bool = True, seed: int = 1) -> tuple[list, list]:
        """Host conditioning: a long positive prompt with the family's extras (references when ``refs``),
        a negative one without references. OmniGen2 and Boogu also get their text encoder's mask."""
        g = torch.Generator().manual_seed(seed)
        dim = self.unet.get("context_in_dim", 32)

        def entry(length: int, extras: dict) -> list:
            masked = issubclass(self.base, Omnigen2)
            mask = {"attention_mask": torch.ones(1, length, dtype=torch.long)} if masked else {}
            return [[torch.randn(1, length, dim, generator=g), {**mask, **extras}]]

        return entry(text, self.extras(refs, g)), entry(negative_text, self.extras(False, g))


def _hunyuan_image(refs: bool, g: torch.Generator) -> dict:
    return {"conditioning_byt5small": torch.randn(1, 3, 24, generator=g), "guidance": 3.5}


def _hunyuan_video(refs: bool, g: torch.Generator) -> dict:
    out = {"pooled_output": torch.randn(1, 24, generator=g)}
    return {**out, "ref_latent": torch.randn(1, 16, 1, 4, 6, generator=g)} if refs else out


def _wan(channels: int) -> Callable[[bool, torch.Generator], dict]:
    def extras(refs: bool, g: torch.Generator) -> dict:
        return {"context_latents": [torch.randn(1, channels, 1, 4, 6, generator=g)]} if refs else {}
    return extras


def _pose_video(latent: torch.Tensor) -> dict:
    """Wan Animate 2's pose video: one latent frame fewer than the generation (whose first frame is the reference
    image's slot)."""
    g = torch.Generator().manual_seed(5)
    return {"pose_video_latent": torch.randn(latent[:, :, 1:].shape, generator=g)}


def _pooled(refs: bool, g: torch.Generator) -> dict:
    return {"pooled_output": torch.randn(1, 24, generator=g)}


def _omnigen(refs: bool, g: torch.Generator) -> dict:
    return {"reference_latents": [torch.randn(1, 16, 6, 4, generator=g), torch.randn(1, 16, 5, 8, generator=g)]} \
        if refs else {}


# Facts: /work/family-facts/{hunyuan,wan,kandinsky5,omnigen2_boogu,ernie,chroma_radiance}.md; native sizes as
# there (HunyuanImage 2.1: 2K; HunyuanVideo and Wan: 1280 px on either side; Wan 2.1 1.3B: 832; the rest 1K).
_HUNYUAN = dict(embedder="diffusion_model.pe_embedder", theta=256.0, image_last=True, pads=False)
_VIDEO_AXES = dict(axes=(16, 56, 56), row_axis=1, col_axis=2, time_axis=0)
_WAN = dict(base=WAN21, net=WanModel, embedder="diffusion_model.rope_embedder", axes=(44, 42, 42), theta=10000.0,
            row_axis=1, col_axis=2, time_axis=0, patch=2, shift=8.0, image_last=False, frames=2, later_calls=True)
_WAN_UNET = dict(patch_size=(1, 2, 2), dim=128, num_heads=1, in_dim=16, out_dim=16, text_dim=32)
_OMNIGEN = dict(base=Omnigen2, latent_format=latent_formats.Flux, channels=16,
                embedder="diffusion_model.rope_embedder.rope_embedder", axes=(40, 40, 40), theta=10000.0, px=16,
                native=1024, row_axis=1, col_axis=2, time_axis=None, patch=2, image_last=True,
                ids_in_model_dtype=False, apply_model_hook=True, multiplier=1.0, extras=_omnigen)

SPECS = (
    Spec(name="HunyuanImage 2.1", base=HunyuanImage21, net=HunyuanVideoNet,
         unet=dict(in_channels=64, out_channels=64, patch_size=(1, 1), axes_dim=(64, 64), theta=256, byt5=True),
         latent_format=latent_formats.HunyuanImage21, channels=64, axes=(64, 64), px=32, native=2048,
         row_axis=0, col_axis=1, time_axis=None, patch=1, shift=5.0, extras=_hunyuan_image, **_HUNYUAN),
    Spec(name="HunyuanImage 2.1 Refiner", base=HunyuanImage21Refiner, net=HunyuanVideoNet,
         unet=dict(in_channels=128, out_channels=64, patch_size=(1, 1, 1), axes_dim=(16, 56, 56), theta=256),
         latent_format=HunyuanImage21RefinerLatent, channels=64, px=16, native=2048, patch=1, shift=4.0, frames=1,
         **_VIDEO_AXES, **_HUNYUAN),
    Spec(name="HunyuanVideo", base=HunyuanVideo, net=HunyuanVideoNet,
         unet=dict(in_channels=16, out_channels=16, patch_size=(1, 2, 2), axes_dim=(16, 56, 56), theta=256,
                   vec_in_dim=24),
         latent_format=latent_formats.HunyuanVideo, channels=16, px=16, native=1280, patch=2, shift=7.0, frames=2,
         extras=_hunyuan_video, **_VIDEO_AXES, **_HUNYUAN),
    Spec(name="Wan", unet=_WAN_UNET, latent_format=latent_formats.Wan21, channels=16, px=16, native=1280,
         extras=_wan(16), **_WAN),
    Spec(name="Wan 2.1 1.3B", unet=dict(_WAN_UNET, dim=1536, num_heads=12), latent_format=latent_formats.Wan21,
         channels=16, px=16, native=832, extras=_wan(16), **_WAN),
    Spec(name="Wan 2.2 5B", unet=dict(_WAN_UNET, in_dim=48, out_dim=48), latent_format=latent_formats.Wan22,
         channels=48, px=32, native=1280, extras=_wan(48), **_WAN),
    Spec(name="Wan Animate 2", unet=_WAN_UNET, latent_format=latent_formats.Wan21, channels=16, px=16, native=1280,
         sized=_pose_video, family="Wan", **dict(_WAN, base=WANAnimate2, net=WanAnimate2Model, shift=5.0)),
    Spec(name="Kandinsky 5 Image", base=BaseModel, net=Kandinsky5Net,
         unet=dict(axes_dims=(32, 48, 48), rope_scale_factor=(1.0, 1.0, 1.0), in_text_dim=32, visual_embed_dim=64),
         latent_format=latent_formats.Flux, channels=16, embedder="diffusion_model.rope_embedder_3d",
         axes=(32, 48, 48), theta=10000.0, px=16, native=1024, row_axis=1, col_axis=2, time_axis=0, patch=2,
         shift=3.0, image_last=False, extras=_pooled),
    Spec(name="OmniGen2", net=OmniGen2Transformer2DModel, unet=dict(text_feat_dim=32), shift=2.6, **_OMNIGEN),
    Spec(name="Boogu", net=BooguTransformer2DModel, unet=dict(instruction_feat_dim=32), shift=3.16, **_OMNIGEN),
    Spec(name="Ernie-Image", base=BaseModel, net=ErnieImageModel, unet=dict(text_in_dim=32),
         latent_format=latent_formats.Flux2, channels=128, embedder="diffusion_model.pos_embed", axes=(32, 48, 48),
         theta=256.0, px=16, native=1024, row_axis=1, col_axis=2, time_axis=None, patch=1, shift=3.0,
         image_last=False, pads=False, ids_in_model_dtype=False, split_half=True, apply_model_hook=True),
    Spec(name="Chroma Radiance", base=Chroma, net=ChromaRadianceNet,
         unet=dict(in_channels=3, out_channels=3, vec_in_dim=None, context_in_dim=32, hidden_size=128, mlp_ratio=2.0,
                   num_heads=1, depth=1, depth_single_blocks=1, axes_dim=[16, 56, 56], theta=10000, patch_size=16,
                   qkv_bias=True, guidance_embed=False, txt_ids_dims=[]),
         latent_format=ChromaRadianceLatent, channels=3, embedder="diffusion_model.pe_embedder", axes=(16, 56, 56),
         theta=10000.0, px=16, native=1024, row_axis=1, col_axis=2, time_axis=None, patch=16, shift=1.15,
         image_last=True, model_type=ModelType.FLUX, multiplier=1.0),
)
