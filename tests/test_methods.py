"""Frequency methods: reference vectors, identity at s = 1, continuity in t, validation."""

import json
import math
import os
from pathlib import Path

import pytest
import torch

from dype_core import METHODS, RAMPS, axis_frequencies, kappa, plain_frequencies, sigma_to_t
from dype_core.yarn import ramp_bounds

#: Per-pair frequencies and attention scales computed independently in double precision (docs/MATH.md,
#: "Test vectors"); ``DYPE_VECTORS`` points at another copy.
VECTORS = Path(os.environ.get("DYPE_VECTORS", Path(__file__).resolve().parent / "reference" / "dype_vectors.json"))
FLUX_AXIS = dict(dim=56, theta=10000.0, base_len=64.0)
DYNAMIC = [("pi", "official"), ("ntk", "official"), ("yarn", "official"), ("yarn", "paper")]


def _cases():
    if not VECTORS.exists():
        pytest.skip(f"reference vectors not found at {VECTORS} (set DYPE_VECTORS)", allow_module_level=False)
    return json.loads(VECTORS.read_text())["cases"]


def test_reference_vectors_match_to_1e9():
    cases = _cases()
    assert len(cases) >= 20
    for case in cases:
        options = {k: case[k] for k in ("lambda_s", "lambda_t") if k in case}
        if case.get("yarn_ramp"):
            options["yarn_ramp"] = case["yarn_ramp"]
        omega, attn = axis_frequencies(
            case["method"], dim=case["dim"], theta=case["theta"], scale=case["scale"],
            base_len=case["base_len"], t=case["t"], **options,
        )
        expected = torch.tensor(case["omega"], dtype=torch.float64)
        assert omega.dtype == torch.float64 and omega.shape == expected.shape
        torch.testing.assert_close(omega, expected, rtol=1e-9, atol=0, msg=str(case))
        assert attn == pytest.approx(case["attn_scale"], rel=1e-9)


def test_documented_example_ratios():
    omega, attn = axis_frequencies("yarn", scale=4.0, t=1.0, **FLUX_AXIS)
    ratio = (omega / plain_frequencies(56, 1e4))[:9]
    expected = [1.0, 0.9900, 0.9610, 0.9143, 0.8515, 0.7736, 0.7349, 0.4740, 0.2500]
    assert ratio.tolist() == pytest.approx(expected, abs=5e-5)
    assert attn == pytest.approx(1.138629, abs=1e-6)


@pytest.mark.parametrize("method", sorted(METHODS))
@pytest.mark.parametrize("ramp", RAMPS)
@pytest.mark.parametrize("t", [None, 0.0, 0.3, 1.0])
def test_identity_at_scale_one_is_bitwise(method, ramp, t):
    if method == "lumina" and t is None:
        pytest.skip("lumina has no static form")
    omega, attn = axis_frequencies(method, scale=1.0, t=t, yarn_ramp=ramp, **FLUX_AXIS)
    assert torch.equal(omega, plain_frequencies(56, 1e4))
    assert attn == 1.0


@pytest.mark.parametrize("method,ramp", DYNAMIC)
@pytest.mark.parametrize("scale", [1.01, 2.0, 4.0, 6.0, 16.0])
def test_dynamic_forms_tend_to_plain_rope_continuously(method, ramp, scale):
    plain = plain_frequencies(56, 1e4)
    previous = math.inf
    for t in [0.3, 0.1, 0.03, 0.01, 7e-3, 3e-3, 1e-3, 3e-4, 1e-4, 1e-6, 1e-9, 0.0]:
        omega, _ = axis_frequencies(method, scale=scale, t=t, yarn_ramp=ramp, **FLUX_AXIS)
        assert torch.isfinite(omega).all() and (omega > 0).all(), (t, omega)
        deviation = ((omega - plain).abs() / plain).max().item()
        assert deviation <= previous + 1e-12, f"{method}/{ramp} moved away from plain RoPE at t={t}"
        previous = deviation
    assert previous == 0.0
    omega, _ = axis_frequencies(method, scale=scale, t=1e-6, yarn_ramp=ramp, **FLUX_AXIS)
    assert ((omega - plain).abs() / plain).max() < 1e-4


@pytest.mark.parametrize("method,ramp", DYNAMIC + [("yarn", "legacy"), ("lumina", "official")])
def test_every_time_on_a_fine_grid_is_finite_and_bounded(method, ramp):
    plain = plain_frequencies(56, 1e4)
    for step in range(2001):
        t = (step / 2000) ** 3
        omega, attn = axis_frequencies(method, scale=4.0, t=t, yarn_ramp=ramp, **FLUX_AXIS)
        assert torch.isfinite(omega).all() and math.isfinite(attn)
        # Dy-PI and Dy-NTK compress up to s^lambda_s; nothing ever raises a frequency.
        assert (omega <= plain * (1 + 1e-12)).all() and (omega >= plain / 4.0**2 * (1 - 1e-12)).all()


def test_paper_ramp_is_continuous_in_t():
    ts = torch.linspace(0, 1, 4001, dtype=torch.float64).tolist()
    rows = [axis_frequencies("yarn", scale=4.0, t=t, yarn_ramp="paper", **FLUX_AXIS)[0] for t in ts]
    jumps = torch.stack([(b - a).abs().max() for a, b in zip(rows, rows[1:])])
    assert jumps.max() < 2e-3


