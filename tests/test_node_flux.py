"""The DyPE node and patch on the stand-in host: FLUX.1, Flux.2 and Chroma.

The stand-in (``tests/standin``) reproduces ComfyUI's ModelPatcher, wrapper chaining,
samplers and a small FLUX-architecture DiT that builds ids and calls its embedder as the
host's FLUX does; ``tests/real_host`` repeats the essentials on the real ComfyUI.
"""

import logging
import re

import pytest
import torch
from comfy.model_base import build_flux_patcher
from comfy.patcher_extension import WrappersMP
from comfy.sample import sample as host_sample
from comfy_api.latest._standin import input_types, run_node
from comfyui_dype.dype_core import FLUX1, DyPESettings, build_table, linear_mu, menu
from comfyui_dype.dype_core import frequencies as freqs
from comfyui_dype.dype_core.menu import METHODS
from comfyui_dype.nodes.context import STEP, Step
from comfyui_dype.nodes.dype_node import DyPE
from comfyui_dype.nodes.embedder import DyPEEmbedder
from comfyui_dype.nodes.families import UnsupportedModel
from comfyui_dype.nodes.families.flux import CHROMA
from comfyui_dype.nodes.time_shift import reshift
from comfyui_dype.nodes.tokens import Block
from dype_helpers import BASE, dype, record_tables
from host_recipe import host_table

CHANNELS = {"flux": 16, "flux2": 128, "chroma": 16}
LATENT_PX = {"flux": 8, "flux2": 16, "chroma": 8}


@pytest.fixture(scope="module")
def models():
    return {kind: build_flux_patcher(kind, seed=0) for kind in CHANNELS}


def conds(model, text=8, negative_text=8, refs=()):
    config = model.model.diffusion_model.params
    g = torch.Generator().manual_seed(1)

    def entry(length):
        extra = {"pooled_output": torch.randn(1, 16, generator=g), "guidance": 3.5}
        if refs:
            extra["reference_latents"] = list(refs)
        return [[torch.randn(1, length, config.context_in_dim, generator=g), extra]]

    return entry(text), entry(negative_text)


