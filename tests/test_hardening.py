"""Hardening: whatever a user or an API client sends, a clear refusal or a right image (issue 13).

Each test reproduces a path that failed before: API values outside the widgets' ranges, NaN and wrong types;
``time_shift = linear`` at very large sizes; DyPE(linear) followed by a sampling without a shift; a second DyPE
node that kept the first one's time shift; size labels that mixed width x height with rows x columns; and the
core's arithmetic at extreme settings. The property-based sweep over the whole API input space is in
``test_hardening_properties.py``.
"""

import logging
import math

import pytest
import torch
from comfy.model_base import build_flux_patcher
from comfy.model_sampling import ModelSamplingDiscrete, ModelSamplingFlux
from comfy_api.latest._standin import NodeValidationError, run_node
from comfyui_dype.dype_core import FLUX1, DyPESettings, axis_frequencies, flux_time_shift, plan
from comfyui_dype.nodes.dype_node import DyPE
from comfyui_dype.nodes.patch import patch_of
from comfyui_dype.nodes.readout import readout
from comfyui_dype.nodes.time_shift import reshift
from dype_helpers import dype
from test_node_flux import sample


@pytest.fixture(scope="module")
def flux():
    return build_flux_patcher("flux", seed=0)


def refused(model, **inputs) -> list[tuple[str, str]]:
    """The host's validation errors ``(type, details)`` for the DyPE node with ``inputs``."""
    with pytest.raises(NodeValidationError) as error:
        run_node(DyPE, model=model, **inputs)
    return error.value.errors


# --- 1. API prompts meet the schema's ranges, one message per problem -------------------------------------------


@pytest.mark.parametrize("inputs,errors", [
    ({"lambda_s": 1e6}, [("value_bigger_than_max", "lambda_s")]),
    ({"lambda_s": 1e308, "mu": -1.0}, [("value_bigger_than_max", "lambda_s"), ("value_smaller_than_min", "mu")]),
    ({"lambda_t": float("nan")}, [("value_smaller_than_min", "lambda_t")]),
    ({"mu": "nan"}, [("value_smaller_than_min", "mu")]),
    ({"lambda_s": float("inf")}, [("value_bigger_than_max", "lambda_s")]),
    ({"base_resolution": 1e308}, [("value_bigger_than_max", "base_resolution")]),
    ({"method": "Dy-ROPE", "scaling": "stretch"},
     [("value_not_in_list", "method: 'Dy-ROPE' not in ['SEGA', 'Dy-YaRN', 'Dy-NTK', 'Dy-PI', 'YaRN (static)', "
       "'NTK (static)', 'PI (static)', 'off']"), ("value_not_in_list", "scaling: 'stretch' not in ['per-axis', "
                                                  "'isotropic']")]),
])
def test_out_of_range_values_get_one_host_message_each(flux, inputs, errors):
    assert refused(flux, **inputs) == errors


def test_a_value_of_the_wrong_type_is_one_conversion_error_not_a_crash(flux):
    errors = refused(flux, mu="abc", base_resolution=float("inf"))
    assert [(kind, details.split(",")[0]) for kind, details in errors] == [
        ("invalid_input_type", "base_resolution"), ("invalid_input_type", "mu")]


def test_the_nan_message_names_the_value_and_the_bound(flux):
    with pytest.raises(NodeValidationError, match=r"lambda_t: Value nan smaller than min of 0\.0"):
        run_node(DyPE, model=flux, lambda_t=float("nan"))


def test_the_schema_still_reads_as_plain_numbers():
    import json

    schema = json.loads(json.dumps(DyPE.INPUT_TYPES()))["required"]
    assert schema["lambda_s"][1]["min"] == 0.0 and schema["mu"][1]["max"] == 20.0


# --- the core's arithmetic: finite for every finite value it accepts ---------------------------------------------


@pytest.mark.parametrize("method,ramp,lambda_s", [("pi", "official", 1e6), ("ntk", "official", 1e308),
                                                  ("yarn", "legacy", 1e6), ("yarn", "legacy", 1e308)])
def test_extreme_schedule_strengths_give_finite_frequencies(method, ramp, lambda_s):
    omega, gain = axis_frequencies(method, dim=56, theta=1e4, scale=2048.0, base_len=64, t=1.0,
                                   lambda_s=lambda_s, lambda_t=2.0, yarn_ramp=ramp)
    assert torch.isfinite(omega).all() and math.isfinite(gain)


