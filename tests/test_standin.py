"""Self-tests of the host stand-in in tests/standin (a fake ComfyUI for machines without one).

Expected numbers marked "host" were measured on real ComfyUI v0.25 with the same inputs.
"""

from __future__ import annotations

import asyncio
import math
import sys
from pathlib import Path

import pytest
import torch

STANDIN = str(Path(__file__).resolve().parent / "standin")
if STANDIN not in sys.path:
    sys.path.insert(0, STANDIN)

import comfy.model_management as mm  # noqa: E402
import comfy.sample  # noqa: E402
import comfy.samplers  # noqa: E402
from comfy.ldm.flux.layers import EmbedND  # noqa: E402
from comfy.ldm.flux.math import apply_rope1  # noqa: E402
from comfy.model_base import BaseModel, build_flux_patcher, make_conditioning  # noqa: E402
from comfy.model_sampling import CONST, ModelSamplingFlux  # noqa: E402
from comfy.patcher_extension import WrapperExecutor, WrappersMP, get_all_wrappers, merge_nested_dicts  # noqa: E402
from comfy_api.latest import ComfyExtension, io  # noqa: E402
from comfy_api.latest._standin import NodeValidationError, input_types, run_node  # noqa: E402

CHANNELS = {"flux": 16, "flux2": 128, "chroma": 16}


@pytest.fixture(autouse=True)
def _fresh_model_management():
    yield
    mm.unload_all_models()


class Recorder(torch.nn.Module):
    """Object patch for ``diffusion_model.pe_embedder`` that records the ids it is given."""

    def __init__(self, inner, log):
        super().__init__()
        self.inner, self.log = inner, log

    def forward(self, ids):
        self.log.append(ids.clone())
        return self.inner(ids)


def conds(kind, pos_len=7, neg_len=7, seed=1, **extra):
    g = torch.Generator().manual_seed(seed)
    pooled = torch.randn(1, 16, generator=g) if kind == "flux" else None
    pos = make_conditioning(torch.randn(1, pos_len, 32, generator=g), pooled, **extra)
    neg = make_conditioning(torch.randn(1, neg_len, 32, generator=g), pooled, **extra)
    return pos, neg


def run(patcher, kind, steps=3, cfg=1.0, hw=(8, 8), batch=1, sampler="euler", scheduler="simple", denoise=1.0,
        **cond_kw):
    pos, neg = conds(kind, **cond_kw)
    latent = torch.zeros(batch, CHANNELS[kind], *hw)
    noise = comfy.sample.prepare_noise(latent, 42)
    return comfy.sample.sample(patcher, noise, steps, cfg, sampler, scheduler, pos, neg, latent, denoise=denoise,
                               disable_pbar=True, seed=42)


def record_diffusion_calls(patcher):
    calls = []

    def wrapper(executor, *args, **kwargs):
        calls.append({"args": args, "kwargs": kwargs, "class_obj": executor.class_obj})
        return executor(*args, **kwargs)

    patcher.add_wrapper_with_key(WrappersMP.DIFFUSION_MODEL, "record", wrapper)
    return calls


# --- sampling end to end ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["flux", "flux2", "chroma"])
@pytest.mark.parametrize("cfg,neg_len", [(1.0, 7), (2.0, 7), (2.0, 5)])
def test_three_step_euler_runs_and_batches_like_host(kind, cfg, neg_len):
    patcher = build_flux_patcher(kind).clone()
    calls = record_diffusion_calls(patcher)
    out = run(patcher, kind, cfg=cfg, neg_len=neg_len, hw=(9, 11))
    assert out.shape == (1, CHANNELS[kind], 9, 11) and out.dtype == torch.float32
    assert torch.isfinite(out).all()
    to = [c["args"][-1] if kind == "chroma" else c["args"][7] for c in calls]
    if cfg == 1.0:
        assert [t["cond_or_uncond"] for t in to] == [[0]] * 3
    elif neg_len == 7 or kind == "flux2":  # Flux.2 pads every text to 512 tokens, so they batch
        assert [t["cond_or_uncond"] for t in to] == [[1, 0]] * 3
        assert all(c["args"][0].shape[0] == 2 for c in calls)
    else:  # different text lengths: one forward each, cond first
        assert [t["cond_or_uncond"] for t in to] == [[0], [1]] * 3
        assert [c["args"][2].shape[1] for c in calls[:2]] == [7, 5]


