"""DyPE on the families ComfyUI added after 0.25 that need more than the shared family tests: JoyImage (a table
made by a method of the model), Qwen-Image 2.1's prefix cache and patch paths, Mage-Flow's ``post_input`` ids,
and the new models refused by name, on the stand-in host.

JoyImage's expected table is the host's with its row and column pairs replaced by ``dype_core``'s table of the
main image's corner-origin grid; its time pairs and every reference keep the host's values. Qwen-Image 2.1:
text and references keep the host's table, so keys and values its prefix cache keeps from the first step stay
right at every later step; an ``attn1_patch`` or a ``post_input`` patch sees DyPE's table.
"""

import math
import re

import pytest
import torch
from comfy import conds, latent_formats
from comfy.ldm.joyimage.model import JoyImageTransformer3DModel
from comfy.model_base import BaseModel, ModelType
from comfy.patcher_extension import WrappersMP
from comfy.utils import get_attr
from comfyui_dype.dype_core import DyPESettings, RotaryLayout, build_table, sigma_to_t
from comfyui_dype.dype_core import frequencies as freqs
from comfyui_dype.nodes.embedder import DyPEComponentTable
from comfyui_dype.nodes.families import UnsupportedModel, detect
from comfyui_dype.nodes.patch import patch_of
from dype_helpers import dype, dype_node
from families_a import build, conditioning, latent
from family_helpers import grid_ids, record_forwards, sample, tiny_patcher

#: Base resolution: 8 tokens of 16 px a side.
BASE = 128
EMBEDDER = "diffusion_model.get_rotary_pos_embed_for_components"


class JoyImage(BaseModel):
    """``model_base.JoyImage``: ``ref_latents`` from ``reference_latents`` (``process_latent_in``-ed)."""

    def extra_conds(self, **kwargs):
        out = super().extra_conds(**kwargs)
        if kwargs.get("reference_latents") is not None:
            out["ref_latents"] = conds.CONDList([self.process_latent_in(r) for r in kwargs["reference_latents"]])
        return out


def joyimage(dtype: torch.dtype = torch.float32):
    """Tiny JoyImage with ComfyUI's config: theta 10000, axes 16/56/56 (``unet_extra_config``), shift 1.5."""
    unet = dict(patch_size=[1, 2, 2], in_channels=16, text_dim=32, theta=10000, rope_dim_list=[16, 56, 56])
    model_cls = lambda config, model_type, device=None: JoyImage(  # noqa: E731
        config, model_type, device=device, unet_model=JoyImageTransformer3DModel)
    return tiny_patcher(model_cls, ModelType.FLOW, latent_formats.Wan21(), {"shift": 1.5, "multiplier": 1000.0},
                        unet, dtype=dtype)


