"""Tiny real models of every family DyPE supports (and two it must refuse), as a table.

Each ``Case`` builds the host's own model class from its ``comfy.supported_models`` config at
a size that runs on the CPU in seconds, keeping the real rotary geometry (head dim, axes,
theta); it also builds the conditioning and latent the family samples with, and says, from the
family's facts (not from the pack), which embedder the host calls and where the main image's
tokens are in each call. Importable without ComfyUI (``comfy`` is imported only when a model is
built), so the pytest wrapper can list the cases.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import torch

#: Text tokens of the positive and the negative prompt (different, so CFG runs separate forwards).
TEXT, NEGATIVE_TEXT = 8, 6


def _no_extra(generator: torch.Generator, positive: bool) -> dict:
    return {}


@dataclass(frozen=True)
class Case:
    """One tiny model and how its host embeds positions.

    ``family`` is the family DyPE must detect (``None``: DyPE must refuse the model).
    The latent is ``channels`` deep, ``downscale`` image px per latent px, 5-D with
    ``frames`` frames (4-D when ``None``); a token is ``patch`` latent px a side. The
    embedder's rotary axes are ``axes`` (dims); ``extra`` gives a cond's options, ``sized`` those that
    follow the latent's size (Wan Animate 2's pose video). The image's rows and columns are on axes
    ``spatial``; its table holds one rotation ``[[cos, -sin], [sin, cos]]`` per pair
    (``rotations``) or Ernie's split halves (``split_half``: entry ``k`` holds the first row of
    angle ``k // 2`` and the second row of angle ``P / 2 + k // 2``). Per
    forward the host calls the embedder at ``embedder`` ``calls`` times; call ``image_call``
    holds the main image: its ``image_at`` ``first`` / ``last`` tokens, the tokens right
    after the ``text`` tokens the host puts first (``after_text``), or every token (``all``,
    grid embedders).
    ``token_dim`` is the token axis of the embedder's table; ``kept_pairs`` the pair slots a
    grid embedder's table keeps from the host on image tokens (Cosmos' and JoyImage's time axis). Weights are
    drawn with standard deviation ``scale``; ``refused_class`` is the class a refusal must name;
    ``attn1_pe``: the host passes the table to ``attn1_patch`` as ``pe=`` (checked to be DyPE's);
    ``double_block``: the host runs ``double_block`` patches (checked to run beside DyPE);
    ``model_override``: a multi-GPU style clone onto another torch model is checked too. ``clip``:
    ``(trained, longer)`` latent frames of a video family, for the time-axis check instead.
    """

    name: str
    family: str | None
    config: str
    unet: dict | Callable[[], dict]
    width: int
    channels: int
    downscale: int
    patch: int
    axes: tuple[int, ...]
    frames: int | None = None
    extra: Callable[[torch.Generator, bool], dict] = _no_extra
    sized: Callable[[torch.Generator, torch.Tensor], dict] = lambda generator, latent: {}
    embedder: str = "diffusion_model.pe_embedder"
    calls: int = 1
    image_call: int = 0
    image_at: str = "after_text"
    token_dim: int = 2
    kept_pairs: slice | None = None
    text: int = TEXT
    spatial: tuple[int, int] = (1, 2)
    pairs: str = "rotations"
    scale: float = 0.02
    refused_class: str = ""
    attn1_pe: bool = False
    double_block: bool = False
    model_override: bool = False
    clip: tuple[int, int] | None = None

    @property
    def px_per_token(self) -> int:
        return self.downscale * self.patch

    def tokens(self, grid: tuple[int, int]) -> int:
        """Main-image tokens of a ``grid = (rows, cols)`` image."""
        return (self.frames or 1) * grid[0] * grid[1]

    def latent(self, grid: tuple[int, int]) -> torch.Tensor:
        """An empty latent of an image of ``grid = (rows, cols)`` tokens."""
        frames = () if self.frames is None else (self.frames,)
        return torch.zeros(1, self.channels, *frames, grid[0] * self.patch, grid[1] * self.patch)

    def conditioning(self, positive: bool, latent: torch.Tensor) -> list:
        """The positive or negative conditioning for ``latent``, the same tensors on every call."""
        generator = torch.Generator().manual_seed(1 if positive else 2)
        context = torch.randn(1, TEXT if positive else NEGATIVE_TEXT, self.width, generator=generator)
        return [[context, self.extra(generator, positive) | self.sized(generator, latent)]]

    def image_rows(self, call: int, length: int, grid: tuple[int, int]) -> slice | None:
        """The main image's tokens in embedder call ``call`` (of ``length`` tokens) of a forward."""
        if call != self.image_call:
            return None
        count = self.tokens(grid)
        starts = {"first": 0, "all": 0, "after_text": self.text, "last": length - count}
        return slice(starts[self.image_at], starts[self.image_at] + count)

    def model_patcher(self) -> Any:
        """A ``ModelPatcher`` around the tiny model with seeded random weights (needs ComfyUI)."""
        import comfy.model_management
        import comfy.model_patcher
        import comfy.supported_models

        unet = self.unet() if callable(self.unet) else self.unet
        config = getattr(comfy.supported_models, self.config)(dict(unet))
        config.set_inference_dtype(torch.float32, None)
        model = config.get_model({}, "", device=torch.device("cpu"))
        generator = torch.Generator().manual_seed(0)
        with torch.no_grad():
            for parameter in model.diffusion_model.parameters():
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * self.scale)
        return comfy.model_patcher.ModelPatcher(
            model, load_device=comfy.model_management.get_torch_device(),
            offload_device=comfy.model_management.unet_offload_device(),
        )