def test_official_clamp_fixes_the_inverted_ramp_of_the_authors_code():
    # Below t ~ 0.007 at s = 4 the unclamped lower bound exceeds D/2; clamped, both bounds
    # meet at D/2 and every pair keeps its plain frequency.
    assert ramp_bounds(math.log(1.25e-5), math.log(0.75e-5), 56, 1e4, 64) == (28.0, 28.001)
    omega, _ = axis_frequencies("yarn", scale=4.0, t=0.005, **FLUX_AXIS)
    plain = plain_frequencies(56, 1e4)
    assert omega[0] == plain[0] and (omega / plain).min() > 0.25 + 1e-6


def test_legacy_ends_in_a_hard_split_not_plain_rope():
    omega, _ = axis_frequencies("yarn", scale=4.0, t=0.0, yarn_ramp="legacy", **FLUX_AXIS)
    ratio = omega / plain_frequencies(56, 1e4)
    rotations = 64 * plain_frequencies(56, 1e4) / (2 * math.pi)
    assert torch.allclose(ratio[rotations > 1.5], torch.ones(1, dtype=torch.float64))
    assert torch.allclose(ratio[rotations < 0.5], torch.full((1,), 0.25, dtype=torch.float64))


def test_dy_pi_and_dy_ntk_follow_kappa():
    plain = plain_frequencies(56, 1e4)
    for t in (1.0, 0.7, 0.2):
        k = kappa(t)
        pi, _ = axis_frequencies("pi", scale=3.0, t=t, **FLUX_AXIS)
        torch.testing.assert_close(pi, plain / 3.0**k, rtol=1e-14, atol=0)
        ntk, _ = axis_frequencies("ntk", scale=3.0, t=t, **FLUX_AXIS)
        i = torch.arange(28, dtype=torch.float64)
        torch.testing.assert_close(ntk, plain * 3.0 ** (-k * 2 * i / 54), rtol=1e-14, atol=0)


def test_static_ntk_equals_a_larger_base():
    ntk, _ = axis_frequencies("ntk", scale=4.0, t=None, **FLUX_AXIS)
    torch.testing.assert_close(ntk, plain_frequencies(56, 1e4 * 4.0 ** (56 / 54)), rtol=1e-12, atol=0)


def test_lumina_switches_from_pi_to_ntk_at_the_watershed():
    plain = plain_frequencies(56, 1e4)
    early, _ = axis_frequencies("lumina", scale=2.0, t=0.8, **FLUX_AXIS)
    late, _ = axis_frequencies("lumina", scale=2.0, t=0.5, **FLUX_AXIS)
    torch.testing.assert_close(early, plain / 2.0)
    torch.testing.assert_close(late, plain_frequencies(56, 2e4), rtol=1e-12, atol=0)


def test_dim_two_axis_has_no_division_by_zero():
    for method in ("pi", "ntk", "yarn"):
        omega, _ = axis_frequencies(method, dim=2, theta=1e4, scale=4.0, base_len=8, t=0.5)
        assert omega.shape == (1,) and torch.isfinite(omega).all()


def test_schedule():
    assert kappa(1.0) == 2.0 and kappa(0.0) == 0.0 and kappa(0.5, 1.0, 2.0) == 0.25
    assert sigma_to_t(0.0) == 0.0 and sigma_to_t(3e-4) == 3e-4 and sigma_to_t(1.7) == 1.0
    assert sigma_to_t(40.0, sigma_max=80.0) == 0.5
    with pytest.raises(ValueError, match="finite"):
        sigma_to_t(float("nan"))


@pytest.mark.parametrize(
    "change,message",
    [
        (dict(method="rope2"), "unknown method 'rope2'; choose one of none, pi, ntk, yarn"),
        (dict(yarn_ramp="steep"), "unknown yarn_ramp 'steep'; choose one of official, paper, legacy"),
        (dict(dim=55), "dim must be an even integer >= 2"),
        (dict(theta=1.0), "theta must be finite and > 1"),
        (dict(scale=0.5), r"scale must be finite and >= 1 \(s = max\(1, N / L\)\)"),
        (dict(scale=float("inf")), "scale must be finite"),
        (dict(base_len=0), "base_len must be finite and > 0 tokens"),
        (dict(t=1.5), r"t must be None \(static method\) or a diffusion time in \[0, 1\]"),
        (dict(lambda_s=-1.0), "lambda_s must be finite and >= 0"),
        (dict(method="lumina", t=None), "lumina.*pass the diffusion time"),
    ],
)
def test_bad_requests_say_what_is_allowed(change, message):
    request = dict(method="yarn", dim=56, theta=1e4, scale=4.0, base_len=64.0, t=0.5) | change
    with pytest.raises(ValueError, match=message):
        axis_frequencies(request.pop("method"), **request)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_frequencies_formed_on_cuda_match_cpu():
    for method, ramp in DYNAMIC:
        cpu, _ = axis_frequencies(method, scale=4.0, t=0.4, yarn_ramp=ramp, **FLUX_AXIS)
        gpu, _ = axis_frequencies(method, scale=4.0, t=0.4, yarn_ramp=ramp, device="cuda", **FLUX_AXIS)
        assert gpu.device.type == "cuda"
        torch.testing.assert_close(gpu.cpu(), cpu, rtol=1e-12, atol=0)
