"""The property-based input sweep (``tests/api_inputs.py``) on the real ComfyUI (``COMFYUI_PATH``).

Each generated prompt goes through ComfyUI's own ``execution.validate_inputs`` (its conversion, range and menu
checks, exactly what ``POST /prompt`` runs), with the pack's nodes registered and the MODEL input linked to a
node that serves a tiny random FLUX.1. Widget inputs the case leaves out get the schema default, as the
frontend sends them. Accepted DyPE prompts then run the node and sample with ``comfy.sample`` (an image below,
at or above the drawn base); accepted Plan prompts run the Plan node. Every outcome must be a refusal (the
host's validation errors, or a ``ValueError`` the pack raised with a message) or a finite result with the
original model unchanged. Usage: ``check_inputs.py [examples]``; prints one JSON object of outcome counts.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import sys

import host

host.load_pack()

import comfy.model_management  # noqa: E402
import comfy.sample  # noqa: E402
import comfy.supported_models as models  # noqa: E402
import execution  # noqa: E402
import tiny_flux  # noqa: E402
import torch  # noqa: E402
from api_inputs import SIDES, assert_unchanged, dype_inputs, executed, plan_inputs  # noqa: E402
from comfy.samplers import SCHEDULER_NAMES  # noqa: E402
from comfyui_dype.dype_core.menu import METHODS, RAMPS, SCALINGS, TIME_AXIS, TIME_SHIFTS  # noqa: E402
from comfyui_dype.nodes.dype_node import DyPE  # noqa: E402
from comfyui_dype.nodes.plan_node import DyPEPlan  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import nodes  # noqa: E402

EXAMPLES = int(sys.argv[1]) if len(sys.argv) > 1 else 120
FLUX = tiny_flux.patcher(tiny_flux.FLUX1, models.Flux)
EMBEDDER = FLUX.get_model_object("diffusion_model.pe_embedder")
SAMPLING = FLUX.get_model_object("model_sampling")
COUNTS: dict[str, dict[str, int]] = {"DyPE": {}, "DyPEPlan": {}}


class DyPETestModel:
    """Serves the tiny FLUX.1 as a MODEL output, so that prompts can link the nodes' model input."""

    RETURN_TYPES = ("MODEL",)
    FUNCTION = "load"
    CATEGORY = "testing"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {}}

    def load(self):
        return (FLUX,)


nodes.NODE_CLASS_MAPPINGS.update({"DyPE": DyPE, "DyPEPlan": DyPEPlan, "DyPETestModel": DyPETestModel})


def defaults(node: type) -> dict:
    """The frontend's widget values for the inputs a case leaves out."""
    types = node.INPUT_TYPES()
    return {name: spec[1]["default"] for section in ("required", "optional") for name, spec in
            types.get(section, {}).items() if len(spec) > 1 and "default" in spec[1]}


def validate(node: str, inputs: dict) -> tuple[bool, list, dict]:
    """ComfyUI's validation of a prompt with ``node`` fed by the test model: ``(ok, errors, converted inputs)``."""
    prompt = {"1": {"class_type": node, "inputs": {**inputs, "model": ["2", 0]}},
              "2": {"class_type": "DyPETestModel", "inputs": {}}}
    first = next(iter(inspect.signature(execution.validate_inputs).parameters))
    args = ("sweep", prompt, "1", {}) if first == "prompt_id" else (prompt, "1", {})
    ok, errors, _ = asyncio.run(execution.validate_inputs(*args))
    converted = {k: v for k, v in prompt["1"]["inputs"].items() if k != "model"}
    return ok, errors, converted


def record(node: str, kind: str) -> None:
    COUNTS[node][kind] = COUNTS[node].get(kind, 0) + 1


def sample(model, side: int) -> torch.Tensor:
    positive, negative = tiny_flux.conds(text=8, negative_text=8)
    latent = torch.zeros(1, 16, side // 8, side // 8)
    return comfy.sample.sample(model, comfy.sample.prepare_noise(latent, 42), 2, 1.0, "euler", "simple",
                               positive, negative, latent, disable_pbar=True, seed=42)


SWEEP = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                 suppress_health_check=list(HealthCheck))


@SWEEP
@given(inputs=dype_inputs(METHODS, RAMPS, SCALINGS, TIME_SHIFTS, TIME_AXIS), side=SIDES)
def dype_sweep(inputs, side):
    ok, errors, converted = validate("DyPE", defaults(DyPE) | dict(inputs))
    if not ok:
        assert errors and all(error.get("message") for error in errors), errors
        record("DyPE", "refused at validation")
        return
    kind, out = executed("DyPE", lambda: sample(DyPE.execute(FLUX, **converted).result[0], side))
    record("DyPE", kind)
    if kind == "ran":
        assert torch.isfinite(out).all()
    assert_unchanged(FLUX, EMBEDDER, SAMPLING)


PATCHED = {policy: DyPE.execute(FLUX, base_resolution=256, time_shift=policy).result[0] for policy in TIME_SHIFTS}


@SWEEP
@given(inputs=plan_inputs(SCHEDULER_NAMES), policy=st.sampled_from(TIME_SHIFTS),
       latent=st.none() | st.tuples(st.integers(1, 4096), st.integers(1, 4096)))
def plan_sweep(inputs, policy, latent):
    ok, errors, converted = validate("DyPEPlan", defaults(DyPEPlan) | dict(inputs))
    if not ok:
        assert errors and all(error.get("message") for error in errors), errors
        record("DyPEPlan", "refused at validation")
        return
    extra = {} if latent is None else {"latent": {"samples": torch.zeros(1, 16, *latent)}}
    kind, out = executed("DyPEPlan", lambda: DyPEPlan.execute(PATCHED[policy], **converted, **extra).result)
    record("DyPEPlan", kind)
    if kind == "ran":
        chart, table = out
        assert torch.isfinite(chart).all() and "nan" not in table.lower()


def one_message_each() -> dict:
    """The host's errors for the paths issue 13 found, by input: NaN, out-of-range and mistyped values."""
    prompt = defaults(DyPE) | {"lambda_s": 1e6, "lambda_t": float("nan"), "mu": "abc"}
    ok, errors, _ = validate("DyPE", prompt)
    found = sorted((error["type"], error["details"].split(",")[0]) for error in errors)
    expected = [("invalid_input_type", "mu"), ("value_bigger_than_max", "lambda_s"),
                ("value_smaller_than_min", "lambda_t")]
    assert not ok and found == expected, found
    return {"errors": found}


dype_sweep()
plan_sweep()
specific = one_message_each()
comfy.model_management.unload_all_models()
print(json.dumps({"comfyui": host.comfyui_version(), "examples": EXAMPLES, "outcomes": COUNTS, "specific": specific}))
