"""Layouts, per-axis scales, time shift, the plan and the command line."""

import ast
import math
from pathlib import Path

import pytest

from dype_core import FLUX1, FLUX2, MODELS, DyPESettings, linear_mu, plan, simple_schedule
from dype_core.shift import flux_time_shift

ROOT = Path(__file__).resolve().parents[1]


def test_presets_hold_the_hosts_numbers():
    assert (FLUX1.axes_dim, FLUX1.theta, FLUX1.base_grid, FLUX1.px_per_token) == ((16, 56, 56), 1e4, (64, 64), 16)
    assert (FLUX2.axes_dim, FLUX2.theta, FLUX2.base_grid, FLUX2.px_per_token) == ((32,) * 4, 2000.0, (64, 64), 16)
    assert FLUX1.pairs == 64 and FLUX1.pair_slices == ((0, 8), (8, 36), (36, 64))
    assert MODELS["chroma"].layout.axes_dim == FLUX1.axes_dim and MODELS["flux"].layout == FLUX1


def test_grid_follows_the_hosts_latent_and_patching():
    assert FLUX1.grid_for_pixels(4096, 1365) == (85, 256)  # latent 170 -> (170 + 1) // 2
    assert FLUX1.grid_for_pixels(1000, 1000) == (63, 63)   # latent 125, padded up to 63 tokens
    assert FLUX2.grid_for_pixels(2048, 2048) == (128, 128)


def test_axis_scales_per_axis_isotropic_and_area():
    assert FLUX1.axis_scales(256, 128) == (1.0, 4.0, 2.0)
    assert FLUX1.axis_scales(256, 128, "isotropic") == (1.0, 4.0, 4.0)
    assert FLUX1.axis_scales(256, 64, "area") == (1.0, 2.0, 2.0)
    assert FLUX1.axis_scales(32, 64) == (1.0, 1.0, 1.0)
    assert FLUX1.axis_scales(85, 1) == (1.0, 85 / 64, 1.0)
    with pytest.raises(ValueError, match="unknown scaling 'x'; choose one of per_axis, isotropic, area"):
        FLUX1.axis_scales(1, 1, "x")


def test_base_resolution_override():
    assert FLUX1.with_base_resolution(1328).base_grid == (83, 83)
    with pytest.raises(ValueError, match=r"1000 px is not a positive multiple of 16 px.*try 992"):
        FLUX1.with_base_resolution(1000)


def test_settings_validation():
    with pytest.raises(ValueError, match="lambda_t must be a finite number >= 0"):
        DyPESettings(lambda_t=-2)
    with pytest.raises(ValueError, match="unknown method"):
        DyPESettings(method="dype")
    with pytest.raises(ValueError, match="no static form"):
        DyPESettings(method="lumina", dynamic=False)
    assert DyPESettings().label == "Dy-YaRN" and DyPESettings(dynamic=False, method="pi").label == "PI"


def test_time_shift():
    assert linear_mu(128 * 128) == pytest.approx(3.23, abs=5e-3)
    assert linear_mu(256 * 256) == pytest.approx(11.55, abs=5e-3)
    assert flux_time_shift(1.15, 1.0) == 1.0 and flux_time_shift(1.15, 0.0) == 0.0
    sigmas = simple_schedule(4, 1.15)
    assert len(sigmas) == 5 and sigmas[-1] == 0 and sigmas == sorted(sigmas, reverse=True)


def test_plan_at_native_size_is_inactive_with_untouched_pairs():
    p = plan(FLUX1, 1024, 1024, simple_schedule(6, 1.15))
    assert not p.active and p.scales == (1.0, 1.0)
    assert "inactive, at or below the base resolution" in p.summary()
    for step in p.steps:
        for axis in step.axes:
            assert axis.ratio == (1.0,) * 28
            assert axis.bands() == {"untouched": 28, "interp": 0, "blended": 0, "extrap": 0}


