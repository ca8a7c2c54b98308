"""DyPE among other parts of a graph (stand-in host): threads, references, block-level patches."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch
from comfy.model_base import build_flux_patcher
from comfy.model_management import load_models_gpu
from comfy.sample import sample as host_sample
from comfyui_dype.dype_core import FLUX1, FLUX2, DyPESettings, build_table
from comfyui_dype.dype_core import frequencies as freqs
from dype_helpers import BASE, dype, record_tables
from host_recipe import host_table


@pytest.fixture(scope="module")
def flux():
    return build_flux_patcher("flux", seed=0)


def sample(model, px, *, refs=(), method=None, channels=16, steps=2, text=8):
    g = torch.Generator().manual_seed(1)
    extra = {"pooled_output": torch.randn(1, 16, generator=g), "guidance": 3.5}
    if refs:
        extra["reference_latents"] = list(refs)
    if method:
        extra["reference_latents_method"] = method
    positive = [[torch.randn(1, text, 32, generator=g), extra]]
    latent = torch.zeros(1, channels, px // (8 if channels == 16 else 16), px // (8 if channels == 16 else 16))
    noise = torch.randn(latent.shape, generator=torch.Generator().manual_seed(2))
    return host_sample(model, noise, steps, 1.0, "euler", "simple", positive, positive, latent, disable_pbar=True)


def test_concurrent_forwards_with_different_sigmas_each_get_their_own_table(flux):
    """Like v0.25's multi-GPU path: one replacement object, forwards running in threads."""
    patched = dype(flux)
    load_models_gpu([patched])
    model = patched.model.diffusion_model
    made = {}  # thread id -> the table the embedder returned last in that thread
    patched.get_model_object("diffusion_model.pe_embedder").register_forward_hook(
        lambda module, args, out: made.__setitem__(threading.get_ident(), out.clone()))
    g = torch.Generator().manual_seed(0)
    x, context = torch.randn(1, 16, 64, 64, generator=g), torch.randn(1, 8, 32, generator=g)

    def forward(sigma):
        options = {"sigmas": torch.tensor([sigma]), "wrappers": patched.wrappers}
        model(x, torch.tensor([sigma]), context, torch.zeros(1, 16), torch.tensor([3.5]), None, None, options)
        return sigma, made[threading.get_ident()]

    reference = dict(forward(s) for s in (0.9, 0.2))
    assert not torch.equal(reference[0.9], reference[0.2])
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(forward, [0.9, 0.2] * 20))
    assert all(torch.equal(table, reference[sigma]) for sigma, table in results)


@pytest.mark.parametrize("method", ["offset", "index", "uxo"])
def test_kontext_references_with_every_method_keep_the_host_table(flux, method):
    """A reference larger than the base (and than the main image) must not change the scale."""
    reference = torch.randn(1, 16, 96, 96, generator=torch.Generator().manual_seed(4))
    patched = dype(flux)
    tables = record_tables(patched)
    sample(patched, 512, refs=(reference,), method=method)
    ids, table = tables[0]
    image = slice(8, 8 + 32 * 32)
    assert ids.shape[1] == image.stop + 48 * 48
    host = host_table(ids, FLUX1.axes_dim, FLUX1.theta)
    assert torch.equal(table[:, :, image.stop:], host[:, :, image.stop:])
    layout = FLUX1.with_base_resolution(BASE)
    t = 1.0  # the first step of a full-denoise schedule
    expected = build_table(ids, layout, freqs.dype(layout, DyPESettings(), (1.0, 2.0, 2.0), t), image_tokens=image)
    assert torch.equal(table, expected)


def test_flux2_references_keep_the_host_table_and_text_axis():
    flux2 = build_flux_patcher("flux2", seed=0)
    reference = torch.randn(1, 128, 48, 48, generator=torch.Generator().manual_seed(4))
    patched = dype(flux2)
    tables = record_tables(patched)
    sample(patched, 512, refs=(reference,), channels=128)
    ids, table = tables[0]
    text = ids.shape[1] - 32 * 32 - 48 * 48
    image = slice(text, text + 32 * 32)
    host = host_table(ids, FLUX2.axes_dim, FLUX2.theta)
    assert (ids[0, image.stop:, 0] >= 1).all()  # references sit on their own index
    assert torch.equal(table[:, :, :text], host[:, :, :text])
    assert torch.equal(table[:, :, image.stop:], host[:, :, image.stop:])
    assert not torch.equal(table[:, :, image], host[:, :, image])