def test_wrapper_chain_order_and_class_objects():
    base = build_flux_patcher("flux")
    patcher = base.clone()
    order = []

    def make(name, wrapper_type):
        def wrapper(executor, *args, **kwargs):
            order.append((name, type(executor.class_obj).__name__, len(args)))
            return executor(*args, **kwargs)

        patcher.add_wrapper_with_key(wrapper_type, name, wrapper)

    make("outer", WrappersMP.OUTER_SAMPLE)
    make("apply", WrappersMP.APPLY_MODEL)
    make("dm_first", WrappersMP.DIFFUSION_MODEL)
    make("dm_second", WrappersMP.DIFFUSION_MODEL)
    run(patcher, "flux", steps=1)
    assert order == [("outer", "CFGGuider", 8), ("apply", "Flux", 6), ("dm_first", "Flux", 8), ("dm_second", "Flux", 8)]
    assert isinstance(base.model, BaseModel) and type(base.model.diffusion_model).__name__ == "Flux"
    # sampling works on a copy of model_options: nothing accumulates on the patcher
    assert "wrappers" not in patcher.model_options["transformer_options"]

    chroma = build_flux_patcher("chroma").clone()
    calls = record_diffusion_calls(chroma)
    run(chroma, "chroma", steps=1)
    assert len(calls[0]["args"]) == 6 and type(calls[0]["class_obj"]).__name__ == "Chroma"


def test_wrapper_executor_and_nested_dicts():
    seen = []

    def w(tag):
        def wrapper(executor, x):
            seen.append(tag)
            return executor(x + [tag])

        return wrapper

    opts = {}
    for key, tag in (("a", 1), ("b", 2), ("a", 3)):
        opts.setdefault("wrappers", {}).setdefault("t", {}).setdefault(key, []).append(w(tag))
    wrappers = get_all_wrappers("t", opts)
    assert WrapperExecutor.new_executor(lambda x: x, wrappers).execute([]) == [1, 3, 2]
    assert seen == [1, 3, 2]
    assert get_all_wrappers("t", {"transformer_options": opts}, is_model_options=True) == wrappers
    merged = merge_nested_dicts({"a": {"x": [1]}, "k": 1}, {"a": {"x": [2], "y": 3}, "k": 2})
    assert merged == {"a": {"x": [1, 2], "y": 3}, "k": 2}


def test_transformer_options_seen_by_diffusion_wrapper():
    patcher = build_flux_patcher("flux").clone()
    calls = record_diffusion_calls(patcher)
    run(patcher, "flux", cfg=2.0, batch=2)
    assert len(calls) == 3
    for step, call in enumerate(calls):
        x, timestep, to = call["args"][0], call["args"][1], call["args"][7]
        assert x.shape[0] == 4 and timestep.shape == (4,)
        assert to["sigmas"].shape == (2,) and torch.equal(to["sigmas"], timestep[:2])
        assert to["sample_sigmas"][-1] == 0 and float(to["sample_sigmas"][step]) == float(to["sigmas"][0])
        assert to["cond_or_uncond"] == [1, 0] and len(to["uuids"]) == 2
        assert {"wrappers", "callbacks", "sample_sigmas", "sigmas", "cond_or_uncond", "uuids"} <= set(to)
    # host: 3-step "simple" schedule at shift 1.15
    assert calls[0]["args"][7]["sample_sigmas"] == pytest.approx([1.0, 0.8633, 0.6123, 0.0], abs=1e-4)


def test_heun_evaluates_at_intermediate_sigmas():
    patcher = build_flux_patcher("flux").clone()
    calls = record_diffusion_calls(patcher)
    run(patcher, "flux", steps=3, sampler="heun")
    sigmas = [round(float(c["args"][7]["sigmas"][0]), 4) for c in calls]
    assert sigmas == [1.0, 0.8633, 0.8633, 0.6123, 0.6123]  # last step is plain Euler (next sigma 0)