def joy_conds(refs: tuple[tuple[int, int], ...]) -> tuple[list, list]:
    g = torch.Generator().manual_seed(1)
    options = {"reference_latents": [torch.randn(1, 16, 1, h // 8, w // 8, generator=g) for h, w in refs]} if refs \
        else {}
    return [[torch.randn(1, 9, 32, generator=g), options]], [[torch.randn(1, 5, 32, generator=g), dict(options)]]


def record_components(model) -> list:
    """``(sigma, component_sizes, table)`` of every call of the (patched) table method of ``model``."""
    calls, sigmas, replacement = [], [], model.get_model_object(EMBEDDER)

    def probe(executor, *args, **kwargs):  # the sigma of each forward, from the clone's own wrapper
        sigmas.append(float(args[-1]["sigmas"].max()))
        return executor(*args, **kwargs)

    def recording(component_sizes, device=None):
        table = replacement(component_sizes, device=device)
        calls.append((sigmas[-1], list(component_sizes), table.clone()))
        return table

    model.add_wrapper_with_key(WrappersMP.DIFFUSION_MODEL, "probe", probe)
    model.add_object_patch(EMBEDDER, recording)
    return calls


@pytest.fixture(scope="module")
def joy():
    return joyimage()


def test_joyimage_is_detected_with_the_model_s_own_axes_and_theta(joy):
    patched = dype(joy, base_resolution=BASE)
    patch = patch_of(patched)
    assert patch.family.name == "JoyImage"
    assert (patch.layout.axes_dim, patch.layout.theta, patch.layout.px_per_token) == ((16, 56, 56), 10000.0, 16)
    assert patch.layout.base_grid == (8.0, 8.0)
    table = patched.get_model_object(EMBEDDER)
    assert isinstance(table, DyPEComponentTable) and table.original == joy.get_model_object(EMBEDDER)
    assert patch_of(dype_node(joy)[0]).layout.base_grid == (64.0, 64.0)  # native 1024 px


@pytest.mark.parametrize("size,refs", [((128, 128), ((128, 128),)), ((96, 64), ())], ids=["base-edit", "below"])
def test_joyimage_bitwise_no_op_at_and_below_the_base(joy, size, refs):
    positive, negative = joy_conds(refs)
    empty = torch.zeros(1, 16, 1, size[0] // 8, size[1] // 8)
    assert torch.equal(sample(dype(joy, base_resolution=BASE), empty, positive, negative),
                       sample(joy, empty, positive, negative))


@pytest.mark.parametrize("size", [(256, 160), (208, 304)], ids=["portrait", "landscape-odd"])
def test_joyimage_main_image_gets_dype_references_and_time_keep_the_host_table(joy, size):
    positive, negative = joy_conds(((192, 192),))
    patched = dype(joy, base_resolution=BASE)
    calls = record_components(patched)
    empty = torch.zeros(1, 16, 1, size[0] // 8, size[1] // 8)
    out = sample(patched, empty, positive, negative)
    host = joy.get_model_object(EMBEDDER)
    rows, cols = math.ceil(size[0] / 16), math.ceil(size[1] / 16)
    layout = RotaryLayout(name="JoyImage", axes_dim=(16, 56, 56), theta=10000.0, row_axis=1, col_axis=2,
                          time_axis=0, base_grid=(8.0, 8.0), latent_downscale=8, patch=2)
    scales = (1.0, rows / 8, cols / 8)
    count = rows * cols
    assert len(calls) == 4 and calls[0][1][0] == (1, rows, cols)
    images = []
    for sigma, sizes, table in calls:
        plain = host(sizes)
        expected = build_table(grid_ids(1, rows, cols, (0, 0)), layout,
                               freqs.dype(layout, DyPESettings(), scales, sigma_to_t(sigma)), head_axis=2)
        image = table[:, :count]
        assert torch.equal(image[..., 8:, :, :], expected[..., 8:, :, :])  # row and column pairs: DyPE's
        assert torch.equal(image[..., :8, :, :], plain[:, :count, ..., :8, :, :])  # time pairs: the host's
        assert torch.equal(table[:, count:], plain[:, count:])  # the reference: the host's
        images.append(image)
    assert not torch.equal(images[0], images[-1])
    assert not torch.equal(out, sample(joy, empty, positive, negative))


def test_joyimage_original_model_keeps_its_own_method(joy):
    method = joy.get_model_object(EMBEDDER)
    positive, negative = joy_conds(())
    empty = torch.zeros(1, 16, 1, 32, 20)
    before = sample(joy, empty, positive, negative, steps=1)
    sample(dype(joy, base_resolution=BASE), empty, positive, negative, steps=1)
    assert torch.equal(sample(joy, empty, positive, negative, steps=1), before)
    assert get_attr(joy.model, EMBEDDER) == method and not joy.object_patches


# --- Qwen-Image 2.1 -------------------------------------------------------------------------------------------


def qwen21_run(model, *, extra: dict | None = None, steps: int = 3, size: tuple[int, int] = (256, 192)):
    refs = ((192, 192), (128, 160))
    positive = conditioning("qwen21", 12, refs=refs, slots=(4, 8))
    negative = conditioning("qwen21", 12, seed=2, refs=refs, slots=(4, 8))
    positive[0][1].update(extra or {})
    negative[0][1].update(extra or {})
    return sample(model, latent("qwen21", *size), positive, negative, steps=steps)


def test_qwen21_prefix_cache_stays_valid_under_dype():
    """The cache keeps text and reference keys from the first step: with DyPE they carry the host's table at
    every step, so a cached run samples as a run that recomputes them."""
    model = build("qwen21")
    patched = dype(model, base_resolution=BASE)
    cached = qwen21_run(patched)
    assert model.model.diffusion_model.prefix_cache_hits == 2  # stored at the first of 3 steps, used at the others
    recomputed = qwen21_run(patched, extra={"qwen_image21_cache": {"device": "off"}})
    torch.testing.assert_close(cached, recomputed, rtol=1e-5, atol=1e-6)
    assert not torch.allclose(cached, qwen21_run(model), atol=1e-4)


def test_qwen21_attn1_patch_and_post_input_see_dype_s_table():
    model = build("qwen21")
    patched = dype(model, base_resolution=BASE)
    forwards = record_forwards(patched, "diffusion_model.pe_embedder")
    seen = {"attn1": [], "post_input": []}
    patched.set_model_attn1_patch(lambda q, k, v, pe=None, **kw: seen["attn1"].append(pe.clone()) or {})
    patched.set_model_patch(lambda args: seen["post_input"].append(args["pe"].clone()) or args, "post_input")
    qwen21_run(patched, steps=2)
    tables = [forward.calls[0][1] for forward in forwards]
    assert len(seen["attn1"]) == len(seen["post_input"]) == len(tables) == 2
    for table, attn1, post_input in zip(tables, seen["attn1"], seen["post_input"]):
        assert torch.equal(post_input, table.transpose(1, 2))  # the model's [1, N, 1, ...] layout
        assert torch.equal(attn1, table)  # attn1_patch gets it transposed back
    assert not torch.equal(tables[0], tables[1])


# --- Mage-Flow: a post_input patch may rewrite the ids ---------------------------------------------------------


def test_mage_flow_post_input_ids_reach_dype():
    """A ``post_input`` patch that moves the image (here one row down) is what the embedder sees: DyPE's table is
    ``dype_core``'s for the rewritten positions."""
    model = build("mage_flow")
    patched = dype(model, base_resolution=BASE)
    forwards = record_forwards(patched, "diffusion_model.pe_embedder")

    def one_row_down(args):
        ids = args["img_ids"].clone()
        ids[..., 1] += 1
        return {**args, "img_ids": ids}

    patched.set_model_patch(one_row_down, "post_input")
    sample(patched, latent("mage_flow", 256, 192), conditioning("mage_flow", 6), conditioning("mage_flow", 6, seed=2))
    rows, cols = 16, 12
    layout = patch_of(patched).layout
    for forward in forwards:
        ids, table = forward.calls[0]
        image = slice(6, 6 + rows * cols)
        expected = grid_ids(1, rows, cols, (1 - rows // 2, -(cols // 2)))
        assert torch.equal(ids[:, image], expected.expand(ids.shape[0], -1, -1))
        frequencies = freqs.dype(layout, DyPESettings(), (1.0, rows / 8, cols / 8), sigma_to_t(forward.sigma))
        assert torch.equal(table[:, :, image], build_table(ids[:, image], layout, frequencies))


# --- models refused by name -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path,reason", [
    ("comfy.ldm.sensenova.model.SenseNovaU15", "computes its rotary table inline"),
    ("comfy.ldm.minimax.model.MiniMaxH3Model", "inv_freq"),
    ("comfy.ldm.trellis2.model.Trellis2", "3-D assets"),
    ("comfy.ldm.minimax_music.dit.MiniMaxMusic3DiT", "music (audio)"),
    ("comfy.ldm.ace.model.ACEStepTransformer2DModel", "music (audio)"),
    ("comfy.ldm.audio.dit.AudioDiffusionTransformer", "audio (Stable Audio)"),
    ("comfy.ldm.seedvr.model.NaDiT", "inside each attention block"),
])
def test_models_without_a_replaceable_table_are_refused_by_name(path, reason):
    """Classes the stand-in host does not build (the real host builds SeedVR2): detection by class path."""
    module, _, name = path.rpartition(".")
    model = type(name, (torch.nn.Module,), {"__module__": module})()
    with pytest.raises(UnsupportedModel, match=rf"cannot patch {name} \({re.escape(path)}\): .*{re.escape(reason)}"
                                               r".* Supported families: .*JoyImage"):
        detect(model, lambda embedder: None)


def test_joyimage_sega_and_proportional_attention_change_nothing_at_the_base_and_act_above_it(joy):
    positive, negative = joy_conds(())
    both = {"method": "SEGA", "proportional_attention": True}
    at = torch.zeros(1, 16, 1, BASE // 8, BASE // 8)
    assert torch.equal(sample(dype(joy, base_resolution=BASE, **both), at, positive, negative),
                       sample(joy, at, positive, negative))
    above = torch.zeros(1, 16, 1, 256 // 8, 160 // 8)
    ntk = sample(dype(joy, base_resolution=BASE, method="NTK (static)"), above, positive, negative)
    sega = sample(dype(joy, base_resolution=BASE, method="SEGA"), above, positive, negative)
    assert not torch.equal(sega, ntk)
    assert not torch.equal(sample(dype(joy, base_resolution=BASE, **both), above, positive, negative), sega)