def test_the_plan_at_32768_px_with_an_extreme_dy_ntk_is_finite():
    settings = DyPESettings(method="ntk", lambda_s=300.0)
    result = plan(FLUX1, 32768, 32768, [1.0, 0.5, 0.0], settings)
    assert "extrap" in result.table() and all(math.isfinite(a.wavelengths[0]) for s in result.steps for a in s.axes)


def test_the_time_shift_is_finite_at_any_mu():
    assert flux_time_shift(800.0, 0.5) == 1.0 and flux_time_shift(-800.0, 0.5) == 0.0
    assert flux_time_shift(1.15, 0.5) == pytest.approx(math.exp(1.15) / (math.exp(1.15) + 1.0), rel=1e-14)


# --- 2. time_shift linear at very large sizes -------------------------------------------------------------------


@pytest.mark.parametrize("side", [8192, 11776, 16384])
def test_linear_re_shift_stays_finite_and_says_when_it_cannot_relax(flux, side):
    patch = patch_of(dype(flux, time_shift="linear", base_resolution=0))
    sampling = flux.get_model_object("model_sampling")
    sigmas = torch.tensor([1.0, 0.9, 0.6, 0.3, 0.1, 0.0])
    shifted, result, mu = patch.run_plan((side, side), sigmas, sampling)
    assert torch.isfinite(shifted).all() and shifted.dtype == sigmas.dtype and mu > 20
    assert result.degenerate and "degenerate schedule" in result.summary()
    assert readout(result, "1")["degenerate"] is True


def test_linear_re_shift_at_2048_is_not_degenerate(flux):
    patch = patch_of(dype(flux, time_shift="linear"))
    sigmas = torch.linspace(1, 0, 29)
    _, result, _ = patch.run_plan((2048, 2048), sigmas, flux.get_model_object("model_sampling"))
    assert not result.degenerate and "degenerate" not in result.summary()


def test_reshift_in_float64_matches_the_shift_formula():
    sigmas = torch.tensor([1.0, 0.75, 0.5, 0.25, 1e-4, 0.0])
    expected = [flux_time_shift(2.0, s) for s in sigmas.tolist()]  # reshift from mu 0 is the shift itself
    assert torch.allclose(reshift(sigmas, 0.0, 2.0), torch.tensor(expected), rtol=1e-6, atol=0)


def test_a_degenerate_run_says_so_in_the_log(flux, caplog):
    with caplog.at_level(logging.INFO, logger="DyPE"):
        sample(dype(flux, time_shift="custom", mu=20.0), "flux", 512, cfg=1.0, steps=4)
    line, = [r.getMessage() for r in caplog.records if r.name == "DyPE"]
    assert "degenerate schedule: sigma is still 1 at the last step" in line and "mu 20 (custom)" in line


# --- 3. the time-shift policy against the sampling the run uses ---------------------------------------------------


@pytest.mark.parametrize("policy", ["linear", "base", "custom"])
def test_a_sampling_without_shift_after_dype_is_refused_when_sampling_starts(flux, policy):
    patched = dype(flux, time_shift=policy)
    patched.add_object_patch("model_sampling", ModelSamplingDiscrete())  # a ModelSamplingDiscrete node after DyPE
    message = (rf"time_shift '{policy}' sets the flow schedule's shift, but this model samples with "
               r"ModelSamplingDiscrete, which has none. Use time_shift 'model'.")
    with pytest.raises(ValueError, match=message):
        sample(patched, "flux", 512, cfg=1.0, steps=2)
    with pytest.raises(ValueError, match=message):  # the node says the same when it sees that sampling
        dype(patched, time_shift=policy)


# --- 4. a second DyPE node replaces every part of the first ------------------------------------------------------


def test_a_second_dype_replaces_the_first_time_shift(flux, caplog):
    again = dype(dype(flux, time_shift="custom", mu=3.0), time_shift="model")
    assert again.get_model_object("model_sampling") is flux.get_model_object("model_sampling")
    with caplog.at_level(logging.INFO, logger="DyPE"):
        sample(again, "flux", 512, cfg=1.0, steps=2)
    line, = [r.getMessage() for r in caplog.records if r.name == "DyPE"]
    assert line.endswith("time shift mu 1.15 (model)")


