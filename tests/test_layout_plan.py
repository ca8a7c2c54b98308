"""Layouts, per-axis scales, time shift, the plan and the command line."""

import ast
import math
from pathlib import Path

import pytest

from dype_core import FLUX1, FLUX2, PRESETS, DyPESettings, linear_mu, plan, simple_schedule
from dype_core.__main__ import main
from dype_core.shift import flux_time_shift

ROOT = Path(__file__).resolve().parents[1]


def test_presets_hold_the_hosts_numbers():
    assert (FLUX1.axes_dim, FLUX1.theta, FLUX1.base_grid, FLUX1.px_per_token) == ((16, 56, 56), 1e4, (64, 64), 16)
    assert (FLUX2.axes_dim, FLUX2.theta, FLUX2.base_grid, FLUX2.px_per_token) == ((32,) * 4, 2000.0, (64, 64), 16)
    assert FLUX1.pairs == 64 and FLUX1.pair_slices == ((0, 8), (8, 36), (36, 64))
    assert PRESETS["chroma"].axes_dim == FLUX1.axes_dim


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
            assert axis.ratio == (1.0,) * 28 and axis.bands()["untouched"] == 28 and axis.bands()["extrapolated"] == 0


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


def test_command_line_prints_the_plan_and_writes_the_chart(tmp_path, capsys):
    chart = tmp_path / "plan.png"
    assert main(["plan", "--model", "flux", "--width", "4096", "--height", "4096", "--steps", "28",
                 "--chart", str(chart)]) == 0
    out = capsys.readouterr().out
    assert "mu = 1.15" in out and "256x256 tokens" in out and len(out.splitlines()) >= 31
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and chart.stat().st_size > 10_000
    assert main(["plan", "--width", "2048", "--height", "2048", "--mu", "linear", "--chart", "-"]) == 0
    assert "mu = 3.23" in capsys.readouterr().out
    assert main(["plan", "--width", "2048", "--height", "2048", "--lambda-s", "-1", "--chart", "-"]) == 2
    assert "lambda_s must be" in capsys.readouterr().err


def test_dype_core_never_imports_the_host():
    host = {"comfy", "comfy_api", "comfy_extras", "folder_paths", "server", "nodes", "comfy_execution"}
    for path in (ROOT / "dype_core").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
            assert not any(n.split(".")[0] in host for n in names), f"{path.name} imports {names}"
