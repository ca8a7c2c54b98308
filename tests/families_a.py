"""Stand-in builders for Qwen-Image, Qwen-Image 2.1, Mage-Flow, Lumina 2 / NewBie / Z-Image, HiDream-I1, Krea 2
and Lens.

BaseModel subclasses reproduce the host's ``comfy.model_base`` classes of these families: model type
(FLUX-shifted or discrete flow), latent format, sampling settings (``comfy.supported_models``) and the extra
conds each forward receives. Tiny configurations keep each family's real rotary axes and theta.
"""

from __future__ import annotations

from types import SimpleNamespace

import torch
from comfy import conds, latent_formats
from comfy.ldm.hidream.model import HiDreamImageTransformer2DModel
from comfy.ldm.krea2.model import SingleStreamDiT
from comfy.ldm.lens.model import LensTransformer2DModel
from comfy.ldm.lumina.model import NextDiT, NextDiTPixelSpace
from comfy.ldm.mage_flow.model import MageFlowTransformer2DModel
from comfy.ldm.qwen_image.model import QwenImageTransformer2DModel
from comfy.ldm.qwen_image21.model import QwenImage21Transformer2DModel
from comfy.model_base import BaseModel, ModelType
from family_helpers import tiny_patcher

#: Width of every text context (per text-encoder layer where the model stacks layers).
TEXT_DIM = 32
#: SigLIP feature width of the Omni-capable Z-Image stand-in.
SIGLIP_DIM = 24


class _Family(BaseModel):
    """A BaseModel around the family's diffusion model class ``unet``."""

    unet: type

    def __init__(self, model_config, model_type, device=None):
        super().__init__(model_config, model_type, device=device, unet_model=self.unet)


class QwenImage(_Family):
    """``ref_latents`` (each ``process_latent_in``'d) and ``ref_latents_method`` from the conditioning."""

    unet = QwenImageTransformer2DModel

    def extra_conds(self, **kwargs):
        out = super().extra_conds(**kwargs)
        if kwargs.get("reference_latents") is not None:
            out["ref_latents"] = conds.CONDList([self.process_latent_in(r) for r in kwargs["reference_latents"]])
            if kwargs.get("reference_latents_method") is not None:
                out["ref_latents_method"] = conds.CONDConstant(kwargs["reference_latents_method"])
        return out


class QwenImage21(QwenImage):
    """``model_base.QwenImage21``: Qwen-Image's conds plus ``image_slots`` (where each reference sits in the
    text); loading the model for a run turns its prefix cache on (off under hook patches, which the stand-in
    host does not have)."""

    unet = QwenImage21Transformer2DModel

    @property
    def current_patcher(self):
        return self.__dict__.get("_patcher")

    @current_patcher.setter
    def current_patcher(self, patcher) -> None:
        self.__dict__["_patcher"] = patcher
        if "diffusion_model" in self._modules:
            self.diffusion_model.reset_prefix_cache(patcher is not None)

    def extra_conds(self, **kwargs):
        out = super().extra_conds(**kwargs)
        if kwargs.get("image_slots") is not None:
            out["image_slots"] = conds.CONDConstant(kwargs["image_slots"])
        return out


class MageFlow(QwenImage):
    unet = MageFlowTransformer2DModel


