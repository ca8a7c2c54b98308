"""The quality lab: generator, metrics on constructed cases, rotary tables, and a smoke run."""

import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dype_core.attention import proportional_factor
from dype_core.methods import axis_frequencies
from lab import data, metrics
from lab import rope as lab_rope
from lab.__main__ import main
from lab.evaluate import ATTENTION, GATE_ROWS, Cell, canvas, object_trace, rows_of
from lab.model import DiT, ModelConfig
from lab.report import base_quality, comparisons, gate, guide_cost, markdown
from lab.sample import noise_for, sample
from lab.train import TrainConfig, file_hash, load, save, tensor_hash, train

TINY = ModelConfig(image_size=16, patch=4, width=32, depth=1, heads=1, axes_dim=(16, 16))


def _pool(image: np.ndarray, factor: int) -> np.ndarray:
    return F.avg_pool2d(torch.from_numpy(image)[None], factor)[0].numpy()


# --- generator -------------------------------------------------------------------------------

def test_generator_is_deterministic_and_seed_dependent():
    a, b = data.batch(range(4), 32), data.batch(range(4), 32)
    assert torch.equal(a, b)
    assert not torch.equal(a[0], a[1])
    assert a.shape == (4, 3, 32, 32) and a.min() >= -1 and a.max() <= 1


