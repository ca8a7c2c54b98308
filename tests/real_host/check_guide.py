"""The DyPE Guide node on the real ComfyUI: tiny FLUX.1 and Wan models built from ComfyUI's own classes, on the CPU.

Prints one JSON object: each check's name with ``true`` or an explanation. Every guided run records each
post-CFG call of the guide (the prediction it got and the one it returned) and checks it against
``dype_core.guide``: the correction at the weight of the call's sigma in the schedule the sampler passed.
"""

from __future__ import annotations

import json
import math

import host

host.load_pack()

import comfy.model_management  # noqa: E402
import comfy.sample  # noqa: E402
import comfy.samplers  # noqa: E402
import tiny_families  # noqa: E402
import tiny_flux  # noqa: E402
import torch  # noqa: E402
from comfyui_dype.dype_core import guide as core_guide  # noqa: E402
from comfyui_dype.nodes.dype_node import DyPE  # noqa: E402
from comfyui_dype.nodes.guide import POST_CFG, LowResGuide  # noqa: E402
from comfyui_dype.nodes.guide_node import DyPEGuide  # noqa: E402

RESULTS: dict[str, object] = {"comfyui": host.comfyui_version()}
#: What the checks measured (reported, not judged).
FIGURES: dict[str, object] = {}
BLOCK = core_guide.BlockMean(2)


check = host.checks(RESULTS)


def sample(model, latent, *, cfg=2.0, steps=3, sampler="euler", scheduler="simple", denoise=1.0, conds=None):
    positive, negative = conds or tiny_flux.conds(text=8, negative_text=8)
    noise = comfy.sample.prepare_noise(latent, 42)
    return comfy.sample.sample(model, noise, steps, cfg, sampler, scheduler, positive, negative, latent,
                               denoise=denoise, disable_pbar=True, seed=42)


def guided(model, guide, strength=1.0, projection="I-Max block mean"):
    return DyPEGuide.execute(model, {"samples": guide}, strength, projection).result[0]


def dype(model, **inputs):
    return DyPE.execute(model, **({"base_resolution": 256} | inputs)).result[0]


def recorded(model):
    """The guide's post-CFG calls ``(sigma, schedule, x0 in, x0 out)``, through a probe put in its place."""
    calls, functions = [], model.model_options[POST_CFG]
    (index,) = [i for i, fn in enumerate(functions) if isinstance(fn, LowResGuide)]
    guide = functions[index]

    def probe(args):
        out = guide(args)
        calls.append((args["sigma"].detach().max().item(),
                      args["model_options"]["transformer_options"]["sample_sigmas"].detach().cpu(),
                      args["denoised"].detach().clone(), out.detach().clone()))
        return out

    functions[index] = probe
    return calls


def require_corrections(calls, model, guide, shape, projection=BLOCK) -> int:
    """Every recorded call returned ``x0 + w (P(G) - P(x0))`` at the weight of its sigma in its schedule."""
    assert calls, "the guide's post-CFG function was never called"
    target = projection.low(model.model.process_latent_in(core_guide.resize(guide, shape)).float())
    for sigma, schedule, before, after in calls:
        position = float(core_guide.position(torch.tensor(sigma), schedule))
        weight = 0.5 * (1 + math.cos(math.pi * position / (schedule.numel() - 1)))
        expected = core_guide.guided(before, target, weight, projection)
        assert torch.allclose(after, expected, atol=1e-5), (sigma, (after - expected).abs().max().item())
    return len(calls)


FLUX = tiny_flux.patcher(tiny_flux.FLUX1)
LATENT = torch.zeros(1, 16, 64, 64)  # 512 px: 2x the base resolution the DyPE checks use
NATIVE = sample(FLUX, torch.zeros(1, 16, 32, 32))


@check("flux1: strength 0 samples bitwise like the host, alone and after DyPE")
def _():
    assert POST_CFG not in guided(FLUX, NATIVE, 0.0).model_options
    assert torch.equal(sample(guided(FLUX, NATIVE, 0.0), LATENT), sample(FLUX, LATENT))
    with_dype = dype(FLUX)
    assert torch.equal(sample(guided(with_dype, NATIVE, 0.0), LATENT), sample(with_dype, LATENT))


@check("flux1: a guided run pulls the low band toward the guide (stronger, closer), with and without DyPE / SEGA")
def _():
    target = BLOCK.low(core_guide.resize(NATIVE, LATENT.shape))
    for name, model in (("plain", FLUX), ("SEGA + PA", dype(FLUX, method="SEGA", proportional_attention=True))):
        distances = [float((BLOCK.low(sample(guided(model, NATIVE, s), LATENT, steps=6)) - target).norm())
                     for s in (0.0, 0.5, 1.0)]
        assert distances[2] < distances[1] < 0.9 * distances[0], (name, distances)
        if name == "plain":  # the tiny model's weights are small: DyPE moves its samples by ~1e-4 only
            FIGURES["low-band distance to the guide at strength 0 / 0.5 / 1"] = [round(d, 2) for d in distances]