class Lumina2(_Family):
    """``num_tokens`` (the caption length), NewBie's ``clip_text_pooled``, Omni's ``siglip_feats`` (CLIP vision
    outputs reshaped to their 16 px grid), ``ref_latents`` and ``ref_contexts``. No ADM vector ``y``."""

    unet = NextDiT

    def extra_conds(self, **kwargs):
        out = super().extra_conds(**kwargs)
        out.pop("y", None)
        if kwargs.get("cross_attn") is not None:
            out["num_tokens"] = conds.CONDConstant(kwargs["cross_attn"].shape[1])
        if kwargs.get("pooled_output") is not None:
            out["clip_text_pooled"] = conds.CONDRegular(kwargs["pooled_output"])
        if kwargs.get("clip_vision_outputs"):
            out["siglip_feats"] = conds.CONDList([
                o.last_hidden_state.reshape(o.last_hidden_state.shape[0], o.image_sizes[0][1] // 16,
                                            o.image_sizes[0][2] // 16, -1) for o in kwargs["clip_vision_outputs"]])
        if kwargs.get("reference_latents") is not None:
            out["ref_latents"] = conds.CONDList([self.process_latent_in(r) for r in kwargs["reference_latents"]])
        if kwargs.get("reference_latents_text_embeds") is not None:
            out["ref_contexts"] = conds.CONDList(kwargs["reference_latents_text_embeds"])
        return out


class ZImagePixelSpace(Lumina2):
    unet = NextDiTPixelSpace


class HiDream(_Family):
    """``y`` (pooled), ``encoder_hidden_states_llama3`` and HiDream-E1's ``image_cond``."""

    unet = HiDreamImageTransformer2DModel

    def extra_conds(self, **kwargs):
        out = super().extra_conds(**kwargs)
        if kwargs.get("conditioning_llama3") is not None:
            out["encoder_hidden_states_llama3"] = conds.CONDRegular(kwargs["conditioning_llama3"])
        if kwargs.get("concat_latent_image") is not None:
            out["image_cond"] = conds.CONDRegular(self.process_latent_in(kwargs["concat_latent_image"]))
        return out


class Krea2(_Family):
    unet = SingleStreamDiT


class Lens(_Family):
    unet = LensTransformer2DModel


_QWEN = dict(patch_size=2, in_channels=64, out_channels=16, joint_attention_dim=TEXT_DIM, axes_dims_rope=(16, 56, 56))
_LUMINA2 = dict(patch_size=2, in_channels=16, dim=96, n_heads=1, cap_feat_dim=TEXT_DIM, axes_dims=(32, 32, 32),
                axes_lens=(300, 512, 512), rope_theta=10000.0)
_ZIMAGE = dict(_LUMINA2, dim=128, axes_dims=(32, 48, 48), axes_lens=(1536, 512, 512), rope_theta=256.0,
               time_scale=1000.0, pad_tokens_multiple=32)
FLUX, FLOW = ModelType.FLUX, ModelType.FLOW

#: kind -> (BaseModel, model type, latent format, sampling settings, unet config, latent px per side).
KINDS = {
    "qwen": (QwenImage, FLUX, latent_formats.Wan21, {"shift": 1.15, "multiplier": 1.0}, _QWEN, 8),
    "qwen_2511": (QwenImage, FLUX, latent_formats.Wan21, {"shift": 1.15, "multiplier": 1.0},
                  dict(_QWEN, default_ref_method="index_timestep_zero"), 8),
    "qwen_layered": (QwenImage, FLUX, latent_formats.Wan21, {"shift": 1.15, "multiplier": 1.0},
                     dict(_QWEN, default_ref_method="negative_index", use_additional_t_cond=True), 8),
    "qwen21": (QwenImage21, FLUX, latent_formats.QwenImage21, {"shift": 0.69, "multiplier": 1.0},
               dict(in_channels=64, out_channels=64, context_in_dim=TEXT_DIM), 16),
    "mage_flow": (MageFlow, FLOW, latent_formats.Flux2, {"shift": 6.0, "multiplier": 1.0},
                  dict(in_channels=128, out_channels=128, joint_attention_dim=TEXT_DIM), 16),
    "lumina2": (Lumina2, FLOW, latent_formats.Flux, {"shift": 6.0, "multiplier": 1.0}, _LUMINA2, 8),
    "newbie": (Lumina2, FLOW, latent_formats.Flux, {"shift": 6.0, "multiplier": 1.0},
               dict(_LUMINA2, clip_text_dim=16), 8),
    "zimage": (Lumina2, FLOW, latent_formats.Flux, {"shift": 3.0, "multiplier": 1.0}, _ZIMAGE, 8),
    "zimage_omni": (Lumina2, FLOW, latent_formats.Flux, {"shift": 3.0, "multiplier": 1.0},
                    dict(_ZIMAGE, siglip_feat_dim=SIGLIP_DIM), 8),
    "zimage_pixel": (ZImagePixelSpace, FLOW, latent_formats.ZImagePixelSpace, {"shift": 3.0, "multiplier": 1.0},
                     dict(_ZIMAGE, patch_size=16, in_channels=3), 1),
    "hidream": (HiDream, FLOW, latent_formats.Flux, {}, dict(
        patch_size=2, in_channels=16, out_channels=16, axes_dims_rope=(64, 32, 32),
        caption_channels=(TEXT_DIM, TEXT_DIM), llama_layers=(0, 1)), 8),
    "krea2": (Krea2, FLUX, latent_formats.Wan21, {"shift": 1.15, "multiplier": 1.0}, dict(
        features=128, heads=1, patch=2, channels=16, txtlayers=2, txtdim=TEXT_DIM, theta=1e3), 8),
    "lens": (Lens, FLUX, latent_formats.Flux2, {"shift": 1.829}, dict(
        patch_size=2, in_channels=128, out_channels=32, attention_head_dim=64, num_attention_heads=1,
        enc_hidden_dim=TEXT_DIM, multi_layer_encoder_feature=True, selected_layer_index=(0, 1),
        axes_dims_rope=(8, 28, 28)), 16),
}


def build(kind: str, seed: int = 0, dtype: torch.dtype = torch.float32):
    """A ModelPatcher around the tiny stand-in of ``kind`` (a key of ``KINDS``)."""
    model_cls, model_type, latent_format, sampling, unet, _ = KINDS[kind]
    return tiny_patcher(model_cls, model_type, latent_format(), sampling, unet, seed=seed, dtype=dtype)


def latent(kind: str, height: int, width: int, frames: int = 1, batch: int = 1, seed: int | None = None):
    """A latent of ``kind`` for a ``height x width`` px image (5-D for Qwen-Image and Krea 2); zeros, or
    random from ``seed``."""
    model_cls, _, latent_format, _, unet, px = KINDS[kind]
    channels = {QwenImage: 16, Krea2: 16}.get(model_cls, unet.get("in_channels", 16))
    shape = (batch, channels, *((frames,) if latent_format.latent_dimensions == 3 else ()), height // px, width // px)
    return torch.zeros(shape) if seed is None else torch.randn(shape, generator=torch.Generator().manual_seed(seed))


def conditioning(kind: str, text: int, *, seed: int = 1, refs: tuple[tuple[int, int], ...] = (),
                 method: str | None = None, ref_texts: bool = False, siglip: bool = False,
                 edit: tuple[int, int] | None = None, slots: tuple[int, ...] = ()) -> list:
    """``[[context, options]]`` of ``kind`` with a ``text``-token prompt.

    ``refs``: reference images ``(height, width)`` px (Qwen-Image Edit, Z-Image Omni), placed by ``method``;
    Omni: ``ref_texts`` gives each reference a caption plus one leftover caption, ``siglip`` SigLIP features
    on a 16 px grid per reference. ``edit``: HiDream-E1's reference image size. ``slots``: Qwen-Image 2.1's
    text positions of the references (``image_slots``).
    """
    g = torch.Generator().manual_seed(seed)
    width = {"krea2": 2 * TEXT_DIM, "lens": 2 * TEXT_DIM}.get(kind, TEXT_DIM)
    options: dict = {}
    if refs:
        options["reference_latents"] = [latent(kind, h, w, seed=seed + i) for i, (h, w) in enumerate(refs)]
    if method is not None:
        options["reference_latents_method"] = method
    if slots:
        options["image_slots"] = list(slots)
    if ref_texts:
        options["reference_latents_text_embeds"] = [torch.randn(1, 3 + i, TEXT_DIM, generator=g)
                                                    for i in range(len(refs) + 1)]
    if siglip:
        options["clip_vision_outputs"] = [
            SimpleNamespace(image_sizes=[(3, h, w)], last_hidden_state=torch.randn(1, h // 16 * (w // 16), SIGLIP_DIM,
                                                                                   generator=g)) for h, w in refs]
    if kind == "newbie":
        options["pooled_output"] = torch.randn(1, 16, generator=g)
    if kind == "hidream":
        options["pooled_output"] = torch.randn(1, TEXT_DIM, generator=g)
        options["conditioning_llama3"] = torch.randn(1, 2, 6, TEXT_DIM, generator=g)
        if edit is not None:
            options["concat_latent_image"] = latent(kind, *edit, seed=seed)
    return [[torch.randn(1, text, width, generator=g), options]]