def test_same_scene_at_every_size():
    scene = data.draw_scene(7)
    small = data.object_mask(scene, 32)
    for size in (64, 96, 128):
        big = _pool(data.object_mask(scene, size)[None], size // 32)[0]
        inter, union = np.minimum(small, big).sum(), np.maximum(small, big).sum()
        assert inter / union > 0.9, size
        # the background's low frequencies are shared: box-downsampled, it matches the small field
        corr = np.corrcoef(data.background(7, 32).ravel(), _pool(data.background(7, size)[None], size // 32).ravel())
        assert corr[0, 1] > 0.9, size
    # the object keeps its canvas fraction, so its pixel area grows with the square of the size
    assert data.object_mask(scene, 128).sum() / data.object_mask(scene, 32).sum() == pytest.approx(16, rel=0.1)


def test_background_is_smooth_shading_of_the_same_field_at_every_size():
    for size in (32, 64, 128):
        field = data.background(3, size)
        power = np.abs(np.fft.fft2(field)) ** 2
        k = np.abs(np.fft.fftfreq(size, 1 / size))
        beyond = np.maximum(k[:, None], k[None, :]) > data.BACKGROUND_SHELLS
        assert power[beyond].sum() < 1e-9 * power.sum()  # global shading only: no local detail
        assert field.std() == pytest.approx(data.BACKGROUND_STD, rel=0.6)
    # sampled at pixel centres, the 128 px field box-averaged to 32 px is the 32 px field
    assert np.abs(_pool(data.background(3, 128)[None], 4)[0] - data.background(3, 32)).max() < 0.05


# --- metrics on constructed cases ------------------------------------------------------------

def test_real_images_count_one_object_at_every_size():
    for size in (32, 64, 128):
        assert (metrics.count_objects(data.batch(range(16), size)) == 1).all()


def test_duplicated_object_counts_two():
    # the first scene whose object, mirrored left-right, does not touch itself
    scene = next(sc for sc in map(data.draw_scene, range(100)) if abs(sc.cx - 0.5) > sc.radius + 0.05)
    image = data.render(scene, 64)
    ys, xs = np.nonzero(data.object_mask(scene, 64) > 0)
    copy = image.copy()
    copy[:, ys, 63 - xs] = image[:, ys, xs]  # paste the object, mirrored, into the other half
    assert metrics.count_objects(np.stack([image, copy])).tolist() == [1, 2]


def test_components_on_a_drawn_mask():
    mask = np.zeros((10, 10), dtype=bool)
    mask[1:3, 1:4] = True  # 6 px
    mask[6:9, 6:9] = True  # 9 px
    mask[0, 9] = True  # 1 px
    mask[3, 4] = True  # diagonal neighbour only: a separate 4-connected component
    assert sorted(metrics.components(mask)) == [1, 1, 6, 9]


def test_blur_loses_high_frequency_power():
    real, other = data.batch(range(32), 64), data.batch(range(100, 132), 64)
    blurred = F.avg_pool2d(other, 3, 1, 1, count_include_pad=False)
    real_spectra, freqs = metrics.radial_spectrum(real)
    _, hf_same = metrics.spectrum_error(metrics.radial_spectrum(other)[0], real_spectra, freqs)
    _, hf_blur = metrics.spectrum_error(metrics.radial_spectrum(blurred)[0], real_spectra, freqs)
    assert abs(hf_same) < 0.1
    assert hf_blur < -0.5


def test_tiled_image_scores_periodic():
    real = data.batch(range(16), 64).numpy()
    tiled = np.tile(data.batch(range(200, 216), 32).numpy(), (1, 1, 2, 2))
    assert metrics.periodicity(tiled).min() > 0.7
    assert metrics.periodicity(tiled).min() > metrics.periodicity(real).max() + 0.2


def test_patch_swd_separates_a_different_distribution():
    real, other = data.batch(range(32), 32), data.batch(range(300, 332), 32)
    tiled = torch.tile(data.batch(range(400, 432), 16), (1, 1, 2, 2))
    blurred = F.avg_pool2d(other, 3, 1, 1, count_include_pad=False)
    same = metrics.PatchSWD(other, real)()
    assert metrics.PatchSWD(real, real)() < same
    assert metrics.PatchSWD(tiled, real)() > same
    assert metrics.PatchSWD(blurred, real)() > 2 * same


def test_bootstrap_interval_of_a_mean():
    values = np.random.default_rng(0).standard_normal(400)
    est, low, high = metrics.bootstrap(lambda idx: float(values[idx].mean()), values.size, resamples=500)
    assert est == pytest.approx(values.mean())
    assert low < est < high
    assert high - low == pytest.approx(2 * 1.96 / math.sqrt(400), rel=0.25)


# --- rotary tables -----------------------------------------------------------------------------

def _expected_table(rows, cols, omega_rows, omega_cols, gain_rows=1.0, gain_cols=1.0):
    """FLUX's [[cos, -sin], [sin, cos]] per pair, written out from the frequencies."""
    pos = torch.stack(torch.meshgrid(torch.arange(rows), torch.arange(cols), indexing="ij"), -1).reshape(-1, 2)
    blocks = []
    for axis, omega, gain in ((0, omega_rows, gain_rows), (1, omega_cols, gain_cols)):
        angle = pos[:, axis, None].double() * omega
        cos, sin = torch.cos(angle) * gain, torch.sin(angle) * gain
        blocks.append(torch.stack([torch.stack([cos, -sin], -1), torch.stack([sin, cos], -1)], -2))
    return torch.cat(blocks, dim=1).float()[None, None]


def test_plain_table_is_plain_rope():
    cfg = ModelConfig()
    lay = cfg.layout()
    d = cfg.axes_dim[0]
    omega = cfg.theta ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)
    expected = _expected_table(12, 20, omega, omega)
    assert torch.allclose(lab_rope.table(lay, 12, 20, None, 1.0), expected, atol=1e-6)
    # every method is plain RoPE at the training size (scale 1), bitwise
    base = cfg.base_tokens
    plain = lab_rope.table(lay, base, base, None, 1.0)
    for settings in lab_rope.METHODS.values():
        for t in (1.0, 0.4, 0.0):
            assert torch.equal(lab_rope.table(lay, base, base, settings, t), plain)


@pytest.mark.parametrize("label", [m for m in lab_rope.METHODS if m not in ("none", "SEGA")])
@pytest.mark.parametrize("t", [1.0, 0.5, 0.05])
def test_method_tables_equal_dype_core_per_axis(label, t):
    cfg = ModelConfig()
    lay = cfg.layout()
    settings = lab_rope.METHODS[label]
    base = cfg.base_tokens
    rows, cols = 2 * base, 3 * base  # scales 2 (rows) and 3 (cols)
    scales = (2.0, 3.0) if settings.scaling == "per_axis" else (math.sqrt(6),) * 2
    per_axis = [
        axis_frequencies(settings.method, dim=cfg.axes_dim[a], theta=cfg.theta, scale=scales[a], base_len=float(base),
                         t=t if settings.dynamic else None, lambda_s=2.0, lambda_t=2.0)
        for a in (0, 1)
    ]
    gains = [g if settings.attention_scale else 1.0 for _, g in per_axis]
    expected = _expected_table(rows, cols, per_axis[0][0], per_axis[1][0], *gains)
    got = lab_rope.table(lay, rows, cols, settings, t)
    assert torch.allclose(got, expected, atol=1e-6)
    assert not torch.allclose(got, lab_rope.table(lay, rows, cols, None, t))


def test_sega_tables_follow_each_image_of_the_batch_on_its_own():
    """The lab's SEGA table of a batch is each image's own (dype_core with that image's spectrum):
    an image's table does not depend on the batch it is drawn in, and two images differ."""
    cfg = ModelConfig()
    lay, settings, base = cfg.layout(), lab_rope.METHODS["SEGA"], cfg.base_tokens
    rows, cols = 2 * base, 3 * base
    gen = torch.Generator().manual_seed(0)
    smooth = torch.nn.functional.interpolate(torch.randn(1, 3, 8, 12, generator=gen), size=(rows * 2, cols * 2),
                                             mode="bilinear")
    latents = torch.cat([smooth, torch.randn(1, 3, rows * 2, cols * 2, generator=gen)])
    both = lab_rope.table(lay, rows, cols, settings, 0.5, latents)
    assert both.shape[0] == 2
    for i in range(2):
        assert torch.equal(both[i:i + 1], lab_rope.table(lay, rows, cols, settings, 0.5, latents[i:i + 1]))
    assert not torch.allclose(both[0], both[1])
    with pytest.raises(ValueError, match="latent"):
        lab_rope.table(lay, rows, cols, settings, 0.5)


def test_apply_rope_rotates_interleaved_pairs_like_complex_multiplication():
    cfg = ModelConfig()
    x = torch.randn(2, cfg.heads, 64, sum(cfg.axes_dim))
    tab = lab_rope.table(cfg.layout(), 8, 8, None, 1.0)
    pos = lab_rope.position_ids(8, 8)[0]
    d = cfg.axes_dim[0]
    omega = cfg.theta ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)
    angle = torch.cat([pos[:, 0, None].double() * omega, pos[:, 1, None].double() * omega], -1)
    rotated = torch.view_as_complex(x.double().reshape(*x.shape[:-1], -1, 2).contiguous()) * torch.polar(
        torch.ones_like(angle), angle)
    expected = torch.view_as_real(rotated).reshape(x.shape).float()
    assert torch.allclose(lab_rope.apply_rope(x, tab), expected, atol=1e-5)


# --- smoke run ---------------------------------------------------------------------------------

def test_two_step_training_is_reproducible_and_samples(tmp_path):
    config = TrainConfig(steps=2, batch=4, warmup=1, sizes=(12, 16), model=TINY)
    model_a, losses = train(config, log_every=0)
    model_b, _ = train(config, log_every=0)
    assert len(losses) == 2 and all(math.isfinite(v) for v in losses)
    assert tensor_hash(model_a.state_dict()) == tensor_hash(model_b.state_dict())
    digest = save(model_a, config, tmp_path / "a.safetensors")
    save(model_b, config, tmp_path / "b.safetensors")
    assert file_hash(tmp_path / "a.safetensors") == file_hash(tmp_path / "b.safetensors")
    loaded, recipe = load(tmp_path / "a.safetensors")
    assert loaded.config == TINY and recipe["steps"] == 2 and recipe["sizes"] == [12, 16]
    assert tensor_hash(loaded.state_dict()) == digest
    fresh = DiT(TINY)
    assert tensor_hash(fresh.state_dict()) != digest  # training changed the weights
    for label in ("none", "Dy-YaRN", "Lumina"):
        out = sample(loaded, noise_for(0, 2, 32), data.conditions(range(2)), lab_rope.METHODS[label], steps=2)
        assert out.shape == (2, 3, 32, 32) and torch.isfinite(out).all()


# --- proportional attention ---------------------------------------------------------------------

def test_proportional_attention_keeps_the_attention_entropy_of_training():
    """Jin et al.'s factor keeps H / log N of softmax attention constant as N grows (Gaussian
    logits of variance sigma^2: H ~ log N - lambda^2 sigma^2 / 2), which plain attention does not."""
    gen = torch.Generator().manual_seed(0)
    base, sigma = 256, 1.5

    def normalised_entropy(tokens: int, scale: float) -> float:
        logits = scale * sigma * torch.randn(512, tokens, generator=gen, dtype=torch.float64)
        p = torch.softmax(logits, dim=-1)
        return float((-(p * p.log()).sum(-1)).mean() / math.log(tokens))

    trained = normalised_entropy(base, 1.0)
    assert proportional_factor(base, base, base) == 1.0 and proportional_factor(100, 100, base) == 1.0
    for tokens in (1024, 4096):
        factor = proportional_factor(tokens, tokens, base)
        assert factor == pytest.approx(math.sqrt(math.log(tokens) / math.log(base)))
        assert normalised_entropy(tokens, factor) == pytest.approx(trained, abs=0.01)
        assert normalised_entropy(tokens, 1.0) > trained + 0.03  # diluted without it


def test_proportional_attention_is_bitwise_inert_at_the_training_size_and_acts_above_it():
    torch.manual_seed(0)
    model = DiT(TINY).eval()
    with torch.no_grad():  # a trained-like model: adaLN-Zero's zero gates and output would hide attention
        for p in model.parameters():
            p.normal_(0.0, 0.2)
    base, prompt = TINY.base_tokens, data.conditions(range(2))
    for label in ("none", "YaRN"):
        settings = lab_rope.METHODS[label]
        at1 = [sample(model, noise_for(0, 2, TINY.image_size), prompt, settings, 2, proportional=p)
               for p in (False, True)]
        assert torch.equal(at1[0], at1[1])
        at2 = [sample(model, noise_for(0, 2, 2 * TINY.image_size), prompt, settings, 2, proportional=p)
               for p in (False, True)]
        assert not torch.allclose(at2[0], at2[1])
    # the factor reaches every block's logits: lambda = 1 is SDPA's own scale, bitwise
    x, t = torch.randn(1, 3, 2 * TINY.image_size, 2 * TINY.image_size), torch.full((1,), 0.5)
    table = lab_rope.table(TINY.layout(), 2 * base, 2 * base, None, 0.5)
    assert torch.equal(model(x, t, prompt[:1], table), model(x, t, prompt[:1], table, 1.0))
    assert not torch.allclose(model(x, t, prompt[:1], table), model(x, t, prompt[:1], table, 1.3))


# --- evaluation plan and report ------------------------------------------------------------------

def test_canvas_sizes_and_rows():
    assert canvas(32, 1.25, 2) == 40 and canvas(32, 1.5, 2) == 48 and canvas(32, 4, 2) == 128
    with pytest.raises(ValueError, match="not a multiple of the 2 px patch"):
        canvas(32, 1.1, 2)
    rows = rows_of(ATTENTION)
    assert list(rows)[:2] == ["none", "PI"] and rows["YaRN+PA"] == (lab_rope.METHODS["YaRN"], True)
    assert rows["Dy-NTK"] == (lab_rope.METHODS["Dy-NTK"], False) and len(rows) == 2 * len(lab_rope.METHODS)


def _cells(one, zero, objects, swd, period, lf=0.1, hf=0.0):
    values = {"one": one, "zero": zero, "objects": objects, "swd": swd, "period": period, "lf": lf, "hf": hf}
    return {k: Cell(v, v - 0.01, v + 0.01) for k, v in values.items()}


def _result(at1, above, extra_rows=()):
    real = {k: _cells(1.0, 0.0, 1.0, 0.05, 0.2) for k in ("1", "2")}
    rows = {"real": real, "none": {"1": at1, "2": above}, "none+PA": {"1": at1, "2": above}}
    rows |= {row: {"1": at1, "2": _cells(0.8, 0.0, 1.1, 0.09, 0.2)} for row in extra_rows}
    return rows


def test_gate_needs_a_good_model_and_repetition():
    good, weak = _cells(0.9, 0.05, 1.0, 0.09, 0.2), _cells(0.5, 0.3, 1.0, 0.14, 0.2)
    repeated, collapsed = _cells(0.2, 0.0, 2.5, 0.3, 0.6), _cells(0.0, 1.0, 0.0, 0.3, 0.1)
    passed, lines = gate(_result(good, repeated), [1, 2], "")
    assert passed and "repetition: duplicated objects (objects 2.50" in lines[0] and "periodic texture" in lines[0]
    passed, lines = gate(_result(good, collapsed), [1, 2], "+PA")
    assert not passed and "collapse, not repetition: object lost" in lines[0] and "fails measurably" in lines[0]
    texture = _cells(0.0, 1.0, 0.0, 0.3, 0.6)  # the object is lost and the texture repeats
    passed, lines = gate(_result(good, texture), [1, 2], "")
    assert passed and "repetition: periodic texture" in lines[0] and "object lost" in lines[0]
    passed, _ = gate(_result(weak, repeated), [1, 2], "")
    assert not passed  # repetition, but the model is not good at 1x
    assert base_quality(_result(weak, repeated))[1].endswith("not good enough")


@pytest.mark.parametrize("compared", [["", "+PA"], ["+PA"]])
def test_report_states_every_claim_of_each_treatment_whose_gate_passed(compared):
    good, repeated = _cells(0.9, 0.05, 1.0, 0.09, 0.2), _cells(0.2, 0.0, 2.5, 0.3, 0.6)
    result = _result(good, repeated, [r for r in rows_of(ATTENTION) if not r.startswith("none")])
    if compared == ["+PA"]:  # plain RoPE with the trained attention does not repeat
        result["none"]["2"] = _cells(0.85, 0.05, 1.0, 0.1, 0.2)
    diffs = {f"{a}-{b}@{m}@{s}": Cell(-0.02, -0.03, -0.01) for a, b, m, s in comparisons([1, 2], compared)}
    facts = {"scales": [1, 2], "counts": {"1": 32, "2": 32}, "compared": compared, "base": 32, "patch": 2,
             "steps": 20}
    text = markdown(result, diffs, facts)
    assert text.count("**Gate passed**") == len(compared)
    assert ("claims, point by point, with trained attention" in text) == ("" in compared)
    assert "claims, point by point, with proportional attention" in text
    assert "| Dy-YaRN | -0.02 [-0.03, -0.01] | -0.020 [-0.030, -0.010] |" in text  # attention effect row
    assert "SWD -0.020 [-0.030, -0.010] confirmed" in text  # Dy-* beats its static form
    assert "| Dy-PI+G - Dy-PI | -0.02 [-0.03, -0.01] |" in text  # the guide's effect on P(one object)
    assert "| SEGA+PA+GB - SEGA+PA+G | -0.020 [-0.030, -0.010] |" in text  # HiFlow's projection against I-Max's


def test_the_guide_s_cost_counts_the_native_pass_per_sample():
    facts = {"scales": [1, 2], "counts": {"1": 32, "2": 16},
             "cell_seconds": {"none@1": 16.0, "PI@2": 32.0, "PI+G@2": 40.0, "none@2": 48.0, "none+G@2": 40.0}}
    assert guide_cost(facts) == ["- The guide's native pass is the 1x sample: 0.50 s per image.",
                                 "- 2x: an unguided sample takes 2.50 s per image; the native pass adds 20% to it"]


def test_no_comparison_without_a_passing_gate():
    good, collapsed = _cells(0.9, 0.05, 1.0, 0.09, 0.2), _cells(0.0, 1.0, 0.0, 0.3, 0.1)
    assert comparisons([1, 2], []) == []
    facts = {"scales": [1, 2], "counts": {"1": 32, "2": 32}, "compared": [], "base": 32, "patch": 2, "steps": 20}
    text = markdown(_result(good, collapsed), {}, facts)
    assert "**Gate not passed**" in text and "it counts only once plain RoPE fails by repetition" in text
    assert "claims, point by point" not in text
    text = markdown(_result(good, _cells(0.2, 0.0, 2.5, 0.3, 0.6)), {}, facts)  # passed, stopped by --gate-only
    assert "**Gate passed**" in text and "this run stopped after the gate (`--gate-only`)" in text


def test_evaluate_runs_the_gate_stage_end_to_end(tmp_path):
    """``python -m lab evaluate`` on a barely trained tiny model: the gate rows are sampled at a
    fractional scale, the gate fails (the model is not good at 1x), so no comparison is sampled."""
    config = TrainConfig(steps=2, batch=4, warmup=1, sizes=(12, 16), model=TINY)
    weights = tmp_path / "tiny.safetensors"
    save(train(config, log_every=0)[0], config, weights)
    main(["evaluate", "--weights", str(weights), "--scales", "1", "1.5", "--counts", "3", "2", "--steps", "2",
          "--runs", str(tmp_path / "runs"), "--docs", str(tmp_path / "docs")])
    assert "it counts only once plain RoPE fails" in (tmp_path / "docs" / "results.md").read_text()
    facts = json.loads((tmp_path / "runs" / "facts.json").read_text())
    assert facts["rows"] == list(GATE_ROWS) and facts["compared"] == [] and facts["counts"] == {"1": 3, "1.5": 2}
    stored = np.load(tmp_path / "runs" / "samples.npz")
    assert sorted(stored.files) == ["none+PA@1.5", "none@1", "none@1.5"] and stored["none@1.5"].shape == (2, 3, 24, 24)
    text = (tmp_path / "docs" / "results.md").read_text()
    assert "1.5x = 24 px (2 samples)" in text
    assert (tmp_path / "docs" / "grid.png").stat().st_size > 0


def test_object_trace_follows_the_clean_image_prediction_to_the_sample(tmp_path, capsys):
    """The trace sees ``x_t - t v`` at every step; at the last step that is the sample itself, so
    the trace ends at the object counts of the samples ``sample`` returns."""
    torch.manual_seed(0)
    model = DiT(TINY).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.2)
    seen = []
    out = sample(model, noise_for(0, 3, 24), data.conditions(range(3)), lab_rope.METHODS["Dy-PI"], 4,
                 on_step=lambda t, x0: seen.append((t, x0)))
    assert [t for t, _ in seen] == [1.0, 0.75, 0.5, 0.25] and torch.equal(seen[-1][1], out)
    trace = object_trace(model, "Dy-PI", 1.5, 3, 4)
    objects = metrics.count_objects(out.clamp(-1, 1))
    assert [t for t, _, _ in trace] == [1.0, 0.75, 0.5, 0.25]
    assert trace[-1][1:] == (float(np.mean(objects == 1)), float(np.mean(objects == 0)))
    weights = tmp_path / "tiny.safetensors"
    save(model, TrainConfig(sizes=(12, 16), model=TINY), weights)
    main(["trace", "--weights", str(weights), "--rows", "none", "Dy-PI+PA", "--scale", "1.5", "--count", "2",
          "--steps", "3"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[2] == "| t | none | Dy-PI+PA |" and len(lines) == 4 + 3 and lines[4].startswith("| 1.00 | ")
    with pytest.raises(SystemExit, match="unknown lab row .Dy-XL.: choose from"):
        main(["trace", "--weights", str(weights), "--rows", "Dy-XL"])