def _flux(name: str) -> Callable[[], dict]:
    """A tiny FLUX-family config of ``tiny_flux`` (read lazily: it imports ComfyUI)."""
    def unet() -> dict:
        import tiny_flux

        return getattr(tiny_flux, name)
    return unet


def _radiance() -> dict:
    """Chroma Radiance at patch 16 on RGB; ``use_sequential_txt_ids`` only where the host has it."""
    from comfy.ldm.chroma_radiance.model import ChromaRadianceParams

    unet = {
        "image_model": "chroma_radiance", "in_channels": 3, "out_channels": 3, "context_in_dim": 64,
        "hidden_size": 128, "mlp_ratio": 2.0, "num_heads": 1, "depth": 1, "depth_single_blocks": 1,
        "axes_dim": [16, 56, 56], "theta": 10000, "patch_size": 16, "qkv_bias": True, "in_dim": 64, "out_dim": 128,
        "hidden_dim": 64, "n_layers": 1, "txt_ids_dims": [], "vec_in_dim": None, "nerf_hidden_size": 16,
        "nerf_mlp_ratio": 2, "nerf_depth": 1, "nerf_max_freqs": 8, "nerf_tile_size": 0,
        "nerf_final_head_type": "linear", "nerf_embedder_dtype": None, "use_x0": False,
    }
    if "use_sequential_txt_ids" in ChromaRadianceParams.__dataclass_fields__:
        unet["use_sequential_txt_ids"] = False
    return unet


def _pooled(width: int, **more: Any) -> Callable[[torch.Generator, bool], dict]:
    def extra(generator: torch.Generator, positive: bool) -> dict:
        pooled = None if width == 0 else torch.randn(1, width, generator=generator)
        return {"pooled_output": pooled, **more}
    return extra


def _qwen_reference(generator: torch.Generator, positive: bool) -> dict:
    return {"reference_latents": [torch.randn(1, 16, 1, 8, 8, generator=generator)]}


def _reference(*shape: int) -> Callable[[torch.Generator, bool], dict]:
    """One edit reference latent of ``shape`` on the positive prompt."""
    def extra(generator: torch.Generator, positive: bool) -> dict:
        return {"reference_latents": [torch.randn(*shape, generator=generator)]} if positive else {}
    return extra


