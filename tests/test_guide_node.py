"""The DyPE Guide node on the stand-in host's real sampling path (FLUX.1, Wan): strength 0 is the model bitwise;
every post-CFG call gets I-Max's correction at the weight of its sigma in the sampler's own schedule; the guide is
resized, taken into the model's latent space and checked; DyPE's readout and the Plan node show its weights; and
nothing leaks into the model or the guide handed in."""

import math

import pytest
import torch
from comfy.model_base import build_flux_patcher
from comfy.sample import sample as host_sample
from comfy_api.latest._standin import run_node
from comfyui_dype.dype_core import guide as core_guide
from comfyui_dype.nodes import readout
from comfyui_dype.nodes.guide import POST_CFG, GuideHostMismatch, LowResGuide
from comfyui_dype.nodes.guide_node import DyPEGuide
from comfyui_dype.nodes.plan_node import DyPEPlan
from dype_helpers import BASE, dype
from families_b import SPECS

BLOCK = core_guide.BlockMean(2)


@pytest.fixture(scope="module")
def flux():
    return build_flux_patcher("flux", seed=0)


def conds(model, seed: int = 1) -> list:
    config = model.model.diffusion_model.params
    g = torch.Generator().manual_seed(seed)
    return [[torch.randn(1, 8, config.context_in_dim, generator=g),
             {"pooled_output": torch.randn(1, 16, generator=g), "guidance": 3.5}]]


def run(model, latent: torch.Tensor, steps: int = 3, cfg: float = 2.0, sampler: str = "euler",
        denoise: float = 1.0) -> torch.Tensor:
    noise = torch.randn(latent.shape, generator=torch.Generator().manual_seed(42))
    return host_sample(model, noise, steps, cfg, sampler, "simple", conds(model), conds(model, 2), latent,
                       denoise=denoise, disable_pbar=True, seed=42)


def guided(model, guide: torch.Tensor, strength: float = 1.0, projection: str = "I-Max block mean"):
    return run_node(DyPEGuide, model=model, guide={"samples": guide}, strength=strength, projection=projection)[0]


