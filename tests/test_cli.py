"""The command line: every model the node supports, every option it offers, one-line errors, and the
same plan as the DyPE Plan node."""

import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from comfy_api.latest._standin import run_node
from comfyui_dype.nodes.dype_node import DyPE
from comfyui_dype.nodes.plan_node import DyPEPlan

from dype_core import MODELS, menu
from dype_core.__main__ import main

ROOT = Path(__file__).resolve().parents[1]


def run(capsys, *args: str) -> tuple[int, str, str]:
    """``python -m dype_core ARGS`` in this process: exit status, stdout, stderr."""
    try:
        status = main(list(args))
    except SystemExit as stop:  # argparse's own errors
        status = stop.code
    out = capsys.readouterr()
    return status, out.out, out.err


def test_models_lists_every_model_with_its_native_size_and_shift(capsys):
    status, out, _ = run(capsys, "models")
    lines = out.splitlines()
    assert status == 0 and len(lines) == 1 + len(MODELS)
    assert any(line.split()[:4] == ["flux-schnell", "FLUX.1", "schnell", "1024x1024"] and "mu 0" in line
               for line in lines)
    assert any(line.startswith("qwen-image ") and "1328x1328" in line and "mu 1.15" in line for line in lines)
    assert any(line.startswith("wan ") and "81 frames" in line for line in lines)


@pytest.mark.parametrize("key", list(MODELS))
def test_plan_covers_every_model_at_twice_its_native_size(capsys, key):
    model = MODELS[key]
    height, width = model.native
    status, out, err = run(capsys, "plan", "--model", key, "--width", str(2 * width), "--height", str(2 * height),
                           "--steps", "4", "--chart", "-")
    assert status == 0, err
    summary = out.splitlines()[0]
    assert summary.startswith(f"{model.layout.name} {2 * width}x{2 * height} px")
    assert "scale width 2 height 2" in summary and ", 4 steps: " in summary
    if model.video:
        trained = (int(model.layout.base_frames) - 1) * model.frames_per_latent + 1
        assert f"{int(model.layout.base_frames)} latent frames (trained" in summary, trained
    assert ("time shift the model's own sampling (no shift)" if model.mu is None else
            f"time shift mu {model.mu:.4g} (model)") in summary


def test_video_length_is_in_frames(capsys):
    status, out, _ = run(capsys, "plan", "--model", "wan", "--width", "1280", "--height", "720", "--frames", "161",
                         "--steps", "4", "--chart", "-")
    assert status == 0 and "41 latent frames (trained 21): time x1.95, RIFLEx" in out.splitlines()[0]
    status, out, _ = run(capsys, "plan", "--model", "wan", "--width", "1280", "--height", "720", "--frames", "161",
                         "--time-axis", "off", "--steps", "4", "--chart", "-", "--method", "Dy-YaRN",
                         "--proportional-attention", "off")
    assert status == 0 and "time untouched (time_axis off)" in out and "inactive" in out.splitlines()[0]


@pytest.mark.parametrize("option,values", [
    ("--method", list(menu.METHODS)),
    ("--scaling", list(menu.SCALINGS)),
    ("--time-shift", list(menu.TIME_SHIFTS)),
    ("--time-axis", list(menu.TIME_AXIS)),
    ("--yarn-ramp", list(menu.RAMPS)),
    ("--attention-scale", ["on", "off"]),
    ("--proportional-attention", ["on", "off"]),
])
def test_every_offered_choice_runs(capsys, option, values):
    for value in values:
        status, out, err = run(capsys, "plan", "--model", "hunyuanvideo", "--width", "2560", "--height", "1440",
                               "--frames", "257", "--steps", "3", option, value, "--chart", "-")
        assert status == 0 and not err, (value, err)
        assert out.splitlines()[0].startswith("HunyuanVideo 2560x1440 px")


def test_the_time_shifts_mean_what_the_node_s_mean(capsys):
    def first_sigma(*args: str) -> float:
        status, out, err = run(capsys, "plan", "--width", "2048", "--height", "2048", "--steps", "2", "--chart", "-",
                               *args)
        assert status == 0, err
        return float(out.splitlines()[3].split()[1])

    assert first_sigma("--model", "flux-schnell", "--time-shift", "base") == pytest.approx(0.5, abs=1e-4)  # mu 0
    assert first_sigma("--model", "flux", "--time-shift", "base") == pytest.approx(0.7595, abs=1e-4)  # mu 1.15
    linear = first_sigma("--model", "flux", "--time-shift", "linear")
    assert linear == pytest.approx(1 / (1 + math.exp(-3.23)), abs=1e-4)  # ComfyUI's mu 3.23 at 2048^2
    assert first_sigma("--model", "flux", "--time-shift", "custom", "--mu", "0") == pytest.approx(0.5, abs=1e-4)