def test_a_second_dype_gives_back_a_sampling_node_s_shift_and_keeps_one_placed_after(flux):
    user = flux.clone()
    own = ModelSamplingFlux()
    own.set_parameters(shift=2.5)
    user.add_object_patch("model_sampling", own)  # ModelSamplingFlux before the first DyPE
    assert dype(dype(user, time_shift="base"), time_shift="model").get_model_object("model_sampling") is own
    later = dype(user, time_shift="custom", mu=3.0)
    after = ModelSamplingFlux()
    later.add_object_patch("model_sampling", after)  # a sampling node after the first DyPE stays
    assert dype(later, time_shift="model").get_model_object("model_sampling") is after


# --- 5. sizes read width x height everywhere -----------------------------------------------------------------------


@pytest.mark.parametrize("latent,label", [
    ((512, 32), "256x4096 px -> 16x256 tokens (base 16x16)"),
    ((130, 129), "1032x1040 px -> 65x65 tokens (base 16x16; the model pads the latent to 1040x1040 px, whole tokens "
                 "of 16 px)"),
])
def test_sizes_are_width_by_height_and_the_latent_s_own(flux, latent, label):
    patch = patch_of(dype(flux))
    samples = torch.zeros(1, 16, *latent)
    sampling = flux.get_model_object("model_sampling")
    _, result, _ = patch.run_plan(patch.pixels(samples), torch.tensor([1.0, 0.0]), sampling)
    assert result.summary().startswith(f"FLUX.1 {label}, scale width")
    message = readout(result, "1")
    assert (message["width"], message["height"]) == (latent[1] * 8, latent[0] * 8)


def test_a_sampling_node_with_shift_0_never_stops_a_run_at_native_and_says_what_is_wrong_above(caplog):
    """ModelSamplingSD3 / AuraFlow allow shift 0: every sigma is 0, the first 0/0. At the native size DyPE leaves the
    run alone and logs why it has no plan; above it, it stops with what to fix; a plan shows mu -inf (the readout's
    JSON gets none); 'linear', which re-shifts that schedule, refuses it by name."""
    from families_a import build, latent

    model = build("zimage")
    zero = type(model.model.model_sampling)(model.model.model_config)  # what ModelSamplingSD3 makes, at shift 0
    zero.set_parameters(shift=0.0, multiplier=1.0)
    model.add_object_patch("model_sampling", zero)
    patched = dype(model, base_resolution=128)
    x = latent("zimage", 128, 128)
    with caplog.at_level(logging.INFO, logger="DyPE"):
        sample_with(patched, x, torch.randn(x.shape, generator=torch.Generator().manual_seed(0)))
    assert "its schedule holds sigmas that are not finite (a sampling shift of 0?)" in caplog.text
    with pytest.raises(ValueError, match="DyPE got sigma nan from the sampler: its schedule is not finite"):
        sample_with(patched, latent("zimage", 256, 256), torch.zeros(latent("zimage", 256, 256).shape))
    result = patch_of(patched).run_plan((256, 256), torch.tensor([1.0, 0.5, 0.0]), zero)[1]
    assert "mu -inf (model)" in result.summary() and readout(result, "1")["mu"] is None
    linear = dype(model, base_resolution=128, time_shift="linear")
    with pytest.raises(ValueError, match="time_shift 'linear' re-shifts the model's schedule, but its sampling has "
                                         "shift 0"):
        sample_with(linear, latent("zimage", 256, 256), torch.zeros(latent("zimage", 256, 256).shape))


def sample_with(model, x, noise):
    from comfy.sample import sample as host_sample
    from families_a import conditioning

    return host_sample(model, noise, 2, 1.0, "euler", "simple", conditioning("zimage", 8), conditioning("zimage", 8),
                       x, disable_pbar=True, seed=0)


@pytest.mark.parametrize("model", [None, "flux1-dev.safetensors", torch.nn.Linear(2, 2)], ids=["none", "str", "module"])
def test_every_node_called_without_a_model_says_it_needs_one(model):
    from comfyui_dype.nodes.guide_node import DyPEGuide
    from comfyui_dype.nodes.plan_node import DyPEPlan

    for node, call in (("DyPE", lambda: DyPE.execute(model)),
                       ("DyPE Guide", lambda: DyPEGuide.execute(model, {"samples": torch.ones(1, 16, 8, 8)})),
                       ("DyPE Plan", lambda: DyPEPlan.execute(model))):
        with pytest.raises(ValueError, match=f"^{node} needs a MODEL \\(a loaded diffusion model"):
            call()