@check("flux1: every sampler runs, and every post-CFG call is the correction at its sigma's weight")
def _():
    failed, checked = {}, 0
    for name in comfy.samplers.KSAMPLER_NAMES:
        try:
            model = guided(FLUX, NATIVE)
            calls = recorded(model)
            out = sample(model, LATENT, sampler=name, steps=3)
            assert torch.isfinite(out).all(), "not finite"
            checked += require_corrections(calls, FLUX, NATIVE, LATENT.shape)
        except Exception as error:  # noqa: BLE001 - collect every sampler's failure
            failed[name] = f"{type(error).__name__}: {str(error)[:200]}"
    assert not failed, failed
    FIGURES["samplers run / post-CFG calls checked"] = [len(comfy.samplers.KSAMPLER_NAMES), checked]


@check("flux1: every scheduler, and denoise 0.6 (the hires-fix pass), weight from the sampler's own schedule")
def _():
    FIGURES["schedulers"] = len(comfy.samplers.SCHEDULER_NAMES)
    for scheduler in comfy.samplers.SCHEDULER_NAMES:
        model = guided(FLUX, NATIVE)
        calls = recorded(model)
        sample(model, LATENT, scheduler=scheduler, steps=4)
        require_corrections(calls, FLUX, NATIVE, LATENT.shape)
    model = guided(FLUX, NATIVE)
    calls = recorded(model)
    start = core_guide.resize(NATIVE, LATENT.shape)
    sample(model, start, denoise=0.6, steps=5)
    require_corrections(calls, FLUX, NATIVE, LATENT.shape)
    schedule = calls[0][1]
    assert schedule.numel() == 6 and schedule[0] < 0.99 and calls[0][0] == schedule[0].item()


@check("flux1: HiFlow's Butterworth projection, a guide at another aspect, one guide per image of a batch")
def _():
    butterworth = core_guide.Butterworth()
    model = guided(FLUX, NATIVE, projection="HiFlow Butterworth")
    calls = recorded(model)
    sample(model, LATENT)
    require_corrections(calls, FLUX, NATIVE, LATENT.shape, butterworth)
    wide = torch.zeros(1, 16, 48, 80)
    model = guided(FLUX, NATIVE)
    calls = recorded(model)
    sample(model, wide)
    require_corrections(calls, FLUX, NATIVE, wide.shape)
    pair = torch.cat([NATIVE, -NATIVE])
    model = guided(FLUX, pair)
    calls = recorded(model)
    sample(model, torch.zeros(2, 16, 64, 64))
    require_corrections(calls, FLUX, pair, (2, 16, 64, 64))


@check("flux1: a guide of another latent space, NaN, all zeros and a mismatched batch get one clear message")
def _():
    expected = {
        "has 4 channels": torch.ones(1, 4, 32, 32),
        "NaN or infinite": torch.full((1, 16, 32, 32), float("nan")),
        "all zeros": torch.zeros(1, 16, 32, 32),
    }
    for message, bad in expected.items():
        try:
            guided(FLUX, bad)
        except ValueError as error:
            assert message in str(error), str(error)
        else:
            raise AssertionError(f"no error for {message}")
    try:
        sample(guided(FLUX, torch.cat([NATIVE, NATIVE])), torch.zeros(3, 16, 64, 64))
    except ValueError as error:
        assert "the guide holds 2 images and the latent being sampled 3" in str(error), str(error)
    else:
        raise AssertionError("no error for a mismatched batch")
    assert POST_CFG not in FLUX.model_options


@check("wan: a native-size clip guides a longer, larger video (resized in space and frames)")
def _():
    case = next(c for c in tiny_families.CASES if c.name == "Wan 14B-like")
    wan = case.model_patcher()
    small = case.latent((2, 2))
    big = torch.zeros(small.shape[0], small.shape[1], small.shape[2] + 2, small.shape[3] * 2, small.shape[4] * 2)

    def conds(latent):
        return case.conditioning(True, latent), case.conditioning(False, latent)

    clip = sample(wan, small, conds=conds(small), cfg=1.0)
    model = guided(wan, clip)
    calls = recorded(model)
    sample(model, big, conds=conds(big), cfg=1.0)
    require_corrections(calls, wan, clip, big.shape)
    assert torch.equal(sample(guided(wan, clip, 0.0), big, conds=conds(big), cfg=1.0),
                       sample(wan, big, conds=conds(big), cfg=1.0))


comfy.model_management.unload_all_models()
print(json.dumps(RESULTS | {"figures": FIGURES}))