def _pose_video(generator: torch.Generator, latent: torch.Tensor) -> dict:
    """Wan Animate 2's pose video: one latent frame shorter than the generation (whose first frame is the
    reference image's slot)."""
    frames, height, width = latent.shape[2:]
    return {"pose_video_latent": torch.randn(1, 16, frames - 1, height, width, generator=generator)}


def _zimage_omni(generator: torch.Generator, positive: bool) -> dict:
    """TextEncodeZImageOmni-style: one reference with its own caption, a leftover caption, SigLIP features."""
    if not positive:
        return {}
    siglip = SimpleNamespace(image_sizes=[(3, 64, 64)], last_hidden_state=torch.randn(1, 16, 24, generator=generator))
    return {
        "reference_latents": [torch.randn(1, 16, 8, 8, generator=generator)],
        "reference_latents_text_embeds": [torch.randn(1, 3, 32, generator=generator),
                                          torch.randn(1, 4, 32, generator=generator)],
        "clip_vision_outputs": [siglip],
    }


def _hidream(generator: torch.Generator, positive: bool) -> dict:
    return {"pooled_output": torch.randn(1, 32, generator=generator),
            "conditioning_llama3": torch.randn(1, 2, 5, 64, generator=generator)}


def _hunyuan_image(generator: torch.Generator, positive: bool) -> dict:
    if not positive:
        return {}
    return {"conditioning_byt5small": torch.randn(1, 3, 1472, generator=generator), "guidance": 3.5}


def _refiner(generator: torch.Generator, positive: bool) -> dict:
    """HunyuanRefinerLatent's conditioning: the refiner VAE's 32-channel latent of the image to refine,
    which the host resizes to the sampled latent (an empty one, 64 channels once KSampler fits it)."""
    return {"concat_latent_image": torch.randn(1, 32, 1, 4, 4, generator=generator), "noise_augmentation": 0.1}


def _hunyuan_video(generator: torch.Generator, positive: bool) -> dict:
    extra = {"pooled_output": torch.randn(1, 24, generator=generator), "guidance": 6.0}
    if positive:
        extra["ref_latent"] = torch.randn(1, 16, 1, 4, 4, generator=generator)
    return extra


def _mask(generator: torch.Generator, positive: bool) -> dict:
    return {"attention_mask": torch.ones(1, TEXT if positive else NEGATIVE_TEXT, dtype=torch.long)}


def _omnigen_reference(generator: torch.Generator, positive: bool) -> dict:
    references = {"reference_latents": [torch.randn(1, 16, 8, 8, generator=generator)]} if positive else {}
    return _mask(generator, positive) | references


QWEN = {"image_model": "qwen_image", "patch_size": 2, "in_channels": 64, "out_channels": 16, "num_layers": 1,
        "attention_head_dim": 128, "num_attention_heads": 1, "joint_attention_dim": 64,
        "axes_dims_rope": (16, 56, 56)}
ZIMAGE = {"image_model": "lumina2", "patch_size": 2, "in_channels": 16, "dim": 256, "cap_feat_dim": 32,
          "n_layers": 1, "n_refiner_layers": 1, "qk_norm": True, "n_heads": 2, "n_kv_heads": 2,
          "axes_dims": [32, 48, 48], "axes_lens": [1536, 512, 512], "rope_theta": 256.0,
          "ffn_dim_multiplier": 8 / 3, "z_image_modulation": True, "time_scale": 1000.0, "pad_tokens_multiple": 32}
HUNYUAN = {"image_model": "hunyuan_video", "mlp_ratio": 4.0, "depth": 1, "depth_single_blocks": 1, "theta": 256,
           "qkv_bias": True, "guidance_embed": False, "byt5": False, "meanflow": False,
           "use_cond_type_embedding": False, "vision_in_dim": None, "meanflow_sum": False, "context_in_dim": 32,
           "vec_in_dim": None, "hidden_size": 128, "num_heads": 1, "axes_dim": [16, 56, 56]}
