"""DyPE on the time axis (issue 14): longer videos than Wan and HunyuanVideo were trained for, on the stand-in.

The time axis is the host's, bitwise, up to the trained clip length (Wan 21 latent frames, HunyuanVideo 33);
above it, the main video's time pairs get the chosen method's frequencies with ``s_t = T / T_train`` (RIFLEx by
default) while rows and columns, references and later calls keep what they had. RIFLEx's intrinsic pair and its
new frequency are pinned against numbers worked out by hand from the paper's definitions.
"""

import math
from dataclasses import replace

import pytest
import torch
from comfyui_dype.dype_core import DyPESettings, axis_frequencies, build_table, plan, sigma_to_t
from comfyui_dype.dype_core import frequencies as freqs
from comfyui_dype.dype_core.methods import intrinsic_index
from comfyui_dype.nodes.patch import patch_of
from dype_helpers import dype_node
from families_a import build
from families_b import SPECS
from test_families_b import dype, exact_ids, record, run

BY_NAME = {spec.name: spec for spec in SPECS}
#: A spatial grid at the spatial base the tests set (4 tokens), so that only time can scale.
GRID = (4, 4)
TRAINED = {"Wan": 21, "HunyuanVideo": 33}
#: Longer clips: past the intrinsic pair's period too (Wan's is 22.06 latent frames, HunyuanVideo's 50.27), so
#: that RIFLEx changes it.
LONGER = {"Wan": 26, "HunyuanVideo": 54}


# --- RIFLEx, by hand ---------------------------------------------------------------------------------------------


def test_riflex_picks_wan_s_fourth_time_pair_and_gives_it_the_new_length_s_period():
    """Wan's time axis: 44 dims, theta 1e4, so periods 2 pi 1e4^(2j/44) = 6.28, 9.55, 14.51, 22.06, 33.53, ...
    Trained on 21 latent frames: pairs 0-2 turned fully, pair 3 (22.06 frames) is the first that did not, so it
    is the intrinsic one (the paper's k = 4, counting from 1). At 2x (42 frames) it gets w' = 2 pi / 42."""
    periods = [2 * math.pi * 1e4 ** (2 * j / 44) for j in range(5)]
    assert [round(p, 2) for p in periods] == [6.28, 9.55, 14.51, 22.06, 33.53]
    omega, gain = axis_frequencies("riflex", dim=44, theta=1e4, scale=2.0, base_len=21, t=None)
    plain, _ = axis_frequencies("none", dim=44, theta=1e4, scale=1.0, base_len=21, t=None)
    assert intrinsic_index(plain, 21) == 3 and gain == 1.0
    assert float(omega[3]) == 2 * math.pi / 42
    assert torch.equal(torch.cat([omega[:3], omega[4:]]), torch.cat([plain[:3], plain[4:]]))


def test_riflex_on_hunyuanvideo_is_the_official_k4_and_keeps_a_pair_whose_period_already_covers():
    """HunyuanVideo: 16 dims, theta 256: periods 6.28, 12.57, 25.13, 50.27; trained on 33 latent frames the
    intrinsic pair is 3 (50.27 frames; the official code's k = 4). At 48 frames its period already covers the
    clip (kept); at 66 frames it gets 2 pi / 66."""
    plain, _ = axis_frequencies("none", dim=16, theta=256.0, scale=1.0, base_len=33, t=None)
    assert intrinsic_index(plain, 33) == 3 and round(2 * math.pi / float(plain[3]), 2) == 50.27
    kept, _ = axis_frequencies("riflex", dim=16, theta=256.0, scale=48 / 33, base_len=33, t=None)
    assert torch.equal(kept, plain)
    lowered, _ = axis_frequencies("riflex", dim=16, theta=256.0, scale=2.0, base_len=33, t=None)
    assert float(lowered[3]) == 2 * math.pi / 66


def test_dy_riflex_goes_from_riflex_at_pure_noise_to_plain_at_the_last_step():
    at = dict(dim=44, theta=1e4, scale=2.0, base_len=21, lambda_t=2.0)
    static, _ = axis_frequencies("riflex", t=None, **at)
    plain, _ = axis_frequencies("none", t=None, **{**at, "scale": 1.0})
    assert torch.equal(axis_frequencies("riflex", t=1.0, **at)[0], static)
    assert torch.equal(axis_frequencies("riflex", t=0.0, **at)[0], plain)
    middle = float(axis_frequencies("riflex", t=0.5, **at)[0][3])
    assert middle == pytest.approx(float(plain[3]) * (float(static[3]) / float(plain[3])) ** 0.25, rel=1e-12)