def test_denoise_keeps_last_sigmas_like_ksampler():
    patcher = build_flux_patcher("flux")
    ks = comfy.samplers.KSampler(patcher, 4, torch.device("cpu"), "euler", "normal", denoise=0.6)
    full = comfy.samplers.calculate_sigmas(patcher.get_model_object("model_sampling"), "normal", 6)
    assert torch.equal(ks.sigmas, full[-5:])
    assert ks.sigmas.tolist() == pytest.approx([0.8258, 0.6782, 0.4416, 0.0010, 0.0], abs=1e-4)  # host


def test_unet_function_wrapper_single_slot():
    patcher = build_flux_patcher("flux").clone()
    seen = []

    def unet_wrapper(apply_model, args):
        seen.append((sorted(args), args["cond_or_uncond"]))
        return apply_model(args["input"], args["timestep"], **args["c"])

    patcher.set_model_unet_function_wrapper(lambda f, a: 1 / 0)
    patcher.set_model_unet_function_wrapper(unet_wrapper)
    run(patcher, "flux", steps=2)
    assert seen == [(["c", "cond_or_uncond", "input", "timestep"], [0])] * 2


# --- object patches, weight patches, clones ---------------------------------------------------


def test_object_patch_applied_during_sampling_and_restored_by_other_clone():
    base = build_flux_patcher("flux")
    original = base.model.diffusion_model.pe_embedder
    log = []
    patched = base.clone()
    patched.add_object_patch("diffusion_model.pe_embedder", Recorder(original, log))
    assert base.model.diffusion_model.pe_embedder is original  # nothing applied before loading
    run(patched, "flux", steps=2)
    assert len(log) == 2  # pe built once per model call
    assert isinstance(base.model.diffusion_model.pe_embedder, Recorder)  # stays applied (lazy, like the host)
    assert patched.get_model_object("diffusion_model.pe_embedder") is patched.object_patches[
        "diffusion_model.pe_embedder"]
    assert base.get_model_object("diffusion_model.pe_embedder") is original  # served from the shared backup
    run(base.clone(), "flux", steps=1)
    assert base.model.diffusion_model.pe_embedder is original and len(log) == 2
    mm.load_models_gpu([patched])
    assert isinstance(base.model.diffusion_model.pe_embedder, Recorder)
    mm.unload_all_models()
    assert base.model.diffusion_model.pe_embedder is original


def test_model_sampling_object_patch_changes_schedule():
    base = build_flux_patcher("flux")

    class ModelSamplingAdvanced(ModelSamplingFlux, CONST):
        pass

    sampling = ModelSamplingAdvanced(base.model.model_config)
    sampling.set_parameters(shift=3.23)
    patched = base.clone()
    patched.add_object_patch("model_sampling", sampling)
    assert patched.get_model_object("model_sampling").shift == 3.23
    assert base.get_model_object("model_sampling").shift == 1.15
    calls = record_diffusion_calls(patched)
    run(patched, "flux", steps=2)
    expected = comfy.samplers.calculate_sigmas(sampling, "simple", 2)
    assert torch.equal(calls[0]["args"][7]["sample_sigmas"], expected)


def test_weight_patches_apply_on_load_and_restore():
    base = build_flux_patcher("flux")
    key = "diffusion_model.img_in.weight"
    w0 = base.model.state_dict()[key].clone()
    patched = base.clone()
    assert patched.add_patches({key: (torch.ones_like(w0),), "missing.weight": (w0,)}, 0.5, 2.0) == [key]
    with pytest.raises(TypeError):
        patched.add_patches({key: torch.ones_like(w0)})  # bare tensors are not a host diff patch
    assert torch.equal(base.model.state_dict()[key], w0)
    mm.load_models_gpu([patched])
    assert torch.allclose(base.model.state_dict()[key], w0 * 2.0 + 0.5)
    mm.load_models_gpu([base.clone()])
    assert torch.equal(base.model.state_dict()[key], w0)


