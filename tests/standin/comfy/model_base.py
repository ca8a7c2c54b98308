# ruff: noqa: B006  (mutable defaults mirror the host signatures)
"""``comfy.model_base``: the BaseModel wrapper around a diffusion network, FLUX-family subclasses,
and stand-in-only builders (``build_flux_patcher``, ``make_conditioning``).

Reproduced host behaviour: ``apply_model`` runs the APPLY_MODEL wrapper chain (``class_obj`` = this
BaseModel, args ``x, t, c_concat, c_crossattn, control, transformer_options`` + extra conds) around
``_apply_model``, which for flow models does ``xc = calculate_input(sigma, x)`` cast to the model
dtype, ``t = model_sampling.timestep(sigma).float()``, casts float extra conds to the model dtype,
copies ``transformer_options`` and calls ``diffusion_model(xc, t, context=..., control=...,
transformer_options=..., **extra_conds)``, then ``calculate_denoised(sigma, out.float(), x)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import torch

from . import conds, latent_formats
from . import model_sampling as ms
from .ldm.chroma.model import Chroma as ChromaNet
from .ldm.flux.model import Flux as FluxNet
from .model_patcher import ModelPatcher
from .patcher_extension import WrapperExecutor, WrappersMP, get_all_wrappers


class ModelType(Enum):
    FLUX = 8
    FLOW = 6
    FLOW_COSMOS = 10


@dataclass
class ModelConfig:
    """Minimal ``supported_models_base.BASE``: what BaseModel and the nodes read from a config."""

    unet_config: dict
    latent_format: latent_formats.LatentFormat
    sampling_settings: dict = field(default_factory=dict)
    manual_cast_dtype: torch.dtype | None = None


def model_sampling(model_config, model_type=ModelType.FLUX):
    return ms.model_sampling(model_config, model_type)


def _convert(extra, dtype, device):
    if torch.is_tensor(extra):
        return extra.to(device=device, dtype=dtype if extra.dtype.is_floating_point else extra.dtype)
    return extra


class BaseModel(torch.nn.Module):
    def __init__(self, model_config, model_type=ModelType.FLUX, device=None, unet_model=None):
        super().__init__()
        self.model_config, self.model_type, self.device = model_config, model_type, device
        self.latent_format = model_config.latent_format
        self.manual_cast_dtype = model_config.manual_cast_dtype
        self.current_patcher = None
        self.diffusion_model = unet_model(**model_config.unet_config, device=device).eval()
        self.model_sampling = model_sampling(model_config, model_type)

    def apply_model(self, x, t, c_concat=None, c_crossattn=None, control=None, transformer_options={}, **kwargs):
        wrappers = get_all_wrappers(WrappersMP.APPLY_MODEL, transformer_options)
        return WrapperExecutor.new_class_executor(self._apply_model, self, wrappers).execute(
            x, t, c_concat, c_crossattn, control, transformer_options, **kwargs)

    def _apply_model(self, x, t, c_concat=None, c_crossattn=None, control=None, transformer_options={}, **kwargs):
        sigma = t
        xc = self.model_sampling.calculate_input(sigma, x)
        if c_concat is not None:
            xc = torch.cat([xc, c_concat.to(xc)], dim=1)
        dtype = self.get_dtype_inference()
        xc = xc.to(dtype)
        t = self.model_sampling.timestep(t).float()
        context = c_crossattn.to(xc.device, dtype) if c_crossattn is not None else None
        extra = {k: [_convert(e, dtype, xc.device) for e in v] if isinstance(v, list) else _convert(v, dtype, xc.device)
                 for k, v in kwargs.items()}
        transformer_options = dict(transformer_options)
        transformer_options["prefetch_dynamic_vbars"] = False
        out = self.diffusion_model(xc, t, context=context, control=control, transformer_options=transformer_options,
                                   **extra)
        return self.model_sampling.calculate_denoised(sigma, out.float(), x)

    def get_dtype(self):
        return self.diffusion_model.dtype

    def get_dtype_inference(self):
        return self.manual_cast_dtype or self.get_dtype()

    def process_latent_in(self, latent):
        return self.latent_format.process_in(latent)

    def process_latent_out(self, latent):
        return self.latent_format.process_out(latent)

    def scale_latent_inpaint(self, sigma, noise, latent_image, **kwargs):
        return self.model_sampling.noise_scaling(sigma.reshape([sigma.shape[0]] + [1] * (noise.ndim - 1)), noise,
                                                 latent_image)

    def extra_conds(self, **kwargs) -> dict:
        out = {}
        if kwargs.get("pooled_output") is not None:
            out["y"] = conds.CONDRegular(kwargs["pooled_output"])
        if kwargs.get("cross_attn") is not None:
            out["c_crossattn"] = conds.CONDRegular(kwargs["cross_attn"])
        return out


class Flux(BaseModel):
    """Extra conds: y (pooled_output), guidance (default 3.5), ref_latents (process_latent_in'd),
    ref_latents_method (from ``reference_latents_method``). ``c_crossattn`` is a CONDRegular, so
    cond and uncond with different text lengths are never batched together."""

    def __init__(self, model_config, model_type=ModelType.FLUX, device=None, unet_model=FluxNet):
        super().__init__(model_config, model_type, device=device, unet_model=unet_model)

    def extra_conds(self, **kwargs):
        out = super().extra_conds(**kwargs)
        guidance = kwargs.get("guidance", 3.5)
        if guidance is not None:
            out["guidance"] = conds.CONDRegular(torch.FloatTensor([guidance]))
        refs = kwargs.get("reference_latents")
        if refs is not None:
            out["ref_latents"] = conds.CONDList([self.process_latent_in(r) for r in refs])
            if kwargs.get("reference_latents_method") is not None:
                out["ref_latents_method"] = conds.CONDConstant(kwargs["reference_latents_method"])
        return out


class Flux2(Flux):
    """Like Flux, plus the host's left zero-padding of the text context to 512 tokens."""

    def extra_conds(self, **kwargs):
        out = super().extra_conds(**kwargs)
        ctx = kwargs.get("cross_attn")
        if ctx is not None and ctx.shape[1] < 512:
            out["c_crossattn"] = conds.CONDRegular(torch.nn.functional.pad(ctx, (0, 0, 512 - ctx.shape[1], 0)))
        return out


class Chroma(Flux):
    def __init__(self, model_config, model_type=ModelType.FLUX, device=None, unet_model=ChromaNet):
        super().__init__(model_config, model_type, device=device, unet_model=unet_model)

    def extra_conds(self, **kwargs):
        out = super().extra_conds(**kwargs)
        guidance = kwargs.get("guidance", 0)
        if guidance is not None:
            out["guidance"] = conds.CONDRegular(torch.FloatTensor([guidance]))
        return out


# --- stand-in-only builders -------------------------------------------------------------------
_COMMON = dict(hidden_size=128, num_heads=1, mlp_ratio=2.0, depth=1, depth_single_blocks=1, qkv_bias=True,
               context_in_dim=32, guidance_embed=True)
TINY_CONFIGS = {
    "flux": (Flux, latent_formats.Flux, {}, dict(
        _COMMON, in_channels=16, out_channels=16, vec_in_dim=16, axes_dim=[16, 56, 56], theta=10000,
        patch_size=2, txt_ids_dims=[])),
    "flux2": (Flux2, latent_formats.Flux2, {"shift": 2.02}, dict(
        _COMMON, in_channels=128, out_channels=128, vec_in_dim=None, axes_dim=[32, 32, 32, 32], theta=2000,
        patch_size=1, txt_ids_dims=[3], default_ref_method="index", ref_index_scale=10.0)),
    "chroma": (Chroma, latent_formats.Flux, {}, dict(
        _COMMON, in_channels=16, out_channels=16, vec_in_dim=None, axes_dim=[16, 56, 56], theta=10000,
        patch_size=2, txt_ids_dims=[], guidance_embed=False)),
}


def build_flux_patcher(kind: str = "flux", seed: int = 0, dtype: torch.dtype = torch.float32,
                       **unet_overrides) -> ModelPatcher:
    """A ModelPatcher around a tiny random-weight FLUX.1 ("flux"), Flux.2 ("flux2") or Chroma model.

    Hidden 128, one head of dim 128 = sum(axes_dim), one double + one single block, text context dim
    32. FLUX.1: 16 latent channels, patch 2, axes (16, 56, 56), theta 10000, pooled dim 16.
    Flux.2: 128 latent channels (like the host's Flux2 latent format), patch 1, axes (32,)*4, theta 2000,
    txt_ids_dims [3], default ref method "index" (scale 10), sampling shift 2.02. Chroma: as FLUX.1
    without pooled vector. Weights are drawn deterministically from ``seed``.
    """
    model_cls, latent_format, sampling, unet = TINY_CONFIGS[kind]
    config = ModelConfig(dict(unet, **unet_overrides), latent_format(), dict(sampling))
    model = model_cls(config, device=torch.device("cpu"))
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, param in sorted(model.diffusion_model.named_parameters()):
            fan_in = param.shape[-1] if param.ndim > 1 else 1
            scale = fan_in**-0.5 if param.ndim > 1 else 0.02
            param.copy_(torch.randn(param.shape, generator=gen) * scale)
    model.diffusion_model.to(dtype)
    model.diffusion_model.dtype = dtype
    return ModelPatcher(model, load_device=torch.device("cpu"), offload_device=torch.device("cpu"))


def make_conditioning(context: torch.Tensor, pooled_output: torch.Tensor | None = None, guidance: float | None = 3.5,
                      reference_latents: list | None = None, **options) -> list:
    """Host conditioning format: ``[[context, {"pooled_output": ..., "guidance": ..., ...}]]``."""
    opts = dict(pooled_output=pooled_output, guidance=guidance, **options)
    if reference_latents is not None:
        opts["reference_latents"] = reference_latents
    return [[context, opts]]