WAN = {"image_model": "wan2.1", "model_type": "t2v", "patch_size": (1, 2, 2), "dim": 128, "num_heads": 1,
       "ffn_dim": 256, "num_layers": 1, "freq_dim": 256, "text_dim": 32, "in_dim": 16, "out_dim": 16,
       "window_size": (-1, -1), "qk_norm": True, "cross_attn_norm": True, "eps": 1e-6}
KANDINSKY = {"image_model": "kandinsky5", "in_visual_dim": 16, "out_visual_dim": 16, "in_text_dim": 32,
             "in_text_dim2": 24, "time_dim": 32, "ff_dim": 256, "patch_size": (1, 2, 2), "num_text_blocks": 1,
             "num_visual_blocks": 1, "model_dim": 128, "visual_embed_dim": 64, "axes_dims": (32, 48, 48),
             "rope_scale_factor": (1.0, 1.0, 1.0)}
COSMOS = {"image_model": "cosmos_predict2", "max_img_h": 240, "max_img_w": 240, "max_frames": 128, "in_channels": 16,
          "out_channels": 16, "patch_spatial": 2, "patch_temporal": 1, "concat_padding_mask": True,
          "model_channels": 128, "num_blocks": 1, "num_heads": 1, "crossattn_emb_channels": 32,
          "pos_emb_cls": "rope3d", "pos_emb_learnable": True, "pos_emb_interpolation": "crop", "min_fps": 1,
          "max_fps": 30, "use_adaln_lora": True, "adaln_lora_dim": 32, "extra_per_block_abs_pos_emb": False,
          "rope_h_extrapolation_ratio": 4.0, "rope_w_extrapolation_ratio": 4.0, "rope_t_extrapolation_ratio": 1.0,
          "extra_h_extrapolation_ratio": 1.0, "extra_w_extrapolation_ratio": 1.0, "extra_t_extrapolation_ratio": 1.0,
          "rope_enable_fps_modulation": False}
_FLUX = dict(width=64, extra=_pooled(32, guidance=3.5), axes=(16, 56, 56))
_QWEN = dict(config="QwenImage", width=64, channels=16, downscale=8, patch=2, frames=1, axes=(16, 56, 56))
_LUMINA = dict(width=32, channels=16, downscale=8, patch=2, embedder="diffusion_model.rope_embedder", calls=2,
               image_call=1, image_at="first", axes=(32, 48, 48))
_HUNYUAN = dict(width=32, image_at="last", axes=(16, 56, 56))
_WAN = dict(width=32, channels=16, downscale=8, patch=2, frames=2, embedder="diffusion_model.rope_embedder",
            image_at="first", axes=(44, 42, 42))
MAGE_FLOW = {"image_model": "mage_flow", "in_channels": 128, "out_channels": 128, "num_layers": 1,
             "attention_head_dim": 128, "num_attention_heads": 1, "joint_attention_dim": 64}
JOYIMAGE = {"image_model": "joyimage", "patch_size": [1, 2, 2], "in_channels": 16, "hidden_size": 128,
            "num_attention_heads": 1, "text_dim": 32, "num_layers": 1}
SEEDVR2 = {"image_model": "seedvr2", "norm_eps": 1e-5, "num_layers": 2, "mlp_type": "normal", "vid_dim": 128,
           "heads": 1, "head_dim": 128, "mm_layers": 1, "txt_in_dim": 64, "rope_dim": 128}
_OMNIGEN = dict(width=32, channels=16, downscale=8, patch=2, embedder="diffusion_model.rope_embedder.rope_embedder",
                image_at="last", extra=_mask, axes=(40, 40, 40))