def test_clone_semantics():
    base = build_flux_patcher("flux")
    base.model_options["transformer_options"]["patches"] = {"post_input": [print]}
    base.add_object_patch("x", 1)
    base.add_wrapper_with_key(WrappersMP.DIFFUSION_MODEL, "k", print)
    c = base.clone()
    assert c.model is base.model and c.is_clone(base) and c.parent is base
    assert c.object_patches_backup is base.object_patches_backup and c.backup is base.backup
    c.model_options["transformer_options"]["patches"]["post_input"].append(len)
    c.add_object_patch("y", 2)
    c.add_wrapper_with_key(WrappersMP.DIFFUSION_MODEL, "k", len)
    assert base.model_options["transformer_options"]["patches"]["post_input"] == [print]
    assert "y" not in base.object_patches and base.get_wrappers(WrappersMP.DIFFUSION_MODEL, "k") == [print]
    c.remove_wrappers_with_key(WrappersMP.DIFFUSION_MODEL, "k")
    assert c.get_all_wrappers(WrappersMP.DIFFUSION_MODEL) == []
    c.set_model_rope_options(2.0, 1.0, 3.0, 0.0, 1.0, 0.0)
    assert c.model_options["transformer_options"]["rope_options"] == dict(
        scale_x=2.0, shift_x=1.0, scale_y=3.0, shift_y=0.0, scale_t=1.0, shift_t=0.0)
    assert c.model_dtype() == torch.float32


# --- position ids and the embedder ------------------------------------------------------------


def grid(index, rows, cols, row0=0.0, col0=0.0, n_axes=3):
    ids = torch.zeros(rows, cols, n_axes)
    ids[..., 0] = index
    ids[..., 1] = torch.arange(rows, dtype=torch.float32)[:, None] + row0
    ids[..., 2] = torch.arange(cols, dtype=torch.float32)[None, :] + col0
    return ids.reshape(1, rows * cols, n_axes)


def first_ids(kind, hw, **kw):
    base = build_flux_patcher(kind)
    patched, log = base.clone(), []
    patched.add_object_patch("diffusion_model.pe_embedder", Recorder(base.model.diffusion_model.pe_embedder, log))
    if "rope" in kw:
        patched.set_model_rope_options(*kw.pop("rope"))
    run(patched, kind, steps=1, hw=hw, **kw)
    return log[0]


REF_A, REF_B = (8, 6), (5, 9)  # latent sizes -> token grids (4, 3) and (3, 5) at patch 2