def sample(model, kind, px, *, cfg=2.0, steps=3, scheduler="simple", sampler="euler", batch=1, denoise=1.0,
           negative_text=8, refs=(), height=None):
    positive, negative = conds(model, negative_text=negative_text, refs=refs)
    side = LATENT_PX[kind]
    latent = torch.zeros(batch, CHANNELS[kind], (height or px) // side, px // side)
    noise = torch.randn(latent.shape, generator=torch.Generator().manual_seed(42))
    return host_sample(model, noise, steps, cfg, sampler, scheduler, positive, negative, latent,
                       denoise=denoise, disable_pbar=True, seed=42)


def test_schema_every_input_has_a_default_and_a_tooltip():
    schema = DyPE.define_schema()
    # Users search the node list for either name; the id stays, so saved workflows keep loading.
    assert schema.node_id == "DyPE" and {"DyPE", "SEGA"} <= set(re.findall(r"\w+", schema.display_name))
    assert "SEGA" in schema.search_aliases and "SEGA" in schema.description and "DyPE" in schema.description
    types = input_types(DyPE)
    assert list(types["required"]) == [
        "model", "method", "lambda_s", "lambda_t", "yarn_ramp", "base_resolution", "scaling",
        "attention_scale", "time_shift", "mu", "time_axis",
    ]
    # New inputs come last and are optional: a workflow or API prompt saved without them keeps its meaning.
    assert list(types["optional"]) == ["proportional_attention"]
    for name, (_, options) in [*list(types["required"].items())[1:], *types["optional"].items()]:
        assert "default" in options and len(options.get("tooltip", "")) > 40, name
    assert types["required"]["method"][1]["default"] == menu.DEFAULT_METHOD
    assert types["optional"]["proportional_attention"][1]["default"] == menu.DEFAULT_PROPORTIONAL


def test_works_with_only_the_model_connected(models):
    patched = run_node(DyPE, model=models["flux"])[0]
    assert patched is not models["flux"] and patched.is_clone(models["flux"])
    assert isinstance(patched.get_model_object("diffusion_model.pe_embedder"), DyPEEmbedder)


@pytest.mark.parametrize("kind", list(CHANNELS))
def test_bitwise_no_op_at_and_below_the_base_size(models, kind):
    base = models[kind]
    for px in (BASE, BASE // 2):
        assert torch.equal(sample(dype(base), kind, px), sample(base, kind, px))
    assert torch.equal(sample(dype(base, base_resolution=0), kind, 512), sample(base, kind, 512))


@pytest.mark.parametrize("kind", list(CHANNELS))
@pytest.mark.parametrize("factor", [2, 4])
def test_table_follows_sigma_above_the_base(models, kind, factor):
    patched = dype(models[kind])
    tables = record_tables(patched)
    out = sample(patched, kind, BASE * factor, cfg=1.0, steps=4)
    assert len(tables) == 4 and torch.isfinite(out).all()
    assert not torch.equal(tables[0][1], tables[-1][1])
    ids, first = tables[0]
    host = host_table(ids.float(), tuple(patched.get_model_object("diffusion_model.pe_embedder").axes_dim),
                      patched.get_model_object("diffusion_model.pe_embedder").theta)
    text = 8 if kind != "flux2" else ids.shape[1] - (BASE * factor // 16) ** 2
    assert torch.equal(first[:, :, :text], host[:, :, :text])  # text keeps the host's table
    assert not torch.equal(first[:, :, text:], host[:, :, text:])
    assert not torch.equal(out, sample(models[kind], kind, BASE * factor, cfg=1.0, steps=4))


def test_the_table_is_dype_core_s_table_for_the_step_sigma(models):
    patched = dype(models["flux"], method="Dy-NTK")
    tables = record_tables(patched)
    seen = []
    patched.add_wrapper_with_key(WrappersMP.DIFFUSION_MODEL, "probe",
                                 lambda ex, *a, **k: seen.append(float(a[-1]["sigmas"][0])) or ex(*a, **k))
    sample(patched, "flux", 512, cfg=1.0, steps=3)
    layout = FLUX1.with_base_resolution(BASE)
    for (ids, table), sigma in zip(tables, seen, strict=True):
        image = freqs.dype(layout, DyPESettings(method="ntk"), (1.0, 2.0, 2.0), sigma)
        assert torch.equal(table, build_table(ids, layout, image, image_tokens=slice(8, 8 + 32 * 32)))


def test_cfg_batched_and_separate_forwards_get_the_same_image_tables(models):
    batched, separate = dype(models["flux"]), dype(models["flux"])
    tb, ts = record_tables(batched), record_tables(separate)
    sample(batched, "flux", 512, steps=2)
    sample(separate, "flux", 512, steps=2, negative_text=13)
    assert len(tb) == 2 and tb[0][1].shape[0] == 2 and len(ts) == 4
    image = slice(8, 8 + 32 * 32)
    assert torch.equal(tb[0][1][:1, :, image], tb[0][1][1:, :, image])
    assert any(torch.equal(tb[0][1][:1, :, image], t[:, :, image if t.shape[2] == tb[0][1].shape[2] else
                                                      slice(13, 13 + 32 * 32)]) for _, t in ts[:2])


def test_batch_of_two(models):
    out = sample(dype(models["flux"]), "flux", 512, batch=2)
    assert out.shape[0] == 2 and torch.isfinite(out).all()


def test_two_patched_models_and_the_original_stay_independent(models):
    base = models["flux"]
    before = sample(base, "flux", 512)
    a, b = dype(base), dype(base, method="Dy-PI", lambda_s=1.0)
    first, other = sample(a, "flux", 512), sample(b, "flux", 512)
    assert not torch.equal(first, other) and not torch.equal(first, before)
    assert torch.equal(sample(a, "flux", 512), first)
    assert torch.equal(sample(base, "flux", 512), before)
    embedder = base.get_model_object("diffusion_model.pe_embedder")
    assert not isinstance(embedder, DyPEEmbedder) and base.model.diffusion_model.pe_embedder is embedder


@pytest.mark.parametrize("foreign_first", [True, False])
def test_chains_with_another_node_s_diffusion_model_wrapper(models, foreign_first):
    calls = []

    def foreign(executor, *args, **kwargs):
        calls.append(STEP.get() is not None)
        return executor(*args, **kwargs)

    model = models["flux"].clone() if foreign_first else dype(models["flux"])
    model.add_wrapper_with_key(WrappersMP.DIFFUSION_MODEL, "foreign", foreign)
    model = dype(model) if foreign_first else model
    tables = record_tables(model)
    sample(model, "flux", 512, cfg=1.0, steps=2)
    assert len(calls) == 2 and len(tables) == 2
    assert calls == [not foreign_first] * 2  # outermost first: DyPE's context is set inside its own wrapper
    assert not torch.equal(tables[0][1], tables[1][1])


def test_applying_dype_twice_replaces_the_first_patch(models):
    twice = dype(dype(models["flux"], method="Dy-PI"), method="Dy-NTK")
    assert len(twice.get_wrappers(WrappersMP.DIFFUSION_MODEL, "dype")) == 1
    embedder = twice.get_model_object("diffusion_model.pe_embedder")
    assert not isinstance(embedder.original, DyPEEmbedder)
    assert torch.equal(sample(twice, "flux", 512), sample(dype(models["flux"], method="Dy-NTK"), "flux", 512))


def test_stacks_with_lora_model_sampling_and_scale_rope(models):
    base = models["flux"].clone()
    key = "diffusion_model.img_in.weight"
    base.add_patches({key: (torch.full_like(base.model.state_dict()[key], 1e-3),)}, 1.0)
    base.set_model_rope_options(1.5, 0.0, 1.5, 0.0, 1.0, 0.0)
    patched = dype(base)
    tables = record_tables(patched)
    out = sample(patched, "flux", 512, cfg=1.0, steps=2)
    ids = tables[0][0]
    image = ids[0, 8:8 + 32 * 32]
    assert image[:, 1].max() == pytest.approx(31 * 1.5) and torch.isfinite(out).all()  # scaled ids arrive


def test_kontext_reference_tokens_keep_the_host_table(models):
    base = models["flux"]
    reference = torch.randn(1, 16, 64, 64, generator=torch.Generator().manual_seed(5))
    patched = dype(base)
    tables = record_tables(patched)
    sample(patched, "flux", 512, cfg=1.0, steps=2, refs=(reference,))
    ids, table = tables[0]
    image_end = 8 + 32 * 32
    assert ids.shape[1] == image_end + 32 * 32 and (ids[0, image_end:, 0] == 1).all()
    host = host_table(ids, (16, 56, 56), 1e4)
    assert torch.equal(table[:, :, image_end:], host[:, :, image_end:])
    assert not torch.equal(table[:, :, 8:image_end], host[:, :, 8:image_end])


@pytest.mark.parametrize("scheduler", ["simple", "karras", "exponential", "normal", "sgm_uniform"])
@pytest.mark.parametrize("sampler", ["euler", "heun"])
def test_every_scheduler_reaches_tiny_sigmas_without_trouble(models, scheduler, sampler):
    out = sample(dype(models["flux"]), "flux", 512, cfg=1.0, steps=4, scheduler=scheduler, sampler=sampler)
    assert torch.isfinite(out).all()


def test_denoise_below_one_follows_the_partial_schedule(models):
    patched = dype(models["flux"])
    seen = []
    patched.add_wrapper_with_key(WrappersMP.DIFFUSION_MODEL, "probe",
                                 lambda ex, *a, **k: seen.append(float(a[-1]["sigmas"][0])) or ex(*a, **k))
    tables = record_tables(patched)
    sample(patched, "flux", 512, cfg=1.0, steps=4, denoise=0.5)
    assert seen[0] < 0.9 and len(tables) == 4 and not torch.equal(tables[0][1], tables[-1][1])


def test_chroma_image_positions_are_rebuilt_exactly_in_float32():
    rows, cols, text = 300, 4, 5
    grid = torch.stack(torch.meshgrid(torch.zeros(1), torch.arange(rows * 1.0), torch.arange(cols * 1.0),
                                      indexing="ij"), -1).reshape(1, -1, 3)
    ids = torch.cat([torch.zeros(1, text, 3), grid], 1)
    bf16 = ids.to(torch.bfloat16)
    assert not torch.equal(bf16.float(), ids)  # 257, 259, ... are not representable in bf16
    layout = FLUX1.with_base_resolution(BASE)
    step = Step(family=CHROMA, layout=layout, settings=DyPESettings(), t=0.5, scales=(1.0, rows / 16, 1.0),
                frames=1, grid=(rows, cols), tokens=Block(slice(text, text + rows * cols), rows * cols),
                exact_ids=True)
    embedder = DyPEEmbedder(torch.nn.Identity())
    token = STEP.set(step)
    try:
        table = embedder(bf16)
    finally:
        STEP.reset(token)
    image = freqs.dype(layout, DyPESettings(), step.scales, 0.5)
    assert torch.equal(table, build_table(ids, layout, image, image_tokens=slice(text, None)))


def test_time_shift_policies(models, caplog):
    def schedule(model):
        seen = []
        model.add_wrapper_with_key(WrappersMP.DIFFUSION_MODEL, "probe",
                                   lambda ex, *a, **k: seen.append(a[-1]["sample_sigmas"].clone()) or ex(*a, **k))
        sample(model, "flux", 512, cfg=1.0, steps=4)
        return seen[0]

    own = schedule(dype(models["flux"]))
    assert torch.allclose(schedule(dype(models["flux"], time_shift="base")), own)
    custom = dype(models["flux"], time_shift="custom", mu=3.0)
    assert custom.get_model_object("model_sampling").shift == 3.0
    assert models["flux"].get_model_object("model_sampling").shift == 1.15
    assert (schedule(custom)[1:-1] > own[1:-1]).all()
    with caplog.at_level(logging.INFO, logger="DyPE"):
        linear = schedule(dype(models["flux"], time_shift="linear"))
    assert torch.allclose(linear, reshift(own, 1.15, linear_mu(32 * 32)), atol=1e-6)
    lines = [r.getMessage() for r in caplog.records if r.name == "DyPE"]
    assert len(lines) == 1 and "mu 0.63 (linear)" in lines[0] and "scale width 2 height 2" in lines[0]


def test_logs_one_plan_line_per_sampling_run(models, caplog):
    with caplog.at_level(logging.INFO, logger="DyPE"):
        sample(dype(models["flux"]), "flux", 512, steps=5)
        sample(dype(models["flux"]), "flux", BASE, steps=5)
    lines = [r.getMessage() for r in caplog.records if r.name == "DyPE"]
    assert len(lines) == 2
    assert "FLUX.1 512x512 px -> 32x32 tokens (base 16x16), scale width 2 height 2, Dy-YaRN, 5 steps" in lines[0]
    assert "inactive, at or below the base resolution" in lines[1] and "mu 1.15 (model)" in lines[1]


def test_base_resolution_must_be_whole_tokens(models):
    with pytest.raises(ValueError, match="base resolution 1000 px is not a positive multiple of 16 px.*try 992"):
        DyPE.execute(models["flux"], base_resolution=1000)


def test_unsupported_models_are_named_with_the_supported_families(models):
    other = models["flux"].clone()
    other.add_object_patch("diffusion_model", torch.nn.Linear(4, 4))
    with pytest.raises(UnsupportedModel, match=r"cannot patch Linear \(torch.nn.modules.linear.Linear\).*"
                                               r"Supported families: FLUX.1, Flux.2, Chroma, .*Qwen-Image.*Wan"):
        DyPE.execute(other)


def test_nunchaku_flux_is_named_and_refused_with_the_reason(models):
    class ComfyFluxWrapper(torch.nn.Module):  # ComfyUI-nunchaku's diffusion model, by its class name
        pass

    other = models["flux"].clone()
    other.add_object_patch("diffusion_model", ComfyFluxWrapper())
    with pytest.raises(UnsupportedModel, match="cannot patch ComfyFluxWrapper .*Nunchaku's quantized FLUX computes "
                                               "RoPE inside its own fused kernels.*Supported families: FLUX.1"):
        DyPE.execute(other)


def test_time_shift_needs_a_shifted_flow_sampling(models):
    other = models["flux"].clone()
    other.add_object_patch("model_sampling", torch.nn.Module())
    with pytest.raises(ValueError, match="time_shift 'base' sets the flow schedule's shift, but this model samples "
                                         "with Module, which has none"):
        DyPE.execute(other, time_shift="base")
    assert DyPE.execute(other).result[0] is not None  # 'model' keeps whatever sampling it has


def test_every_method_label_samples(models):
    for label in METHODS:
        assert torch.isfinite(sample(dype(models["flux"], method=label), "flux", 512, cfg=1.0, steps=2)).all()


def test_the_embedder_outside_a_dype_call_is_the_original(models):
    embedder = dype(models["flux"]).get_model_object("diffusion_model.pe_embedder")
    ids = torch.zeros(1, 10, 3)
    ids[0, :, 1] = torch.arange(10.0)
    assert torch.equal(embedder(ids), embedder.original(ids))
    assert embedder.theta == embedder.original.theta and list(embedder.parameters()) == []


def test_time_shift_base_is_the_checkpoint_s_own_default_per_variant():
    """``base`` pins what the loaded checkpoint's model config samples with, not a family constant: FLUX.1
    schnell's config (``supported_models.FluxSchnell``) is a discrete flow of shift 1, mu 0, where dev's is
    ``ModelSamplingFlux`` mu 1.15; a sampling node upstream does not change it."""
    from comfy.model_base import TINY_CONFIGS, Flux, ModelConfig, ModelType
    from comfy.model_patcher import ModelPatcher
    from comfy.model_sampling import ModelSamplingDiscreteFlow

    _, latent_format, _, unet = TINY_CONFIGS["flux"]
    config = ModelConfig(dict(unet), latent_format(), {"multiplier": 1.0, "shift": 1.0})
    schnell = ModelPatcher(Flux(config, model_type=ModelType.FLOW), load_device="cpu", offload_device="cpu")
    upstream = schnell.clone()
    upstream.add_object_patch("model_sampling", type(schnell.model.model_sampling)(
        ModelConfig({}, latent_format(), {"multiplier": 1.0, "shift": 3.0})))
    pinned = dype(upstream, time_shift="base").get_model_object("model_sampling")
    assert isinstance(pinned, ModelSamplingDiscreteFlow) and pinned.shift == 1.0
    dev = dype(models_dev := build_flux_patcher("flux"), time_shift="base").get_model_object("model_sampling")
    assert dev.shift == 1.15 and models_dev.get_model_object("model_sampling").shift == 1.15
