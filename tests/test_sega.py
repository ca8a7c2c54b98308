"""SEGA's math (``dype_core.sega``) and proportional attention's factor (``dype_core.attention``), against the
constants the authors' code and the public ports publish and against properties that pin each step."""

import math

import pytest
import torch
from comfyui_dype.dype_core import FLUX1, DyPESettings, build_table, plain_frequencies, sega
from comfyui_dype.dype_core import frequencies as freqs
from comfyui_dype.dype_core.attention import proportional_factor
from comfyui_dype.dype_core.methods import axis_frequencies

SEGA = DyPESettings(method="sega", dynamic=False)


def smooth(rows: int, cols: int, seed: int = 0, channels: int = 16) -> torch.Tensor:
    """A low-pass latent ``[1, C, rows, cols]``: noise on a coarse grid, upsampled (a structured image)."""
    gen = torch.Generator().manual_seed(seed)
    coarse = torch.randn(1, channels, max(2, rows // 8), max(2, cols // 8), generator=gen)
    return torch.nn.functional.interpolate(coarse, size=(rows, cols), mode="bicubic", align_corners=False)


def noise(rows: int, cols: int, seed: int = 1, channels: int = 16) -> torch.Tensor:
    return torch.randn(1, channels, rows, cols, generator=torch.Generator().manual_seed(seed))


def test_reference_magnitude_is_the_ports_m_ref():
    """``m_ref = (R / 1024)^0.08`` as both ports compute it from pixels: 2K, 4K and 5K on FLUX.1."""
    assert sega.reference_magnitude(1.0) == 1.0
    for side, expected in ((2048, 1.0570), (4096, 1.1173), (5120, 1.1374)):
        assert sega.reference_magnitude(side / 1024) == pytest.approx(expected, abs=5e-5)


def test_pairs_read_bands_from_nyquist_down_to_dc_by_rank():
    """Pair ``i`` reads band ``(1 - i / (P - 1)) (B - 1)``: with a log energy equal to the band index, the raw
    value of every pair is its band position, so the fastest pair has the most energy and the smallest gain,
    and the gains rise monotonically to the slowest pair (DC)."""
    bands, pairs = 128, 28
    energy = torch.exp(torch.arange(bands, dtype=torch.float64))
    gains = sega.pair_gains(energy, pairs, m_ref=2.0, sigma=torch.tensor(1.0))
    assert torch.all(gains[1:] > gains[:-1])
    positions = (1 - torch.arange(pairs, dtype=torch.float64) / (pairs - 1)) * (bands - 1)
    z = (positions - positions.mean()) / positions.std()
    u = torch.tanh(1.5 * z)
    assert torch.allclose(gains, 2.0 * (1 - 0.15 * (u - u.mean())), rtol=0, atol=1e-12)


def test_gains_centre_on_m_ref_and_low_energy_bands_get_more():
    """Above the floor the ``u_i`` sum to zero, so the gains average ``m_ref`` exactly; a pair whose band holds
    less energy than average gets more than ``m_ref``."""
    energy = torch.rand(40, generator=torch.Generator().manual_seed(3), dtype=torch.float64) + 0.01
    gains = sega.pair_gains(energy, 28, m_ref=2.0, sigma=torch.tensor(0.8))
    assert gains.mean().item() == pytest.approx(2.0, abs=1e-12)
    dc, nyquist = gains[-1], gains[0]
    assert (dc > 2.0) == (energy[0] < energy.log().mean().exp())
    assert (nyquist > 2.0) == (energy[-1] < energy.log().mean().exp())


def test_no_spread_gives_m_ref_on_every_pair_and_the_floor_binds_below_one():
    energy = torch.rand(32, generator=torch.Generator().manual_seed(4), dtype=torch.float64) + 0.01
    flat = sega.pair_gains(energy, 28, m_ref=1.1173, sigma=torch.tensor(0.0))
    assert torch.equal(flat, torch.full((28,), 1.1173, dtype=torch.float64))
    floored = sega.pair_gains(energy, 28, m_ref=1.02, sigma=torch.tensor(1.0))
    assert floored.min().item() == 1.0 and floored.max().item() > 1.02
    low, high = sega.gain_range(1.1173)
    assert low == 1.0 and high == pytest.approx(1.1173 * 1.3)
    assert low <= floored.min() and sega.pair_gains(energy, 28, 1.1173, torch.tensor(1.0)).max() <= high


def test_spread_is_near_zero_for_white_noise_and_near_one_for_a_structured_latent():
    """The flatness of white noise is ~1 (sigma ~0); a low-pass latent's is ~0 (sigma ~1); flow noising from the
    structured latent towards noise lowers sigma monotonically."""
    rows = cols = 64
    white = sega.spread(sega.energy_map(noise(rows, cols), 1)).item()
    structured = sega.spread(sega.energy_map(smooth(rows, cols), 1)).item()
    assert white < 0.1 and structured > 0.9
    x0, eps = smooth(rows, cols), noise(rows, cols)
    spreads = [sega.spread(sega.energy_map((1 - t) * x0 + t * eps, 1)).item() for t in (0.1, 0.3, 0.5, 0.7)]
    assert spreads == sorted(spreads, reverse=True) and spreads[-1] > white


def test_energy_map_averages_channels_and_tokens_and_crops_to_whole_tokens():
    latent = torch.randn(2, 4, 9, 11, generator=torch.Generator().manual_seed(0))
    maps = sega.energy_map(latent, 2)
    assert maps.shape == (2, 4, 5)
    expected = latent[..., :8, :10].mean(1).reshape(2, 4, 2, 5, 2).mean((2, 4))
    assert torch.allclose(maps, expected - expected.mean((-2, -1), keepdim=True), atol=1e-6)
    video = torch.randn(1, 4, 3, 8, 8)
    assert sega.energy_map(video, 2).shape == (3, 4, 4)
    with pytest.raises(ValueError, match="B, C, H, W"):
        sega.energy_map(torch.zeros(4, 8, 8), 2)
    with pytest.raises(ValueError, match="at least 4 tokens"):
        sega.axis_energy(torch.zeros(1, 3, 16), -2)


def test_axis_energy_is_the_mean_dft_power_per_band_with_nyquist_in_the_top_band():
    maps = torch.randn(2, 8, 12, generator=torch.Generator().manual_seed(5))
    rows = sega.axis_energy(maps, -2)
    power = torch.fft.rfft(maps, dim=-2).abs().square().mean(dim=(0, 2))  # 5 frequencies for 8 rows
    assert rows.shape == (4,) and torch.allclose(rows[:3], power[:3]) and torch.allclose(rows[3], power[3:].mean())
    assert sega.axis_energy(maps, -1).shape == (6,)


def test_sega_frequencies_are_static_ntk_and_its_gains_follow_the_spectrum():
    scales = (1.0, 4.0, 2.0)
    spectrum = sega.spectrum(smooth(2 * 128, 2 * 256), FLUX1.patch)
    got = freqs.dype(FLUX1, SEGA, scales, 0.5, spectrum=spectrum)
    for axis, scale in enumerate(scales):
        first, end = FLUX1.pair_slices[axis]
        expected = plain_frequencies(FLUX1.axes_dim[axis], FLUX1.theta) if scale == 1 else axis_frequencies(
            "ntk", dim=FLUX1.axes_dim[axis], theta=FLUX1.theta, scale=scale, base_len=64.0, t=None)[0]
        assert torch.equal(got.omega[first:end], expected)
    assert got.gains[0] == 1.0
    rows = sega.pair_gains(spectrum.rows, 28, sega.reference_magnitude(4.0), spectrum.spread)
    assert torch.equal(got.gains[1], rows) and not torch.equal(got.gains[1], got.gains[2])
    without = freqs.dype(FLUX1, SEGA, scales, 0.5)
    assert without.gains[1:] == (sega.reference_magnitude(4.0), sega.reference_magnitude(2.0))


def test_a_table_with_per_pair_gains_scales_each_pair_s_rotation():
    ids = torch.stack(torch.meshgrid(torch.zeros(1), torch.arange(6.0), torch.arange(5.0), indexing="ij"), -1)
    ids = ids.reshape(1, -1, 3)
    spectrum = sega.spectrum(smooth(2 * 128, 2 * 128), FLUX1.patch)
    frequencies = freqs.dype(FLUX1, SEGA, (1.0, 2.0, 2.0), 0.3, spectrum=spectrum)
    table = build_table(ids, FLUX1, frequencies)
    first, end = FLUX1.pair_slices[1]
    angle = ids[0, :, 1, None].double() * frequencies.omega[first:end]
    expected = (torch.cos(angle) * frequencies.gains[1]).float()
    assert torch.equal(table[0, 0, :, first:end, 0, 0], expected)
    assert torch.equal(table[0, 0, :, first:end, 1, 1], expected)


def test_at_the_native_size_sega_is_plain_rope_bitwise():
    spectrum = sega.spectrum(smooth(128, 128), FLUX1.patch)
    ids = torch.stack(torch.meshgrid(torch.zeros(1), torch.arange(64.0), torch.arange(64.0), indexing="ij"), -1)
    ids = ids.reshape(1, -1, 3)
    got = build_table(ids, FLUX1, freqs.dype(FLUX1, SEGA, (1.0, 1.0, 1.0), 0.5, spectrum=spectrum))
    assert torch.equal(got, build_table(ids, FLUX1, freqs.plain(FLUX1)))


def test_sega_has_no_dynamic_form_and_its_time_axis_follows_as_ntk():
    with pytest.raises(ValueError, match="follows the latent"):
        DyPESettings(method="sega", dynamic=True)
    assert DyPESettings(method="sega", dynamic=False, time="follow").for_time().method == "ntk"
    assert SEGA.label == "SEGA"


# --- proportional attention ---------------------------------------------------------------------

def test_proportional_factor_matches_i_max_s_published_value_for_flux_at_4k():
    """I-Max's factor for FLUX.1 at 4096^2 with 512 text tokens: sqrt(ln 66048 / ln 4608) = 1.1470 (the ComfyUI
    port's tests)."""
    assert proportional_factor(65536 + 512, 65536, 4096) == pytest.approx(1.1470, abs=5e-5)


def test_proportional_factor_is_exactly_one_at_or_below_the_base_and_for_cross_attention():
    assert proportional_factor(4096 + 512, 4096, 4096) == 1.0
    assert proportional_factor(1024 + 512, 1024, 4096) == 1.0
    assert proportional_factor(512, 65536, 4096) == 1.0  # keys = text only: a cross-attention
    assert proportional_factor(65536, 65536, 4096) == pytest.approx(math.sqrt(math.log(65536) / math.log(4096)))