def test_plan_above_the_base_relaxes_towards_plain_rope():
    p = plan(FLUX1, 4096, 4096, simple_schedule(28, 1.15))
    assert p.active and p.grid == (256, 256) and p.scales == (4.0, 4.0) and len(p.steps) == 28
    kappas = [s.kappa for s in p.steps]
    assert kappas == sorted(kappas, reverse=True) and kappas[0] == 1.0
    first, last = p.steps[0].axes[0], p.steps[-1].axes[0]
    assert first.attention_scale == pytest.approx(1.1386294)
    assert first.bands()["untouched"] < last.bands()["untouched"]
    longest_plain = 2 * math.pi * 1e4 ** (54 / 56)
    assert first.wavelengths == (pytest.approx(2 * math.pi), pytest.approx(4 * longest_plain))
    assert "Dy-YaRN" in p.table().splitlines()[0] and len(p.table().splitlines()) == 30


def test_plan_panorama_scales_each_axis():
    p = plan(FLUX1, 4096, 1365, [1.0, 0.5, 0.0])
    assert p.grid == (85, 256) and p.scales == (85 / 64, 4.0)
    iso = plan(FLUX1, 4096, 1365, [1.0, 0.5, 0.0], DyPESettings(scaling="isotropic"))
    assert iso.scales == (4.0, 4.0)


@pytest.mark.parametrize(
    "width,height,sigmas,message",
    [(1024, 1024, [], "at least two values"), (0, 1024, [1, 0], "positive pixels"), (4, 4, [1, 0], "smaller than one")],
)
def test_plan_refuses_bad_input(width, height, sigmas, message):
    with pytest.raises(ValueError, match=message):
        plan(FLUX1, width, height, sigmas)


def _bands_by_label(table: str, axis: str) -> dict[str, int]:
    """The first step's band counts of ``axis``, read back from a printed plan table by its header's labels."""
    lines = table.splitlines()
    header, first = lines[1].split(" | "), lines[2].split(" | ")
    column = next(i for i, cell in enumerate(header) if cell.startswith(f"{axis}: "))
    labels = header[column].split(": ")[1].split()[0].split("/")
    return dict(zip(labels, (int(n) for n in first[column].split()[0].split("/"))))


@pytest.mark.parametrize("settings,expected", [
    # Static PI compresses every pair by the full scale: all 28 interpolated.
    (DyPESettings(method="pi", dynamic=False), {"untouched": 0, "interp": 28, "blended": 0, "extrap": 0}),
    # Static NTK keeps pair 0, compresses the last by s and those between by less: 1 / 1 / 26; pair 8 (0.73
    # turns over 64 tokens) is compressed by 2^(-16/54) only, so it still completes a turn over 128.
    (DyPESettings(method="ntk", dynamic=False), {"untouched": 1, "interp": 1, "blended": 26, "extrap": 1}),
    # Plain RoPE at 2x: pairs 8 and 9 turned 0.5-1 times over 64 tokens and complete a turn over 128.
    (DyPESettings(method="none"), {"untouched": 28, "interp": 0, "blended": 0, "extrap": 2}),
])
def test_the_printed_band_columns_carry_the_right_labels(settings, expected):
    table = plan(FLUX1, 2048, 2048, simple_schedule(4, 1.15), settings).table()
    for axis in ("rows", "cols"):
        assert _bands_by_label(table, axis) == expected


def test_extrapolated_counts_only_pairs_that_had_not_turned_fully_in_training():
    """FLUX.1 axes of 28 pairs over L = 64 tokens: pair i turns 64 w_i / 2 pi = 10.19 * 1e4^(-i/28) times."""
    turns = [64 * 1e4 ** (-i / 28) / (2 * math.pi) for i in range(28)]
    for side, tokens in ((2048, 128), (4096, 256)):
        axis = plan(FLUX1, side, side, [1.0, 0.0], DyPESettings(method="none")).steps[0].axes[0]
        assert axis.extrapolated == sum(r < 1 <= r * tokens / 64 for r in turns) == (2 if side == 2048 else 4)
    static_pi = plan(FLUX1, 4096, 4096, [1.0, 0.0], DyPESettings(method="pi", dynamic=False))
    assert static_pi.steps[0].axes[0].extrapolated == 0


