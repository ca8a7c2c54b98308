"""The log line and the readout say what the run's model calls really received (stand-in host).

A run is reported once sampling has ended, from the calls DyPE's model-call wrapper saw: their latent's size
and their sigmas, not the noise latent and the sampler's schedule. So a run that is a bitwise no-op (Wan at 22
latent frames with RIFLEx, time_axis or the method off on a long clip) says inactive, a run whose calls all see
the base size (context windows, area conditioning) reports that size, and the plan's steps are the sigmas the
calls received (a second-order or a custom sampler's too). A run that fails reports nothing.
"""

import logging
import math
import sys
import types

import pytest
import torch
from comfy.model_base import build_flux_patcher
from comfy.patcher_extension import WrappersMP
from comfy.sample import sample_custom
from comfy.samplers import KSAMPLER, KSampler
from comfyui_dype.dype_core import TableCache
from comfyui_dype.nodes import patch as patch_module
from comfyui_dype.nodes.context import RUN, Run
from comfyui_dype.nodes.patch import ModelCallWrapper, patch_of
from comfyui_dype.nodes.readout import EVENT, sizes_text
from dype_helpers import BASE, dype_node
from test_families_b import run as run_video
from test_node_flux import conds
from test_node_flux import sample as run_flux
from test_time_axis import GRID, video

#: A Wan window at the trained clip length (latent frames).
WINDOW = 21


class FakePromptServer:
    """The two members of ``server.PromptServer.instance`` the readout uses."""

    def __init__(self):
        self.client_id, self.sent = "tab", []

    def send_sync(self, event, data, sid=None):
        self.sent.append((event, data, sid))


@pytest.fixture
def server(monkeypatch):
    instance = FakePromptServer()
    monkeypatch.setitem(sys.modules, "server", types.SimpleNamespace(PromptServer=types.SimpleNamespace(
        instance=instance)))
    return instance


@pytest.fixture(scope="module")
def flux():
    return build_flux_patcher("flux", seed=0)


def reported(caplog, server) -> tuple[list[str], list[dict]]:
    """The run's DyPE log lines and readouts."""
    lines = [r.getMessage() for r in caplog.records if r.name == "DyPE"]
    readouts = [data for event, data, _ in server.sent if event == EVENT]
    return lines, readouts


def one_report(caplog, server) -> tuple[str, dict]:
    lines, readouts = reported(caplog, server)
    assert len(lines) == 1 and len(readouts) == 1, (lines, readouts)
    return lines[0], readouts[0]


def wan(frames: int, **inputs):
    """Wan at ``frames`` latent frames, DyPE at a spatial base of ``GRID`` (so that only time can scale)."""
    spec, model = video("Wan", frames)
    patched = dype_node(model, base_resolution=GRID[0] * spec.px, **inputs)[0]
    return spec, model, patched


# --- bitwise no-ops are reported inactive -------------------------------------------------------------------------


def test_wan_at_22_frames_with_riflex_is_reported_inactive(server, caplog):
    """RIFLEx's intrinsic pair has a period of 22.06 latent frames: at 22 it already spans the clip, so no pair
    changes and the run is the host's, bitwise."""
    spec, model, patched = wan(22, time_axis="RIFLEx")
    with caplog.at_level(logging.INFO, logger="DyPE"):
        out = run_video(patched, spec, GRID)
    assert torch.equal(out, run_video(model, spec, GRID))
    line, data = one_report(caplog, server)
    assert "22 latent frames (trained 21): time untouched (x1.05, but RIFLEx changes no time pair" in line
    assert "inactive" in line and "k(t)" not in line
    assert data["active"] is False and data["time_active"] is False and data["frames"] == 22
    assert data["time_changed"] == [0, 0]


