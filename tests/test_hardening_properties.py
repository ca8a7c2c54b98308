"""Property-based: every input the API allows, through validation and execution, on the stand-in host.

Hypothesis draws the DyPE node's and the Plan node's widget values from the whole space a prompt can carry
(``api_inputs.py``). Each case runs as the server does (``run_node``: the host's conversion and range checks,
then ``execute``); an accepted DyPE node also samples (a tiny FLUX.1, an image below, at or above the drawn
base). Every outcome must be a clear refusal (the host's validation error, or a ``ValueError`` the pack raised
with a message) or a finite result with the original model unchanged. The counts per outcome are printed
(``pytest -s``) and both outcomes must occur. The same sweep runs on the real ComfyUI in
``test_real_inputs.py``.
"""

from collections import Counter

import pytest
import torch
from api_inputs import SIDES, assert_unchanged, dype_inputs, executed, plan_inputs
from comfy.model_base import build_flux_patcher
from comfy.samplers import SCHEDULER_NAMES
from comfy_api.latest._standin import NodeValidationError, run_node
from comfyui_dype.dype_core.menu import METHODS, RAMPS, SCALINGS, TIME_AXIS, TIME_SHIFTS
from comfyui_dype.nodes.dype_node import DyPE
from comfyui_dype.nodes.plan_node import DyPEPlan
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_node_flux import sample

pytestmark = pytest.mark.long  # the sweeps take ~40 s: make test-long

OUTCOMES: dict[str, Counter] = {"DyPE": Counter(), "DyPEPlan": Counter()}
SWEEP = settings(max_examples=200, deadline=None, derandomize=True, database=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

FLUX = build_flux_patcher("flux", seed=0)
EMBEDDER = FLUX.get_model_object("diffusion_model.pe_embedder")
SAMPLING = FLUX.get_model_object("model_sampling")


def outcome(node: type, run) -> tuple[str, object]:
    """``(kind, result or refusal)``: ran, refused at validation or at execution; anything else fails."""
    try:
        return executed(node.__name__, run)
    except NodeValidationError as error:
        assert error.errors, "a validation refusal without errors"
        return "refused at validation", error


@SWEEP
@given(inputs=dype_inputs(METHODS, RAMPS, SCALINGS, TIME_SHIFTS, TIME_AXIS), again=st.none() | dype_inputs(
    METHODS, RAMPS, SCALINGS, TIME_SHIFTS, TIME_AXIS), side=SIDES)
def test_every_dype_input_is_refused_clearly_or_samples_finite(inputs, again, side):
    def run():
        patched = run_node(DyPE, model=FLUX, **dict(inputs))[0]
        if again is not None:  # a second DyPE node after the first
            patched = run_node(DyPE, model=patched, **dict(again))[0]
        return sample(patched, "flux", side, cfg=1.0, steps=2)

    kind, result = outcome(DyPE, run)
    OUTCOMES["DyPE"][kind] += 1
    if kind == "ran":
        assert torch.isfinite(result).all()
    assert_unchanged(FLUX, EMBEDDER, SAMPLING)


PATCHED = {policy: run_node(DyPE, model=FLUX, base_resolution=256, time_shift=policy)[0] for policy in TIME_SHIFTS}


@SWEEP
@given(inputs=plan_inputs(SCHEDULER_NAMES), policy=st.sampled_from(TIME_SHIFTS),
       latent=st.none() | st.tuples(st.integers(1, 4096), st.integers(1, 4096)),
       sigmas=st.none() | st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=0, max_size=6))
def test_every_plan_input_is_refused_clearly_or_plans_finite(inputs, policy, latent, sigmas):
    extra = {}
    if latent is not None:
        extra["latent"] = {"samples": torch.zeros(1, 16, *latent)}
    if sigmas is not None:
        extra["sigmas"] = torch.tensor(sigmas, dtype=torch.float32)
    kind, result = outcome(DyPEPlan, lambda: run_node(DyPEPlan, model=PATCHED[policy], **dict(inputs), **extra))
    OUTCOMES["DyPEPlan"][kind] += 1
    if kind == "ran":
        chart, table = result
        assert torch.isfinite(chart).all() and "nan" not in table.lower()


@pytest.mark.parametrize("node", list(OUTCOMES))
def test_the_sweep_met_refusals_and_finite_runs(node):
    counts = OUTCOMES[node]
    print(f"{node}: {sum(counts.values())} generated cases: {dict(counts)}")
    assert counts["ran"] > 0 and counts["refused at validation"] > 0