@pytest.mark.parametrize("args,message", [
    (["--mu", "abc", "--time-shift", "custom"], "argument --mu: --mu must be a number from 0 to 20, got 'abc'"),
    (["--mu", "nan", "--time-shift", "custom"], "argument --mu: --mu must be a number from 0 to 20, got 'nan'"),
    (["--mu", "2"], "--mu is the mu of --time-shift custom; this run uses --time-shift model"),
    (["--method", "riflex"], "argument --method: --method 'riflex' is not one of: SEGA, Dy-YaRN, Dy-NTK"),
    (["--model", "sdxl"], "argument --model: unknown model 'sdxl'; `python -m dype_core models` lists them"),
    (["--steps", "0"], "argument --steps: --steps must be a whole number from 1 to 1000, got '0'"),
    (["--lambda-s", "-1"], "argument --lambda-s: --lambda-s must be a number from 0 to 10, got '-1'"),
    (["--frames", "81"], "--frames is for video models (hunyuanvideo, wan, wan-animate2"),
    (["--base-resolution", "1000"], "base resolution 1000 px is not a positive multiple of 16 px"),
    (["--model", "cosmos-predict2", "--time-shift", "linear"], "samples EDM sigmas, which have none"),
    (["--chart", "/nonexistent/folder/plan.png"], "--chart: cannot write /nonexistent/folder/plan.png"),
    (["--chart", "plan.svg"], "--chart writes a PNG: give a path ending in .png, or '-' for none; got plan.svg"),
])
def test_bad_input_is_one_line_naming_it_with_status_2(capsys, args, message):
    status, _, err = run(capsys, "plan", "--width", "2048", "--height", "2048", "--steps", "2", *args)
    assert status == 2 and message in err and len(err.strip().splitlines()) == 1, err


def test_bad_input_from_a_shell_gives_no_traceback():
    done = subprocess.run([sys.executable, "-m", "dype_core", "plan", "--width", "2048", "--height", "2048",
                           "--time-shift", "custom", "--mu", "nan"], capture_output=True, text=True, cwd=ROOT,
                          timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip() == ("python -m dype_core plan: error: argument --mu: --mu must be a number from 0 to "
                                   "20, got 'nan'")


def test_plan_writes_the_chart(capsys, tmp_path):
    chart = tmp_path / "plan.png"
    status, out, _ = run(capsys, "plan", "--width", "4096", "--height", "4096", "--chart", str(chart))
    assert status == 0 and out.splitlines()[-1] == f"chart written to {chart}" and len(out.splitlines()) == 31
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and chart.stat().st_size > 10_000


@pytest.mark.parametrize("inputs,args", [
    ({}, []),
    ({"method": "Dy-NTK", "time_shift": "custom", "mu": 2.5}, ["--method", "Dy-NTK", "--time-shift", "custom",
                                                                "--mu", "2.5"]),
    ({"method": "PI (static)", "scaling": "isotropic"}, ["--method", "PI (static)", "--scaling", "isotropic"]),
    ({"method": "SEGA", "proportional_attention": True}, ["--method", "SEGA", "--proportional-attention", "on"]),
])
def test_the_command_line_prints_the_plan_node_s_own_table(capsys, inputs, args):
    """The DyPE Plan node on a FLUX.1 model (the stand-in host's, with FLUX.1's real rotary layout) prints the
    same table as ``python -m dype_core plan --model flux`` with the same inputs."""
    from comfy.model_base import build_flux_patcher

    patched = run_node(DyPE, model=build_flux_patcher("flux"), **inputs)[0]
    latent = {"samples": torch.zeros(1, 16, 1365 // 8, 4096 // 8)}
    _, table = run_node(DyPEPlan, model=patched, latent=latent, steps=6).result
    status, out, _ = run(capsys, "plan", "--model", "flux", "--width", "4096", "--height", "1360", "--steps", "6",
                         "--chart", "-", *args)
    assert status == 0 and out.strip() == table


def test_the_guide_option_prints_the_plan_node_s_table_of_a_guided_model(capsys):
    """``--guide 0.6`` adds the guide's weight per step, as the Plan node shows it for a model with a DyPE Guide."""
    from comfy.model_base import build_flux_patcher
    from comfyui_dype.nodes.guide_node import DyPEGuide

    model = run_node(DyPE, model=build_flux_patcher("flux"))[0]
    guided = run_node(DyPEGuide, model=model, guide={"samples": torch.ones(1, 16, 128, 128)}, strength=0.6)[0]
    _, table = run_node(DyPEPlan, model=guided, width=2048, height=2048, steps=5).result
    status, out, _ = run(capsys, "plan", "--width", "2048", "--height", "2048", "--steps", "5", "--guide", "0.6",
                         "--chart", "-")
    assert status == 0 and out.strip() == table
    assert "guide weight 0.60 -> 0.06" in table.splitlines()[0]
    assert [line.split()[4] for line in table.splitlines()[2:]] == ["0.600", "0.543", "0.393", "0.207", "0.057"]


def test_sega_and_proportional_attention_show_their_magnitudes_and_factor(capsys):
    """FLUX.1 at 4096^2: SEGA's m_ref (4^0.08) and the range any latent can give, and proportional attention's
    factor sqrt(ln 65536 / ln 4096) for the image's own tokens; at the native size both are inactive."""
    status, out, _ = run(capsys, "plan", "--width", "4096", "--height", "4096", "--steps", "4", "--chart", "-",
                         "--method", "SEGA", "--proportional-attention", "on")
    summary = out.splitlines()[0]
    assert status == 0 and "SEGA magnitudes around m_ref rows 1.117 (any latent: 1..1.45)" in summary
    assert f"proportional attention x{math.sqrt(math.log(65536) / math.log(4096)):.4g}" in summary
    status, out, _ = run(capsys, "plan", "--width", "1024", "--height", "1024", "--steps", "4", "--chart", "-",
                         "--method", "SEGA", "--proportional-attention", "on")
    assert status == 0 and "inactive, at or below the base resolution" in out.splitlines()[0]