def native_sample(model, px: int = BASE // 2) -> torch.Tensor:
    return run(model, torch.zeros(1, 16, px // 8, px // 8))


def record_post_cfg(model) -> list[tuple[float, torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Put a probe around the guide: ``(sigma, schedule, denoised in, denoised out)`` of every post-CFG call."""
    calls, functions = [], model.model_options[POST_CFG]
    (index,) = [i for i, fn in enumerate(functions) if isinstance(fn, LowResGuide)]
    guide = functions[index]

    def probe(args):
        out = guide(args)
        calls.append((float(args["sigma"].max()), args["model_options"]["transformer_options"]["sample_sigmas"],
                      args["denoised"].clone(), out.clone()))
        return out

    functions[index] = probe
    return calls


def test_strength_zero_samples_bitwise_like_the_model_and_installs_nothing(flux):
    guide = native_sample(flux)
    off = guided(flux, guide, strength=0.0)
    assert POST_CFG not in off.model_options
    latent = torch.zeros(1, 16, BASE // 4, BASE // 4)
    assert torch.equal(run(off, latent), run(flux, latent))
    on = guided(flux, guide)
    assert torch.equal(run(guided(on, guide, strength=0.0), latent), run(flux, latent))


@pytest.mark.parametrize("sampler, denoise", [("euler", 1.0), ("heun", 1.0), ("euler", 0.6)])
def test_every_call_gets_the_correction_at_the_weight_of_its_sigma_in_the_sampler_s_schedule(flux, sampler, denoise):
    """Each post-CFG call returns ``x0 + w (P(G) - P(x0))``, ``G`` the guide upscaled and taken into the model's
    latent space, ``w`` I-Max's weight where the call's sigma is in the schedule the sampler runs (a truncated one
    for denoise < 1, Heun's second evaluations between steps)."""
    guide = native_sample(flux)
    model = guided(flux, guide)
    calls = record_post_cfg(model)
    latent = torch.zeros(1, 16, BASE // 4, BASE // 4)
    run(model, latent, steps=4, sampler=sampler, denoise=denoise)
    target = flux.model.process_latent_in(core_guide.resize(guide, latent.shape))
    schedule = calls[0][1]
    assert schedule.numel() == 5 and (float(schedule[0]) < 0.99) == (denoise < 1)  # denoise: a longer one's tail
    assert len(calls) == (4 if sampler == "euler" else 7)
    for sigma, sigmas, before, after in calls:
        assert torch.equal(sigmas, schedule)
        steps = schedule.numel() - 1
        position = float(core_guide.position(torch.tensor(sigma), schedule))
        weight = 0.5 * (1 + math.cos(math.pi * position / steps))
        assert torch.allclose(after, before + weight * BLOCK.add(torch.zeros_like(before),
                                                                 BLOCK.low(target) - BLOCK.low(before), 1.0), atol=1e-5)
    assert calls[0][0] == float(schedule[0]) and math.isclose(
        float(core_guide.weight(torch.tensor(calls[0][0]), schedule, 1.0)), 1.0)


def test_a_guided_run_pulls_the_image_s_low_band_toward_the_guide(flux):
    """The sample's 2x2 block means end closer to the guide's the stronger the guide (the stand-in's random
    model is no denoiser, so its late, unguided steps take part of the pull back)."""
    guide = native_sample(flux)
    latent = torch.zeros(1, 16, BASE // 4, BASE // 4)
    target = BLOCK.low(core_guide.resize(guide, latent.shape))
    for model in (flux, dype(flux, method="SEGA", proportional_attention=True)):
        distances = [float((BLOCK.low(run(guided(model, guide, strength), latent, steps=6)) - target).detach().norm())
                     for strength in (0.0, 0.5, 1.0)]
        assert distances[2] < distances[1] < 0.9 * distances[0]


def test_the_guide_and_dype_compose_in_either_order(flux):
    guide = native_sample(flux)
    latent = torch.zeros(1, 16, BASE // 4, BASE // 4)
    first = run(guided(dype(flux), guide), latent)
    second = run(dype(guided(flux, guide)), latent)
    assert torch.equal(first, second)
    assert not torch.equal(first, run(dype(flux), latent))


def test_the_butterworth_projection_acts_too(flux):
    guide = native_sample(flux)
    latent = torch.zeros(1, 16, BASE // 4, BASE // 4)
    model = guided(flux, guide, projection="HiFlow Butterworth")
    calls = record_post_cfg(model)
    run(model, latent)
    butterworth = core_guide.Butterworth()
    target = butterworth.low(flux.model.process_latent_in(core_guide.resize(guide, latent.shape)))
    sigma, schedule, before, after = calls[0]
    assert torch.allclose(after, before + (target - butterworth.low(before)), atol=1e-5)


def test_one_guide_for_a_batch_or_one_per_image(flux):
    guides = torch.cat([native_sample(flux), native_sample(flux) * -1])
    latent = torch.zeros(2, 16, BASE // 4, BASE // 4)
    both = run(guided(flux, guides), latent)
    first = run(guided(flux, guides[:1]), latent)
    assert torch.equal(both[0], first[0]) and not torch.equal(both[1], first[1])
    with pytest.raises(ValueError, match="the guide holds 2 images and the latent being sampled 3"):
        run(guided(flux, guides), torch.zeros(3, 16, BASE // 4, BASE // 4))


def test_applying_the_guide_again_replaces_it_and_the_model_handed_in_is_untouched(flux):
    guide = native_sample(flux)
    kept = guide.clone()
    before_options = dict(flux.model_options)
    once = guided(flux, guide, 0.5)
    twice = guided(once, guide * 2, 1.0)
    assert [fn.strength for fn in twice.model_options[POST_CFG]] == [1.0]
    assert len(twice.get_all_wrappers("outer_sample")) == 1
    assert [fn.strength for fn in once.model_options[POST_CFG]] == [0.5]
    run(twice, torch.zeros(1, 16, BASE // 4, BASE // 4))
    assert flux.model_options == before_options and POST_CFG not in flux.model_options
    assert torch.equal(guide, kept)


@pytest.mark.parametrize("samples, message", [
    (torch.zeros(1, 16, 8, 8), "all zeros, an empty latent rather than a sample"),
    (torch.full((1, 16, 8, 8), float("nan")), "NaN or infinite"),
    (torch.ones(1, 4, 8, 8), "has 4 channels but this model's latent space has 16: it comes from another"),
    (torch.ones(1, 16, 0, 8), "is empty"),
    (torch.ones(16, 8, 8), r"must be a LATENT holding an image \[batch, channels, height, width\]"),
    ("latent", "must be a LATENT holding an image"),
])
def test_a_bad_guide_gets_one_clear_message(flux, samples, message):
    with pytest.raises(ValueError, match=message):
        guided(flux, samples)


def test_no_guide_and_a_bad_strength_get_a_clear_message(flux):
    with pytest.raises(ValueError, match="connect a LATENT as the guide"):
        DyPEGuide.execute(flux, guide={})
    with pytest.raises(ValueError, match="strength must be a number from 0 to 1, got 2"):
        DyPEGuide.execute(flux, guide={"samples": torch.ones(1, 16, 8, 8)}, strength=2.0)


def test_an_image_guide_for_a_video_model_is_refused_when_sampling_starts():
    spec = next(s for s in SPECS if s.name == "Wan")
    model = spec.build()
    patched = guided(model, torch.ones(1, 16, 4, 4))
    positive, negative = spec.conds(refs=False)
    noise = torch.randn(1, 16, 3, 4, 4, generator=torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="is an image latent but this sampler samples a video latent"):
        host_sample(patched, noise, 2, 2.0, "euler", "simple", positive, negative, torch.zeros_like(noise),
                    disable_pbar=True, seed=0)


def test_a_video_guide_is_resized_in_space_and_frames():
    spec = next(s for s in SPECS if s.name == "Wan")
    model = spec.build()
    clip = torch.randn(1, 16, 2, 4, 4, generator=torch.Generator().manual_seed(3))
    patched = guided(model, clip)
    calls = record_post_cfg(patched)
    positive, negative = spec.conds(refs=False)
    latent = torch.zeros(1, 16, 3, 8, 8)
    noise = torch.randn(latent.shape, generator=torch.Generator().manual_seed(0))
    host_sample(patched, noise, 2, 2.0, "euler", "simple", positive, negative, latent, disable_pbar=True, seed=0)
    target = model.model.process_latent_in(core_guide.resize(clip, latent.shape))
    _, _, before, after = calls[0]
    assert after.shape == latent.shape
    assert torch.allclose(BLOCK.low(after), BLOCK.low(target), atol=1e-5)  # weight 1 at the first step


def test_outside_a_prepared_run_the_post_cfg_function_stops_with_a_host_mismatch(flux):
    guide = guided(flux, native_sample(flux)).model_options[POST_CFG][0]
    with pytest.raises(GuideHostMismatch, match="outside the sampling run the guide prepared"):
        guide({"denoised": torch.zeros(1, 16, 4, 4), "sigma": torch.ones(1), "model_options": {}})


def test_dype_s_readout_and_the_plan_node_show_the_guide_s_weights(flux, monkeypatch):
    sent = []
    monkeypatch.setattr(readout, "report", lambda plan, node_id, sizes=(): sent.append(plan))
    monkeypatch.setattr("comfyui_dype.nodes.patch.report", lambda plan, node_id, sizes=(): sent.append(plan))
    model = guided(dype(flux), native_sample(flux), 0.8)
    run(model, torch.zeros(1, 16, BASE // 4, BASE // 4), steps=4)
    (plan,) = sent
    expected = [0.8 * 0.5 * (1 + math.cos(math.pi * i / 4)) for i in range(4)]
    assert plan.guide == pytest.approx(expected, abs=1e-6)
    assert readout.readout(plan, "7")["guide"] == pytest.approx(expected, abs=1e-4)
    assert "guide weight 0.80 -> 0.12" in plan.summary()
    _, table = run_node(DyPEPlan, model=model, width=2 * BASE, height=2 * BASE, steps=4, scheduler="simple")
    lines = table.splitlines()
    assert " guide " in lines[1] and lines[2].split()[4] == "0.800" and lines[5].split()[4] == "0.117"
    _, plain = run_node(DyPEPlan, model=dype(flux), width=2 * BASE, height=2 * BASE, steps=4, scheduler="simple")
    assert "guide" not in plain