@pytest.mark.parametrize("inputs,untouched", [
    ({"time_axis": "off"}, "26 latent frames (trained 21): time untouched (time_axis off)"),
    ({"method": "off"}, "26 latent frames (trained 21): time untouched (method off)"),
], ids=["time_axis off", "method off"])
def test_a_long_clip_kept_plain_in_time_is_reported_inactive_and_claims_no_riflex(server, caplog, inputs, untouched):
    spec, model, patched = wan(26, **inputs)
    with caplog.at_level(logging.INFO, logger="DyPE"):
        out = run_video(patched, spec, GRID)
    assert torch.equal(out, run_video(model, spec, GRID))
    line, data = one_report(caplog, server)
    assert untouched in line and "inactive" in line
    assert "RIFLEx" not in line and "RIFLEx" not in str(data)
    assert data["active"] is False and data["time_active"] is False and data["time_method"] == "off"


def test_a_longer_clip_that_riflex_changes_is_reported_active(server, caplog):
    spec, _, patched = wan(26, time_axis="RIFLEx")
    with caplog.at_level(logging.INFO, logger="DyPE"):
        run_video(patched, spec, GRID)
    line, data = one_report(caplog, server)
    assert "26 latent frames (trained 21): time x1.24, RIFLEx" in line
    assert data["active"] is True and data["time_active"] is True and data["time_method"] == "RIFLEx"


# --- the calls' size, not the noise latent's --------------------------------------------------------------------


def context_windows(executor, model, conds, x_in, timestep, model_options):
    """Context windows as ComfyUI's context handler runs them: the cond batch on overlapping windows of
    ``WINDOW`` latent frames, the overlaps averaged."""
    frames = x_in.shape[2]
    out = [torch.zeros_like(x_in) for _ in conds]
    counts = torch.zeros_like(x_in)
    for start in sorted({0, frames - WINDOW}):
        window = slice(start, start + WINDOW)
        for total, part in zip(out, executor(model, conds, x_in[:, :, window], timestep, model_options)):
            total[:, :, window] += part
        counts[:, :, window] += 1
    return [total / counts for total in out]


def test_context_windows_at_the_trained_length_report_the_window_not_the_clip(server, caplog):
    """26 latent frames sampled in windows of 21: every model call sees 21 frames, so nothing changes, and the
    report says so (the clip's 26 frames would have claimed RIFLEx at x1.24)."""
    spec, model, patched = wan(26, time_axis="RIFLEx")
    model = model.clone()
    for target in (patched, model):
        target.add_wrapper_with_key(WrappersMP.CALC_COND_BATCH, "windows", context_windows)
    with caplog.at_level(logging.INFO, logger="DyPE"):
        out = run_video(patched, spec, GRID, cfg=1.0)
    assert torch.equal(out, run_video(model, spec, GRID, cfg=1.0))
    line, data = one_report(caplog, server)
    assert "21 latent frames (trained 21): time untouched (at or below the trained length)" in line
    assert "inactive" in line and "model calls at" not in line
    assert data["active"] is False and data["frames"] == 21 and data["sizes"] == [[21, *GRID]]
    assert len(data["t"]) == 2  # two steps, each run on two windows


def tiles(side: int):
    """A model function wrapper that runs every model call on ``side x side`` latent tiles, as area conditioning
    over a grid of areas does (the host crops the latent to each area before the model call)."""

    def wrapper(apply_model, args):
        x = args["input"]
        out = torch.zeros_like(x)
        for top in range(0, x.shape[-2], side):
            for left in range(0, x.shape[-1], side):
                area = (..., slice(top, top + side), slice(left, left + side))
                out[area] = apply_model(x[area], args["timestep"], **args["c"])
        return out

    return wrapper