# --- the node, per video family -------------------------------------------------------------------------------


def video(name: str, frames: int):
    spec = replace(BY_NAME[name], frames=frames)
    return spec, spec.build()


@pytest.mark.parametrize("name", list(TRAINED))
def test_up_to_the_trained_length_time_is_bitwise_the_host_s(name):
    spec, model = video(name, TRAINED[name])
    for time_axis in ("RIFLEx", "follow method"):
        patched = dype(model, spec, base_resolution=GRID[0] * spec.px, time_axis=time_axis)
        assert torch.equal(run(patched, spec, GRID, steps=2), run(model, spec, GRID, steps=2))


@pytest.mark.parametrize("name", list(TRAINED))
@pytest.mark.parametrize("time_axis,follows_sigma", [("RIFLEx", False), ("Dy-RIFLEx", True),
                                                     ("follow method", True)])
def test_above_it_only_the_video_s_time_pairs_change(name, time_axis, follows_sigma):
    frames = LONGER[name]
    spec, model = video(name, frames)
    patched = dype(model, spec, base_resolution=GRID[0] * spec.px, time_axis=time_axis)
    forwards = record(patched, spec)
    out = run(patched, spec, GRID, cfg=1.0, scheduler="karras")
    assert torch.isfinite(out).all()
    layout = patch_of(patched).layout
    original = patched.get_model_object(spec.embedder).original
    settings = DyPESettings(time={"RIFLEx": "riflex", "Dy-RIFLEx": "dy-riflex"}.get(time_axis, "follow"))
    scales = (frames / TRAINED[name], 1.0, 1.0)
    time_pairs = slice(*layout.pair_slices[layout.time_axis])
    count = frames * GRID[0] * GRID[1]
    tables = []
    for sigma, ((ids, table), *later), _ in forwards:
        start = ids.shape[1] - count if spec.image_last else 0
        image = slice(start, start + count)
        exact = exact_ids(spec, ids, image, frames, GRID)
        expected = build_table(exact[:, image], layout, freqs.dype(layout, settings, scales, sigma_to_t(sigma)))
        ours, host = table[:, :, image], original(exact)[:, :, image]
        assert torch.equal(ours, expected)
        spatial = torch.ones(ours.shape[-3], dtype=torch.bool)
        spatial[time_pairs] = False
        assert torch.equal(ours[..., spatial, :, :], host[..., spatial, :, :])  # rows and columns: the host's
        assert not torch.equal(ours, host)
        rest = torch.ones(ids.shape[1], dtype=torch.bool)
        rest[image] = False
        assert torch.equal(table[:, :, rest], original(ids)[:, :, rest])  # text, references: the host's
        assert all(torch.equal(t, original(i)) for i, t in later)  # Wan's in-context references
        tables.append(ours)
    assert torch.equal(tables[0], tables[-1]) != follows_sigma


def test_time_and_space_combine():
    spec, model = video("Wan", 25)
    patched = dype(model, spec, base_resolution=GRID[0] * spec.px)
    forwards = record(patched, spec)
    run(patched, spec, (6, 5), cfg=1.0)
    layout = patch_of(patched).layout
    sigma, ((ids, table), *_), _ = forwards[0]
    exact = exact_ids(spec, ids, slice(0, 25 * 30), 25, (6, 5))
    scales = (25 / 21, 6 / 4, 5 / 4)
    assert torch.equal(table, build_table(exact, layout, freqs.dype(layout, DyPESettings(), scales, sigma_to_t(sigma))))


def test_a_single_image_wan_and_qwen_layered_frames_are_never_scaled_in_time():
    spec, model = video("Wan", 1)
    assert patch_of(dype(model, spec)).scales(1, (4, 4))[0] == 1.0
    result = plan(patch_of(dype(model, spec)).layout, 1280, 720, [1.0, 0.0], frames=1)
    assert result.time_scale == 1.0 and "time untouched" in result.summary()
    layered = patch_of(dype_node(build("qwen_layered"), base_resolution=128)[0])
    assert layered.layout.base_frames is None and layered.scales(40, (4, 4)) == (1.0, 1.0, 1.0)


def test_the_plan_and_the_log_show_the_time_axis():
    spec, model = video("Wan", 41)
    patch = patch_of(dype(model, spec))
    result = plan(patch.layout, 1280, 720, [1.0, 0.5, 0.0], patch.settings, frames=41)
    assert "41 latent frames (trained 21): time x1.95, RIFLEx" in result.summary()
    assert "time: untouched/interp/blended/extrap" in result.table()
    assert result.active  # 1280 x 720 is inside the spatial base: the time axis alone makes DyPE act