@pytest.mark.parametrize("method,ref_grids", [
    ("offset", [(1, 0, 0), (1, 4, 0)]),  # index 1; the second ref tiled below the first (8 latent rows = 4 tokens)
    ("index", [(1, 0, 0), (2, 0, 0)]),  # index += ref_index_scale (1.0 for FLUX.1), no offsets
    ("uxo", [(0, 2, 3), (0, 6, 6)]),  # index 0; offsets past the image (2x3 tokens) and the previous refs
])
def test_flux_ids_layout(method, ref_grids):
    refs = [torch.randn(1, 16, *REF_A), torch.randn(1, 16, *REF_B)]
    ids = first_ids("flux", (4, 6), reference_latents=refs, reference_latents_method=method)
    expected = [torch.zeros(1, 7, 3), grid(0, 2, 3)]
    expected += [grid(i, *((r + 1) // 2 for r in ref), r0, c0) for (i, r0, c0), ref in zip(ref_grids, (REF_A, REF_B))]
    assert ids.dtype == torch.float32
    assert torch.equal(ids, torch.cat(expected, dim=1))


def test_flux2_ids_text_axis_and_index_refs():
    ids = first_ids("flux2", (3, 4), reference_latents=[torch.randn(1, 128, 2, 2)])
    assert ids.shape == (1, 512 + 12 + 4, 4)  # text left-padded to 512 tokens
    assert torch.equal(ids[0, :512, 3], torch.arange(512, dtype=torch.float32))
    assert torch.equal(ids[0, :512, :3], torch.zeros(512, 3))
    assert torch.equal(ids[:, 512:524], grid(0, 3, 4, n_axes=4))
    assert torch.equal(ids[:, 524:], grid(10.0, 2, 2, n_axes=4))  # default method "index", scale 10


def test_rope_options_scale_and_shift_image_ids():
    ids = first_ids("flux", (8, 8), rope=(0.5, 2.0, 2.0, 1.0, 1.0, 3.0))  # scale_x, shift_x, scale_y, ...
    img = ids[0, 7:].reshape(4, 4, 3)
    assert torch.equal(img[..., 0], torch.full((4, 4), 3.0))
    assert torch.equal(img[:, 0, 1], torch.linspace(1.0, 7.0, 4))
    assert torch.equal(img[0, :, 2], torch.linspace(2.0, 3.5, 4))


def test_chroma_ids_in_model_dtype():
    ids = first_ids("chroma", (40, 36))
    assert ids.dtype == torch.float32
    base = build_flux_patcher("chroma", dtype=torch.bfloat16)
    patched, log = base.clone(), []
    patched.add_object_patch("diffusion_model.pe_embedder", Recorder(base.model.diffusion_model.pe_embedder, log))
    run(patched, "chroma", steps=1, hw=(600, 4))
    assert log[0].dtype == torch.bfloat16
    assert log[0][0, -8:, 1].tolist() == [296.0, 296.0, 298.0, 298.0, 300.0, 300.0, 300.0, 300.0]  # host, bf16


def reference_rope(pos, dim, theta):
    omega = 1.0 / theta ** (torch.arange(0, dim, 2, dtype=torch.float64) / dim)
    angle = pos.to(torch.float32).to(torch.float64)[..., None] * omega
    rot = torch.stack([angle.cos(), -angle.sin(), angle.sin(), angle.cos()], dim=-1)
    return rot.unflatten(-1, (2, 2)).float()


@pytest.mark.parametrize("axes,theta", [([16, 56, 56], 10000), ([32, 32, 32, 32], 2000)])
def test_embedder_equals_direct_rope(axes, theta):
    g = torch.Generator().manual_seed(0)
    ids = torch.rand(2, 50, len(axes), generator=g) * 3000
    table = EmbedND(sum(axes), theta, axes)(ids)
    assert table.shape == (2, 1, 50, sum(axes) // 2, 2, 2) and table.dtype == torch.float32
    direct = torch.cat([reference_rope(ids[..., i], d, theta) for i, d in enumerate(axes)], dim=-3)[:, None]
    assert torch.allclose(table, direct, atol=1e-6, rtol=0)
    assert list(EmbedND(128, theta, axes).parameters()) == [] and list(EmbedND(128, theta, axes).buffers()) == []


def test_apply_rope_interleaved_pairs_and_trim():
    pe = EmbedND(4, 10000, [4])(torch.arange(6, dtype=torch.float32)[None, :, None])
    x = torch.randn(1, 1, 4, 4)
    out = apply_rope1(x, pe)  # table has 6 positions, x has 4: trimmed
    angle = torch.arange(4.0)[:, None] * torch.tensor([1.0, 0.01])
    a, b = x[0, 0, :, 0::2], x[0, 0, :, 1::2]
    expected = torch.stack([a * angle.cos() - b * angle.sin(), a * angle.sin() + b * angle.cos()], dim=-1).flatten(1)
    assert torch.allclose(out[0, 0], expected, atol=1e-6)


def test_block_patches_are_called():
    patcher = build_flux_patcher("flux").clone()
    seen = []

    def post_input(d):
        seen.append(("post_input", sorted(d)))
        return d

    def attn1(q, k, v, pe, attn_mask, extra_options):
        seen.append(("attn1", extra_options["block_type"], pe.shape[2] == q.shape[2]))
        return {"pe": pe}

    patcher.set_model_post_input_patch(post_input)
    patcher.set_model_attn1_patch(attn1)
    run(patcher, "flux", steps=1)
    assert seen == [("post_input", ["img", "img_ids", "transformer_options", "txt", "txt_ids"]),
                    ("attn1", "double", True), ("attn1", "single", True)]


# --- sampling objects and schedulers ----------------------------------------------------------


def test_model_sampling_flux():
    class Config:
        sampling_settings = {"shift": 2.02}

    ms = build_flux_patcher("flux2").get_model_object("model_sampling")
    assert ms.shift == 2.02 and float(ms.sigma_max) == 1.0 and ms.sigmas.shape == (10000,)
    assert ModelSamplingFlux(Config()).shift == 2.02 and ModelSamplingFlux().shift == 1.15
    t = torch.tensor([0.3])
    assert ms.timestep(t) is t
    assert float(ms.sigma(t)) == pytest.approx(math.exp(2.02) / (math.exp(2.02) + (1 / 0.3 - 1)))
    assert ms.percent_to_sigma(0.0) == 1.0 and ms.percent_to_sigma(1.0) == 0.0
    assert isinstance(ms, CONST)
    x, v, s = torch.randn(2, 4, 3, 3), torch.randn(2, 4, 3, 3), torch.tensor([0.5, 0.25])
    assert torch.allclose(ms.calculate_denoised(s, v, x), x - v * s[:, None, None, None])


@pytest.mark.parametrize("name,expected", [  # host values, shift 1.15, 4 steps
    ("simple", [1.0, 0.9045, 0.7595, 0.5128, 0.0]),
    ("sgm_uniform", [1.0, 0.9046, 0.7596, 0.5132, 0.0]),
    ("normal", [1.0, 0.8634, 0.6125, 0.0010, 0.0]),
    ("beta", [1.0, 0.9368, 0.7596, 0.4025, 0.0]),
    ("karras", [1.0, 0.1635, 0.01412, 0.0003158, 0.0]),
    ("exponential", [1.0, 0.06810, 0.004637, 0.0003158, 0.0]),
])
def test_schedulers(name, expected):
    ms = build_flux_patcher("flux").get_model_object("model_sampling")
    assert comfy.samplers.calculate_sigmas(ms, name, 4).tolist() == pytest.approx(expected, rel=1e-3, abs=1e-4)


# --- V3 node API ------------------------------------------------------------------------------


class DemoNode(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="DemoNode", display_name="Demo", category="model/patch",
            inputs=[io.Model.Input("model"),
                    io.Combo.Input("method", options=["yarn", "ntk"], default="yarn", tooltip="m"),
                    io.Float.Input("scale", default=1.0, min=0.0, max=8.0, step=0.01, advanced=True),
                    io.Int.Input("width", default=1024, min=16, max=4096),
                    io.Boolean.Input("enable", default=True),
                    io.Float.Input("opt", default=0.5, min=0.0, max=1.0, optional=True)],
            outputs=[io.Model.Output()], hidden=[io.Hidden.unique_id])

    @classmethod
    def validate_inputs(cls, model, width, scale):
        return True if not (scale > 4 and width < 64) else "scale too big for width"

    @classmethod
    def execute(cls, model, method, scale, width, enable, opt=None):
        return io.NodeOutput((model, method, scale, width, enable, opt, cls.hidden.unique_id))


def test_v3_schema_as_the_server_sees_it():
    it = input_types(DemoNode)
    assert it["required"]["method"] == ("COMBO", {"tooltip": "m", "default": "yarn", "multiselect": False,
                                                  "options": ["yarn", "ntk"]})
    assert it["required"]["scale"] == ("FLOAT", {"advanced": True, "default": 1.0, "min": 0.0, "max": 8.0,
                                                 "step": 0.01})
    assert it["required"]["model"] == ("MODEL", {}) and it["optional"]["opt"] == ("FLOAT", {"default": 0.5,
                                                                                            "min": 0.0, "max": 1.0})
    assert it["hidden"] == {"unique_id": ("UNIQUE_ID",)}
    assert DemoNode.RETURN_TYPES == ["MODEL"] and DemoNode.FUNCTION == "EXECUTE_NORMALIZED"
    assert DemoNode.hidden is None

    class Ext(ComfyExtension):
        async def get_node_list(self):
            return [DemoNode]

    assert asyncio.run(Ext().get_node_list()) == [DemoNode] and asyncio.run(Ext().on_load()) is None


def test_run_node_defaults_validation_and_hidden():
    out = run_node(DemoNode, hidden={io.Hidden.unique_id: "7"}, model="M", scale="2")
    assert out[0] == ("M", "yarn", 2.0, 1024, True, 0.5, "7")
    assert run_node(DemoNode, model="M", scale=99.0).args[0][2] == 99.0  # named in validate_inputs: no max check
    with pytest.raises(NodeValidationError, match="scale too big for width"):
        run_node(DemoNode, model="M", scale=5.0, width=32)
    with pytest.raises(NodeValidationError) as err:
        run_node(DemoNode, model="M", method="bad", opt=3.0)
    assert sorted(e[0] for e in err.value.errors) == ["value_bigger_than_max", "value_not_in_list"]
    with pytest.raises(NodeValidationError, match="required_input_missing"):
        run_node(DemoNode)
    clone = DemoNode.PREPARE_CLASS_CLONE({"hidden_inputs": {io.Hidden.unique_id: "3"}})
    assert clone.hidden.unique_id == "3" and clone.hidden.prompt is None and DemoNode.hidden is None