def test_a_plan_that_changes_no_table_is_inactive_and_says_why():
    wan = MODELS["wan"].layout
    riflex_noop = plan(wan, 1280, 720, [1.0, 0.5, 0.0], DyPESettings(), frames=22)
    assert riflex_noop.time_scale > 1 and not riflex_noop.active and not riflex_noop.time_active
    assert "time untouched (x1.05, but RIFLEx changes no time pair" in riflex_noop.summary()
    assert "inactive, at or below the base resolution, time untouched (plain RoPE, bitwise)" in riflex_noop.summary()
    time_off = plan(wan, 1280, 720, [1.0, 0.5, 0.0], DyPESettings(time="off"), frames=41)
    assert not time_off.active and "time untouched (time_axis off)" in time_off.summary()
    method_off = plan(wan, 1280, 720, [1.0, 0.5, 0.0], DyPESettings(method="none"), frames=41)
    assert "RIFLEx" not in method_off.summary() and "time untouched (method off)" in method_off.summary()
    riflex = plan(wan, 1280, 720, [1.0, 0.5, 0.0], DyPESettings(), frames=41)
    assert riflex.active and "time x1.95, RIFLEx" in riflex.summary()


@pytest.mark.parametrize("method", ["pi", "ntk"])
def test_lambda_s_0_above_the_base_is_inactive_for_what_it_is(method):
    """``k(t) = 0`` at every step: Dy-PI and Dy-NTK keep plain RoPE although the image is 4x the base."""
    result = plan(FLUX1, 4096, 4096, [1.0, 0.5, 0.0], DyPESettings(method=method, lambda_s=0.0))
    assert not result.active and result.scales == (4.0, 4.0)
    assert "changes no frequency at this size and schedule (plain RoPE, bitwise)" in result.summary()
    assert "at or below the base" not in result.summary()


@pytest.mark.parametrize("sigmas,time_shift,mu,advice", [
    ([1.0, 0.0], "model", 1.15, "one step, whose only model call is at sigma 1, so k(t) never relaxes; use more steps"),
    ([1.0, 1.0, 0.0], "linear", 11.5, "(the linear time shift, mu 11.5 (linear), is too high; use time_shift model)"),
    ([1.0, 1.0, 0.0], "model", 15.0, "the model's own sampling shift, mu 15 (model), is too high"),
])
def test_a_degenerate_schedule_gets_advice_that_fits_its_cause(sigmas, time_shift, mu, advice):
    result = plan(FLUX1, 4096, 4096, sigmas, time_shift=time_shift, mu=mu)
    assert result.degenerate and advice in result.summary()
    assert "use time_shift model or base" not in result.summary()


@pytest.mark.parametrize("width,height,note", [
    (1030, 1030, "1030x1030 px -> 64x64 tokens (base 64x64; the latent holds 1024x1024 px, cropped to whole latent "
                 "pixels of 8 px)"),
    (1000, 1000, "1000x1000 px -> 63x63 tokens (base 64x64; the model pads the latent to 1008x1008 px, whole tokens "
                 "of 16 px)"),
    (1024, 1024, "1024x1024 px -> 64x64 tokens (base 64x64)"),
])
def test_the_size_says_whether_the_host_crops_or_pads(width, height, note):
    assert plan(FLUX1, width, height, [1.0, 0.0]).size() == note


def test_dype_core_never_imports_the_host():
    host = {"comfy", "comfy_api", "comfy_extras", "folder_paths", "server", "nodes", "comfy_execution"}
    for path in (ROOT / "dype_core").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
            assert not any(n.split(".")[0] in host for n in names), f"{path.name} imports {names}"
