"""SEGA and proportional attention through the node on the stand-in FLUX.1, Flux.2 and Chroma: the tables a
sampling run builds are ``dype_core``'s for the latent each model call received, the attention override
scales q by the factor and chains with an override installed before it, and nothing leaks into the model."""

import math

import pytest
import torch
from comfy.model_base import build_flux_patcher
from comfy.patcher_extension import WrappersMP
from comfy.sample import sample as host_sample
from comfyui_dype.dype_core import FLUX1, DyPESettings, build_table, sega
from comfyui_dype.dype_core import frequencies as freqs
from comfyui_dype.nodes.attention import OVERRIDE, ProportionalAttention
from dype_helpers import BASE, dype, record_tables

CHANNELS = {"flux": 16, "flux2": 128, "chroma": 16}
LATENT_PX = {"flux": 8, "flux2": 16, "chroma": 8}


@pytest.fixture(scope="module")
def models():
    return {kind: build_flux_patcher(kind, seed=0) for kind in CHANNELS}


def run(model, kind: str, px: int, cfg: float = 2.0, steps: int = 2) -> torch.Tensor:
    config = model.model.diffusion_model.params
    g = torch.Generator().manual_seed(1)

    def entry(length):
        return [[torch.randn(1, length, config.context_in_dim, generator=g),
                 {"pooled_output": torch.randn(1, 16, generator=g), "guidance": 3.5}]]

    latent = torch.zeros(1, CHANNELS[kind], px // LATENT_PX[kind], px // LATENT_PX[kind])
    noise = torch.randn(latent.shape, generator=torch.Generator().manual_seed(42))
    return host_sample(model, noise, steps, cfg, "euler", "simple", entry(8), entry(8), latent,
                       disable_pbar=True, seed=42)


def record_inputs(model) -> list:
    """``(x, sigma)`` of every diffusion-model call of ``model``, in call order."""
    calls = []

    def probe(executor, *args, **kwargs):
        calls.append((args[0].clone(), float(args[-1]["sigmas"].max())))
        return executor(*args, **kwargs)

    model.add_wrapper_with_key(WrappersMP.DIFFUSION_MODEL, "probe", probe)
    return calls


@pytest.mark.parametrize("kind", list(CHANNELS))
def test_at_the_base_sega_and_proportional_attention_sample_bitwise_like_the_model(models, kind):
    model = models[kind]
    patched = dype(model, method="SEGA", proportional_attention=True)
    for px in (BASE, BASE // 2):
        assert torch.equal(run(patched, kind, px), run(model, kind, px))


def test_sega_tables_on_the_sampling_path_follow_each_call_s_latent(models):
    """Every table FLUX.1 asks for above the base is ``dype_core``'s SEGA table for the spectrum of the latent
    that model call received (cond and uncond batched: one latent, one table), and the magnitudes differ
    between the first step (noise) and the last (structure)."""
    model = models["flux"]
    patched = dype(model, method="SEGA")
    tables, inputs = record_tables(patched), record_inputs(patched)
    run(patched, "flux", 2 * BASE, steps=3)
    assert len(tables) == len(inputs) == 3
    layout = FLUX1.with_base_resolution(BASE)
    scales = layout.axis_scales(32, 32)
    gains = []
    for (ids, table), (x, sigma) in zip(tables, inputs):
        spectrum = sega.spectrum(x, layout.patch)
        frequencies = freqs.dype(layout, DyPESettings(method="sega", dynamic=False), scales, sigma, spectrum=spectrum)
        text = ids.shape[1] - 32 * 32
        assert torch.equal(table, build_table(ids, layout, frequencies, image_tokens=slice(text, None)))
        gains.append(frequencies.gains[1])
    assert not torch.allclose(gains[0], gains[-1])


def test_proportional_attention_scales_q_by_the_factor_and_calls_the_override_before_it(models):
    """An override another node installed stays in charge: DyPE's calls it with q scaled by
    ``sqrt(log N / log N_train)`` for the joint sequence (text and image) above the base, and untouched at it."""
    model = models["flux"].clone()
    seen = []

    def earlier(func, q, k, v, *args, **kwargs):
        seen.append((q.clone(), k.shape[-2]))
        return func(q, k, v, *args, **kwargs)

    earlier.memory_efficient = True
    model.model_options.setdefault("transformer_options", {})[OVERRIDE] = earlier
    plain = dype(model, method="PI (static)")
    scaled = dype(model, method="PI (static)", proportional_attention=True)
    override = scaled.model_options["transformer_options"][OVERRIDE]
    assert isinstance(override, ProportionalAttention) and override.previous is earlier and override.memory_efficient
    assert plain.model_options["transformer_options"][OVERRIDE] is earlier
    run(plain, "flux", 2 * BASE, steps=1)
    unscaled = list(seen)
    seen.clear()
    run(scaled, "flux", 2 * BASE, steps=1)
    assert len(seen) == len(unscaled) > 0
    (q, keys), (q0, _) = seen[0], unscaled[0]  # the first block's: later ones see blocks that PA changed
    image, base = 32 * 32, 16 * 16
    factor = math.sqrt(math.log(keys) / math.log(keys - image + base))
    assert factor > 1.1 and torch.allclose(q, q0 * factor, rtol=1e-5, atol=1e-6)
    seen.clear()
    run(scaled, "flux", BASE, steps=1)
    run(plain, "flux", BASE, steps=1)
    half = len(seen) // 2
    assert all(torch.equal(a[0], b[0]) for a, b in zip(seen[:half], seen[half:]))


def test_applying_the_node_again_replaces_its_override_and_the_model_keeps_none(models):
    model = models["flux"]
    once = dype(model, proportional_attention=True)
    twice = dype(once, proportional_attention=True)
    assert twice.model_options["transformer_options"][OVERRIDE].previous is None
    assert OVERRIDE not in dype(once, proportional_attention=False).model_options["transformer_options"]
    assert OVERRIDE not in model.model_options.get("transformer_options", {})
    assert ProportionalAttention().memory_efficient
    assert not ProportionalAttention(previous=lambda func, *a, **k: func(*a, **k)).memory_efficient