def test_attn1_patches_run_and_see_dype_s_table(flux):
    patched = dype(flux)
    tables = record_tables(patched)
    seen = []

    def attn1(q, k, v, pe=None, attn_mask=None, extra_options=None):
        seen.append(pe)
        return {}

    patched.set_model_attn1_patch(attn1)
    sample(patched, 512, steps=2)
    assert len(seen) >= 4  # every block of every step
    assert any(torch.equal(pe, tables[0][1]) for pe in seen) and any(torch.equal(pe, tables[1][1]) for pe in seen)


def test_post_input_patches_rewrite_ids_before_dype_sees_them(flux):
    patched = dype(flux)
    tables = record_tables(patched)

    def shift_columns(inputs):
        img_ids = inputs["img_ids"].clone()
        img_ids[..., 2] += 0.5
        return dict(inputs, img_ids=img_ids)

    patched.set_model_post_input_patch(shift_columns)
    sample(patched, 512, steps=1)
    ids, table = tables[0]
    assert (ids[0, 8:, 2] % 1 == 0.5).all()
    layout = FLUX1.with_base_resolution(BASE)
    expected = build_table(ids, layout, freqs.dype(layout, DyPESettings(), (1.0, 2.0, 2.0), 1.0),
                           image_tokens=slice(8, 8 + 32 * 32))
    assert torch.equal(table, expected)


@pytest.mark.long  # ~11 s of Dynamo tracing: make test-long
def test_torch_compile_keeps_the_table_following_sigma_without_recompiling(flux):
    """Dynamo traces the diffusion model with its wrapper chain, as core's TorchCompileModel does."""
    import torch._dynamo

    patched = dype(flux)
    tables = []
    keep = torch.compiler.disable(lambda module, args, out: tables.append(out.clone()))  # not traced itself
    patched.get_model_object("diffusion_model.pe_embedder").register_forward_hook(keep)
    eager = sample(patched, 512, steps=3)
    compiled = patched.clone()
    compiled.add_object_patch("diffusion_model", torch.compile(patched.model.diffusion_model, backend="eager"))
    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    out = sample(compiled, 512, steps=3)
    assert len(tables) == 6 and all(torch.equal(a, b) for a, b in zip(tables[:3], tables[3:]))
    assert not torch.equal(tables[3], tables[5]) and torch.allclose(out, eager, rtol=1e-5, atol=1e-6)
    sample(compiled, 512, steps=6)  # settles guards unrelated to DyPE (the stand-in's requires_grad)
    assert len(tables) == 12 and not torch.equal(tables[6], tables[11])
    graphs = torch._dynamo.utils.counters["stats"]["unique_graphs"]
    sample(compiled, 512, steps=12)
    assert len(tables) == 24 and not torch.equal(tables[12], tables[23])
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] == graphs  # 12 new sigmas, no new graph


@pytest.mark.long  # Dynamo tracing: make test-long
def test_torch_compile_with_sega_and_proportional_attention_matches_eager(flux):
    """Under Dynamo SEGA's tables follow each call's latent and proportional attention scales every call's q,
    with the step of that call (a traced override would keep the step it was traced with: the run stops)."""
    import torch._dynamo

    patched = dype(flux, method="SEGA", proportional_attention=True)
    eager = sample(patched, 512, steps=3)
    compiled = patched.clone()
    compiled.add_object_patch("diffusion_model", torch.compile(patched.model.diffusion_model, backend="eager"))
    torch._dynamo.reset()
    out = sample(compiled, 512, steps=3)
    assert torch.allclose(out, eager, rtol=1e-5, atol=1e-6)
    assert not torch.allclose(out, sample(dype(flux, method="SEGA"), 512, steps=3), rtol=1e-5, atol=1e-6)