def test_area_calls_at_the_base_size_report_the_area_not_the_noise_latent(flux, server, caplog):
    """A 512 px latent (32x32 tokens, 2x the base) whose every model call sees a 256 px area (16x16 tokens)."""
    patched = dype_node(flux, base_resolution=BASE)[0]
    plain = flux.clone()
    for target in (patched, plain):
        target.set_model_unet_function_wrapper(tiles(BASE // 8))
    with caplog.at_level(logging.INFO, logger="DyPE"):
        out = run_flux(patched, "flux", 512, cfg=1.0)
    assert torch.equal(out, run_flux(plain, "flux", 512, cfg=1.0))
    line, data = one_report(caplog, server)
    assert line.startswith("DyPE: FLUX.1 256x256 px -> 16x16 tokens (base 16x16), scale width 1 height 1")
    assert "inactive, at or below the base resolution" in line
    assert data["active"] is False and data["grid"] == [16, 16] and data["scales"] == [1.0, 1.0]
    assert (data["width"], data["height"]) == (256, 256) and data["sizes"] == [[1, 16, 16]]


def full_and_area(side: int):
    """Every model call on the whole latent and once more on its top-left ``side x side`` area (an area cond)."""

    def wrapper(apply_model, args):
        x = args["input"]
        out = apply_model(x, args["timestep"], **args["c"])
        area = (..., slice(0, side), slice(0, side))
        out[area] = (out[area] + apply_model(x[area], args["timestep"], **args["c"])) / 2
        return out

    return wrapper


def test_calls_at_two_sizes_are_named_and_the_plan_is_the_larger_s(flux, server, caplog):
    patched = dype_node(flux, base_resolution=BASE)[0]
    patched.set_model_unet_function_wrapper(full_and_area(BASE // 8))
    with caplog.at_level(logging.INFO, logger="DyPE"):
        run_flux(patched, "flux", 512, cfg=1.0, steps=3)
    line, data = one_report(caplog, server)
    assert line.startswith("DyPE: FLUX.1 512x512 px -> 32x32 tokens (base 16x16), scale width 2 height 2")
    assert ", 3 steps:" in line and line.endswith("; model calls at 2 sizes: 32x32 and 16x16 tokens")
    assert data["active"] is True and data["sizes"] == [[1, 32, 32], [1, 16, 16]]
    assert data["summary"] == line.removeprefix("DyPE: ")


# --- the calls' sigmas, not the sampler's schedule --------------------------------------------------------------


def probe_calls(model) -> list[float]:
    """The sigma of every model call, in call order."""
    seen = []
    model.add_wrapper_with_key(WrappersMP.DIFFUSION_MODEL, "probe",
                               lambda ex, *a, **k: seen.append(float(a[-1]["sigmas"].max())) or ex(*a, **k))
    return seen


@pytest.fixture
def spied(monkeypatch):
    """``(plans, calls)``: every reported plan with how many model calls ``calls`` had recorded by then."""
    made, calls = [], []
    report = patch_module.report

    def spy(plan, node_id, sizes=()):
        made.append((plan, len(calls)))
        report(plan, node_id, sizes=sizes)

    monkeypatch.setattr(patch_module, "report", spy)
    return made, calls


def test_heun_s_two_calls_a_step_give_the_schedule_s_steps(flux, spied, server):
    made, _ = spied
    patched = dype_node(flux, base_resolution=BASE)[0]
    calls = probe_calls(patched)
    sigmas = KSampler(patched, 4, "cpu", scheduler="simple").sigmas
    run_flux(patched, "flux", 512, cfg=2.0, steps=4, sampler="heun", negative_text=5)  # cond, uncond apart
    (result, _), = made
    assert len(calls) == 2 * (2 * 4 - 1)  # heun: 2 evaluations a step but the last, each 2 forwards
    assert [s.sigma for s in result.steps] == sigmas[:-1].tolist()
    data = server.sent[-1][1]
    assert data["grid"] == [32, 32] and data["t"] == [round(patch_of(patched).family.time(s), 4)
                                                        for s in sigmas[:-1].tolist()]


def midpoint(model, x, sigmas, extra_args=None, callback=None, disable=None):
    """A second-order sampler that evaluates the model at each step's sigma and at a sigma between it and the
    next (as dpm_2 does), so its calls see sigmas that the schedule does not hold."""
    s_in = x.new_ones([x.shape[0]])
    for i in range(len(sigmas) - 1):
        sigma, after = sigmas[i], sigmas[i + 1]
        d = (x - model(x, sigma * s_in, **(extra_args or {}))) / sigma
        if after == 0:
            x = x + d * (after - sigma)
            continue
        middle = sigma.log().lerp(after.log(), 0.5).exp()
        x_mid = x + d * (middle - sigma)
        d_mid = (x_mid - model(x_mid, middle * s_in, **(extra_args or {}))) / middle
        x = x + d_mid * (after - sigma)
    return x


def test_the_plan_s_steps_are_the_sigmas_the_calls_received(flux, spied, server, caplog):
    made, _ = spied
    patched = dype_node(flux, base_resolution=BASE)[0]
    calls = probe_calls(patched)
    sigmas = torch.tensor([1.0, 0.75, 0.5, 0.25, 0.0])
    positive, negative = conds(patched)
    latent = torch.zeros(1, 16, 64, 64)
    noise = torch.randn(latent.shape, generator=torch.Generator().manual_seed(3))
    with caplog.at_level(logging.INFO, logger="DyPE"):
        sample_custom(patched, noise, 1.0, KSAMPLER(midpoint), sigmas, positive, negative, latent, disable_pbar=True)
    (result, reported_after), = made
    middles = [math.sqrt(a * b) for a, b in ((1.0, 0.75), (0.75, 0.5), (0.5, 0.25))]
    expected = [1.0, middles[0], 0.75, middles[1], 0.5, middles[2], 0.25]
    assert calls == pytest.approx(expected, rel=1e-6)
    assert [s.sigma for s in result.steps] == calls  # every call's own sigma, as it arrived
    assert result.grid == (32, 32) and result.active
    line, data = one_report(caplog, server)
    assert ", 7 steps:" in line and len(data["t"]) == len(data["kappa"]) == 7


def test_the_report_comes_after_the_last_model_call(flux, spied):
    made, calls = spied
    patched = dype_node(flux, base_resolution=BASE)[0]
    patched.add_wrapper_with_key(WrappersMP.DIFFUSION_MODEL, "count",
                                 lambda ex, *a, **k: calls.append(1) or ex(*a, **k))
    run_flux(patched, "flux", 512, cfg=1.0, steps=3)
    assert [after for _, after in made] == [3]


def test_a_shift_so_high_that_every_sigma_is_1_keeps_every_step(flux, server, caplog):
    """At mu 20 the four steps' float sigmas are all 1: the calls at one sigma in a row are as many steps as the
    schedule holds, so the cause is the shift, not too few steps."""
    patched = dype_node(flux, base_resolution=BASE, time_shift="custom", mu=20.0)[0]
    with caplog.at_level(logging.INFO, logger="DyPE"):
        run_flux(patched, "flux", 512, cfg=2.0, steps=4, negative_text=5)
    line, data = one_report(caplog, server)
    assert ", 4 steps:" in line and "sigma is still 1 at the last step" in line and "use more steps" not in line
    assert data["degenerate"] is True and data["degenerate_cause"] in line
    assert data["degenerate_cause"].startswith("degenerate schedule: sigma is still 1")


# --- runs that fail or make no call -----------------------------------------------------------------------------


def test_a_run_that_fails_mid_way_reports_nothing(flux, server, caplog):
    patched = dype_node(flux, base_resolution=BASE)[0]
    calls = []

    def fail_at_second(apply_model, args):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("stopped")
        return apply_model(args["input"], args["timestep"], **args["c"])

    patched.set_model_unet_function_wrapper(fail_at_second)
    with caplog.at_level(logging.INFO, logger="DyPE"), pytest.raises(RuntimeError, match="stopped"):
        run_flux(patched, "flux", 512, cfg=1.0, steps=3)
    assert reported(caplog, server) == ([], [])


def test_a_run_whose_calls_were_all_skipped_says_so_and_sends_no_readout(flux, server, caplog):
    patched = dype_node(flux, base_resolution=BASE)[0]
    patched.set_model_unet_function_wrapper(lambda apply_model, args: torch.zeros_like(args["input"]))
    with caplog.at_level(logging.INFO, logger="DyPE"):
        run_flux(patched, "flux", 512, cfg=1.0, steps=2)
    lines, readouts = reported(caplog, server)
    assert readouts == [] and len(lines) == 1 and "no model call reached DyPE in this sampling run" in lines[0]


def test_recording_a_call_reads_nothing_back_from_the_device(flux):
    """A call at the base size is recorded with its sigma left on the device (read back once, after the run): a
    sigma on the meta device, which raises on any read back, goes through."""

    class Executor:
        class_obj = flux.model.diffusion_model

        def __call__(self, *args, **kwargs):
            return "out"

    patch = patch_of(dype_node(flux, base_resolution=BASE)[0])
    sigma = torch.full((2,), 0.5, device="meta")
    run = Run(cache=TableCache())
    token = RUN.set(run)
    try:
        out = ModelCallWrapper(patch)(Executor(), torch.zeros(2, 16, 32, 32), sigma, None,
                                      transformer_options={"sigmas": sigma})
    finally:
        RUN.reset(token)
    (seen,) = run.calls
    assert out == "out" and (seen.frames, seen.grid, seen.pixels) == (1, (16, 16), (256, 256))
    assert seen.sigma.device.type == "meta" and seen.sigma.shape == ()


def test_the_sizes_text_is_short(flux):
    patch = patch_of(dype_node(flux, base_resolution=BASE)[0])
    image = patch.run_plan((512, 512), torch.tensor([1.0, 0.0]), flux.get_model_object("model_sampling"))[1]
    assert sizes_text(image, [(1, 32, 32)]) == ""
    assert sizes_text(image, [(1, 32, 16), (1, 16, 16)]) == "; model calls at 2 sizes: 16x32 and 16x16 tokens"
    many = [(1, n, n) for n in (32, 24, 16, 8, 4)]
    assert sizes_text(image, many) == "; model calls at 5 sizes: 32x32, 24x24, 16x16 and 2 more tokens"
    _, _, patched = wan(26)
    sampling = patched.get_model_object("model_sampling")
    clip = patch_of(patched).run_plan((56, 56), torch.tensor([1.0, 0.0]), sampling, 26)[1]
    expected = "; model calls at 2 sizes: 21 frames of 4x4 and 5 frames of 4x4 tokens"
    assert sizes_text(clip, [(21, 4, 4), (5, 4, 4)]) == expected


# --- SEGA's magnitudes and proportional attention ------------------------------------------------------------------


def test_sega_s_readout_shows_the_magnitudes_the_calls_latents_gave(flux, server, caplog):
    """The readout's magnitudes per step are SEGA's for the spectrum of the latent each step's first call received
    (recomputed here from the recorded inputs), and the line names their range and proportional attention."""
    from comfyui_dype.dype_core import FLUX1, sega

    patched = dype_node(flux, base_resolution=BASE, method="SEGA", proportional_attention=True)[0]
    inputs = []
    patched.add_wrapper_with_key(WrappersMP.DIFFUSION_MODEL, "probe",
                                 lambda ex, *a, **k: inputs.append(a[0].clone()) or ex(*a, **k))
    with caplog.at_level(logging.INFO, logger="DyPE"):
        run_flux(patched, "flux", 512, cfg=2.0, steps=3)
    line, data = one_report(caplog, server)
    layout = FLUX1.with_base_resolution(BASE)
    expected = []
    for x in inputs:
        spectrum = sega.spectrum(x, layout.patch)
        gains = [sega.pair_gains(e, 28, sega.reference_magnitude(2.0), spectrum.spread) for e in (spectrum.rows,
                                                                                                 spectrum.cols)]
        expected.append([[round(g.min().item(), 4), round(g.max().item(), 4)] for g in gains])
    assert data["magnitudes"] == expected and expected[0] != expected[-1]
    low = min(step[0][0] for step in expected)
    high = max(step[0][1] for step in expected)
    factor = math.sqrt(math.log(1024) / math.log(256))
    assert ", ".join(data["attention"]) == data["summary"].split("k(t) 1 -> 1, ")[1].split("; time shift")[0]
    sega_line, pa_line = data["attention"]
    assert sega_line.startswith(f"SEGA magnitudes rows {low:.3f}..{high:.3f}, cols ")
    assert pa_line == f"proportional attention x{factor:.4g}" and line.endswith("(model)")
