"""Models DyPE cannot patch, by the diffusion model's class, with the reason users see.

Read from ComfyUI's ``comfy/ldm`` (v0.25, v0.33; SenseNova U1.5 from 0.37's stored source; class
paths as ``module.QualName``). DyPE swaps a
rotary embedder module and scales its frequencies; these models have no such module, no
rotary positions, or positions that never exceed their training range.
"""

from __future__ import annotations

_INLINE = "computes its rotary table inline in its forward ({}), so there is no embedder module to replace"
_NO_ROPE = "has no rotary position embedding ({}), so there are no RoPE frequencies to extrapolate"
_NOT_IMAGE = "generates {}, not images; DyPE extrapolates image positions only"
_NUNCHAKU = (
    "Nunchaku's quantized {} computes RoPE inside its own fused kernels and does not run ComfyUI's "
    "model wrappers, so DyPE cannot reach its positions"
)

#: ``module.QualName`` (or a class name for models outside ComfyUI) -> why DyPE cannot attach.
REFUSED: dict[str, str] = {
    "comfy.ldm.ideogram4.model.Ideogram4Transformer2DModel": _INLINE.format("precompute_freqs_cis"),
    "comfy.ldm.hidream_o1.model.HiDreamO1Transformer": _INLINE.format(
        "compute_freqs_cis, and it reuses prefix keys with RoPE already applied across steps"
    ),
    "comfy.ldm.pixeldit.model.PixDiT_T2I": "normalises its positions to the image size, so they never leave "
    "their training range, and builds them inline",
    "comfy.ldm.pixeldit.pid.PidNet": "normalises its positions to the image size and already applies its own "
    "NTK scaling, inline",
    "comfy.ldm.lightricks.model.LTXVModel": _INLINE.format("fractional positions in _precompute_freqs_cis"),
    "comfy.ldm.lightricks.av_model.LTXAVModel": _INLINE.format("fractional positions in _precompute_freqs_cis"),
    "comfy.ldm.cogvideo.model.CogVideoXTransformer3DModel": _INLINE.format("_get_1d_rotary_pos_embed"),
    "comfy.ldm.hydit.models.HunYuanDiT": _INLINE.format("calc_rope"),
    "comfy.ldm.genmo.joint_model.asymm_models_joint.AsymmDiTJoint": "learns its rotary frequencies as "
    "weights, so there is no theta to rescale",
    "comfy.ldm.wan.ar_model.CausalWanModel": "skips ComfyUI's model wrappers when generating autoregressively "
    "and caches keys with RoPE already applied",
    "comfy.ldm.modules.diffusionmodules.mmdit.OpenAISignatureMMDITWrapper": _NO_ROPE.format(
        "SD3 uses absolute sin-cos positions"
    ),
    "comfy.ldm.aura.mmdit.MMDiT": _NO_ROPE.format("AuraFlow learns absolute positions"),
    "comfy.ldm.pixart.pixartms.PixArtMS": _NO_ROPE.format("PixArt uses absolute sin-cos positions"),
    "comfy.ldm.modules.diffusionmodules.openaimodel.UNetModel": _NO_ROPE.format(
        "a convolutional U-Net (SD1.x, SD2.x, SDXL)"
    ),
    "comfy.ldm.cascade.stage_c.StageC": _NO_ROPE.format("Stable Cascade"),
    "comfy.ldm.cascade.stage_b.StageB": _NO_ROPE.format("Stable Cascade"),
    "comfy.ldm.seedvr.model.NaDiT": "builds its rotary embedding inside each attention block (SeedVR2's "
    "windowed NaDiT), so there is no embedder module to replace",
    "comfy.ldm.sensenova.model.SenseNovaU15": _INLINE.format("_prepare_mrope, split-half multimodal RoPE"),
    "comfy.ldm.minimax.model.MiniMaxH3Model": "is an audio-video model whose rotary frequencies are a checkpoint "
    "buffer (inv_freq) read inside its forward, so there is no theta to rescale and no embedder to replace",
    "comfy.ldm.trellis2.model.Trellis2": _NOT_IMAGE.format("3-D assets (sparse voxel structures)"),
    "comfy.ldm.hunyuan3d.model.Hunyuan3Dv2": _NOT_IMAGE.format("3-D shapes"),
    "comfy.ldm.hunyuan3dv2_1.hunyuandit.HunYuanDiTPlain": _NOT_IMAGE.format("3-D shapes"),
    "comfy.ldm.minimax_music.dit.MiniMaxMusic3DiT": _NOT_IMAGE.format("music (audio)"),
    "comfy.ldm.ace.model.ACEStepTransformer2DModel": _NOT_IMAGE.format("music (audio)"),
    "comfy.ldm.ace.ace_step15.AceStepConditionGenerationModel": _NOT_IMAGE.format("music (audio)"),
    "comfy.ldm.audio.dit.AudioDiffusionTransformer": _NOT_IMAGE.format("audio (Stable Audio)"),
    "ComfyFluxWrapper": _NUNCHAKU.format("FLUX"),
    "ComfyFlux2Wrapper": _NUNCHAKU.format("Flux.2"),
}

#: Classes DyPE supports in some variants, with why the others are refused.
VARIANTS: dict[str, str] = {
    "comfy.ldm.kandinsky5.model.Kandinsky5": "Kandinsky 5 video models divide their positions by their own scale "
    "factor (rope_scale_factor (1, 2, 2)); DyPE supports Kandinsky 5 Image (factor 1)",
    "comfy.ldm.cosmos.predict2.MiniTrainDIT": "this checkpoint's row and column NTK factors differ; DyPE supports "
    "Cosmos Predict2 models with equal ones",
    "comfy.ldm.anima.model.Anima": "this checkpoint's row and column NTK factors differ; DyPE supports Anima "
    "models with equal ones",
}