_COSMOS = dict(channels=16, downscale=8, patch=2, frames=1, embedder="diffusion_model.pos_embedder", image_at="all",
               token_dim=0, kept_pairs=slice(0, 22), axes=(44, 42, 42))

CASES: tuple[Case, ...] = (
    Case("FLUX.1", "FLUX.1", "Flux", _flux("FLUX1"), channels=16, downscale=8, patch=2, model_override=True, **_FLUX),
    # ComfyUI's Flux.2 pads the prompt to 512 tokens (model_base.Flux2.extra_conds).
    Case("Flux.2", "Flux.2", "Flux2", _flux("FLUX2"), channels=128, downscale=16, patch=1, text=512,
         **dict(_FLUX, axes=(32, 32, 32, 32))),
    Case("Chroma", "Chroma", "Chroma", _flux("CHROMA"), channels=16, downscale=8, patch=2, **_FLUX),
    Case("Chroma Radiance", "Chroma Radiance", "ChromaRadiance", _radiance, width=64, channels=3, downscale=1,
         patch=16, extra=_pooled(0), axes=(16, 56, 56)),
    Case("Qwen-Image", "Qwen-Image", unet=QWEN, **_QWEN),
    Case("Qwen-Image Edit (reference)", "Qwen-Image", unet=QWEN, extra=_qwen_reference, **_QWEN),
    Case("Qwen-Image Layered (3 frames, reference)", "Qwen-Image",
         unet=dict(QWEN, use_additional_t_cond=True, default_ref_method="negative_index"),
         extra=_qwen_reference, **dict(_QWEN, frames=3)),
    Case("Lumina 2", "Lumina 2", "Lumina2",
         {"image_model": "lumina2", "patch_size": 2, "in_channels": 16, "dim": 96, "cap_feat_dim": 32, "n_layers": 1,
          "n_refiner_layers": 1, "qk_norm": True, "n_heads": 1, "n_kv_heads": 1, "axes_dims": [32, 32, 32],
          "axes_lens": [300, 512, 512], "rope_theta": 10000.0, "ffn_dim_multiplier": 4.0},
         **dict(_LUMINA, axes=(32, 32, 32))),
    Case("Z-Image", "Z-Image", "ZImage", ZIMAGE, **_LUMINA),
    # Omni on a SigLIP checkpoint: reference caption, SigLIP, image; main caption, SigLIP, image; leftover caption.
    Case("Z-Image Omni (reference)", "Z-Image", "ZImage", dict(ZIMAGE, siglip_feat_dim=24),
         extra=_zimage_omni, **dict(_LUMINA, calls=7, image_call=5)),
    Case("Z-Image pixel space", "Z-Image pixel space", "ZImagePixelSpace",
         dict(ZIMAGE, image_model="zimage_pixel", patch_size=16, in_channels=3, decoder_in_channels=768,
              decoder_hidden_size=32, decoder_num_res_blocks=1, decoder_max_freqs=8),
         **dict(_LUMINA, channels=3, downscale=1, patch=16)),
    Case("HiDream-I1", "HiDream-I1", "HiDream",
         {"image_model": "hidream", "patch_size": 2, "in_channels": 16, "out_channels": 16, "num_layers": 1,
          "num_single_layers": 1, "attention_head_dim": 128, "num_attention_heads": 1, "caption_channels": [64, 64],
          "text_emb_dim": 32, "num_routed_experts": 4, "num_activated_experts": 2, "axes_dims_rope": [64, 32, 32],
          "max_resolution": [128, 128], "llama_layers": [0, 1]},
         width=64, channels=16, downscale=8, patch=2, axes=(64, 32, 32), extra=_hidream, image_at="first",
         token_dim=1),
    Case("Krea 2", "Krea 2", "Krea2",
         {"image_model": "krea2", "features": 128, "heads": 1, "kvheads": 1, "layers": 1, "patch": 2, "channels": 16,
          "txtlayers": 2, "txtdim": 64, "txtheads": 1, "txtkvheads": 1, "multiplier": 4, "tdim": 256, "theta": 1e3},
         width=128, channels=16, downscale=8, patch=2, axes=(32, 48, 48), frames=1, attn1_pe=True),
    Case("Lens", "Lens", "Lens",
         {"image_model": "lens", "in_channels": 128, "out_channels": 32, "num_layers": 1, "attention_head_dim": 64,
          "num_attention_heads": 1, "enc_hidden_dim": 32, "multi_layer_encoder_feature": True,
          "selected_layer_index": (0, 1), "axes_dims_rope": (8, 28, 28)},
         width=64, channels=128, downscale=16, patch=1, axes=(8, 28, 28), embedder="diffusion_model.pos_embed",
         image_at="first"),
    Case("HunyuanImage 2.1", "HunyuanImage 2.1", "HunyuanImage21",
         dict(HUNYUAN, in_channels=64, out_channels=64, patch_size=[1, 1], axes_dim=[64, 64], byt5=True,
              guidance_embed=True, meanflow=True),
         channels=64, downscale=32, patch=1, extra=_hunyuan_image, spatial=(0, 1), **dict(_HUNYUAN, axes=(64, 64))),
    Case("HunyuanImage 2.1 Refiner", "HunyuanImage 2.1 Refiner", "HunyuanImage21Refiner",
         dict(HUNYUAN, in_channels=128, out_channels=64, patch_size=[1, 1, 1]),
         channels=64, downscale=16, patch=1, frames=1, extra=_refiner, **_HUNYUAN),
    Case("HunyuanVideo (ref_latent)", "HunyuanVideo", "HunyuanVideo",
         dict(HUNYUAN, in_channels=16, out_channels=16, patch_size=[1, 2, 2], vec_in_dim=24, guidance_embed=True),
         channels=16, downscale=8, patch=2, frames=2, extra=_hunyuan_video, **_HUNYUAN),
    Case("Wan 14B-like", "Wan", "WAN21_T2V", WAN, double_block=True, **_WAN),
    Case("Wan 2.1 1.3B (dim 1536)", "Wan 2.1 1.3B", "WAN21_T2V", dict(WAN, dim=1536, num_heads=12),
         **dict(_WAN, frames=1)),
    Case("Wan 2.2 5B (out_dim 48)", "Wan 2.2 5B", "WAN22_T2V", dict(WAN, in_dim=48, out_dim=48),
         **dict(_WAN, channels=48, downscale=16, frames=1)),
    Case("Kandinsky 5 Image", "Kandinsky 5 Image", "Kandinsky5Image", KANDINSKY, width=32, channels=16, downscale=8,
         patch=2, axes=(32, 48, 48), extra=_pooled(24), embedder="diffusion_model.rope_embedder_3d", image_at="first"),
    Case("OmniGen2 (reference)", "OmniGen2", "Omnigen2",
         {"image_model": "omnigen2", "axes_dim_rope": [40, 40, 40], "axes_lens": [1024, 1664, 1664],
          "ffn_dim_multiplier": None, "hidden_size": 120, "in_channels": 16, "multiple_of": 256, "norm_eps": 1e-05,
          "num_attention_heads": 1, "num_kv_heads": 1, "num_layers": 1, "num_refiner_layers": 1,
          "out_channels": None, "patch_size": 2, "text_feat_dim": 32, "timestep_scale": 1000.0},
         **dict(_OMNIGEN, extra=_omnigen_reference)),
    Case("Boogu", "Boogu", "Boogu",
         {"image_model": "boogu", "hidden_size": 120, "num_layers": 1, "num_double_stream_layers": 1,
          "num_refiner_layers": 1, "instruction_feat_dim": 32, "num_attention_heads": 1, "num_kv_heads": 1},
         **_OMNIGEN),
    Case("Ernie-Image", "Ernie-Image", "ErnieImage",
         {"image_model": "ernie", "hidden_size": 128, "num_attention_heads": 1, "num_layers": 1,
          "ffn_hidden_size": 64, "in_channels": 128, "out_channels": 128, "patch_size": 1, "text_in_dim": 32,
          "rope_theta": 256, "rope_axes_dim": (32, 48, 48)},
         width=32, channels=128, downscale=16, patch=1, axes=(32, 48, 48), embedder="diffusion_model.pos_embed",
         image_at="first", token_dim=1, pairs="split_half"),
    Case("Cosmos Predict2", "Cosmos Predict2", "CosmosT2IPredict2", COSMOS, width=32, attn1_pe=True, **_COSMOS),
    Case("Anima", "Anima", "Anima", dict(COSMOS, image_model="anima", crossattn_emb_channels=1024), width=1024,
         **_COSMOS),
    # The time axis: the family's trained clip length, then a longer clip past RIFLEx's intrinsic period.
    Case("Wan 14B-like: time axis", "Wan", "WAN21_T2V", WAN, clip=(21, 26), **_WAN),
    Case("HunyuanVideo: time axis", "HunyuanVideo", "HunyuanVideo",
         dict(HUNYUAN, in_channels=16, out_channels=16, patch_size=[1, 2, 2], vec_in_dim=24, guidance_embed=True),
         channels=16, downscale=8, patch=2, frames=2, extra=_hunyuan_video, clip=(33, 54), **_HUNYUAN),
    # ComfyUI 0.29-0.31 families.
    Case("Mage-Flow (reference)", "Mage-Flow", "MageFlow", MAGE_FLOW, width=64, channels=128, downscale=16, patch=1,
         axes=(16, 56, 56), extra=_reference(1, 128, 8, 8)),
    Case("JoyImage-Edit (reference)", "JoyImage", "JoyImage", JOYIMAGE, width=32, channels=16, downscale=8, patch=2,
         frames=1, axes=(16, 56, 56), embedder="diffusion_model.get_rotary_pos_embed_for_components",
         image_at="first", token_dim=1, kept_pairs=slice(0, 8), extra=_reference(1, 16, 1, 8, 8)),
    # The pose video is a second embedder call (rope_encode_pose), shifted on the column axis: the host's table.
    Case("Wan Animate 2 (pose video)", "Wan", "WAN_Animate2", dict(WAN, model_type="animate2", in_dim=36),
         **dict(_WAN, calls=2, sized=_pose_video)),
    Case("refusal: SeedVR2", None, "SeedVR2", SEEDVR2, width=64, channels=16, downscale=8, patch=2, frames=1,
         axes=(), refused_class="comfy.ldm.seedvr.model.NaDiT"),
    Case("refusal: AuraFlow MMDiT", None, "AuraFlow",
         {"cond_seq_dim": 32, "in_channels": 4, "out_channels": 4, "patch_size": 2, "dim": 64, "n_layers": 1,
          "n_double_layers": 1, "n_heads": 1, "global_conddim": 64, "max_seq": 256},
         width=32, channels=4, downscale=8, patch=2, axes=(), refused_class="comfy.ldm.aura.mmdit.MMDiT"),
    # Kandinsky 5's video models divide positions by a built-in factor: a class DyPE knows, a layout it refuses.
    Case("refusal: Kandinsky 5 video", None, "Kandinsky5",
         dict(KANDINSKY, visual_embed_dim=132, axes_dims=(16, 24, 24), rope_scale_factor=(1.0, 2.0, 2.0)),
         width=32, channels=16, downscale=8, patch=2, axes=(16, 24, 24), frames=1,
         refused_class="comfy.ldm.kandinsky5.model.Kandinsky5"),
)

#: The families a refusal must list as supported.
FAMILY_NAMES: tuple[str, ...] = tuple(dict.fromkeys(case.family for case in CASES if case.family))
