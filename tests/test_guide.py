"""The low-resolution guide's math (``dype_core.guide``): the two projections, the correction, where a sigma
is in a schedule and the weights there, and the resizing of a guide to the sampled latent."""

import math

import pytest
import torch
from comfyui_dype.dype_core import guide
from comfyui_dype.dype_core.menu import GUIDE_PROJECTIONS, guide_projection


def _noise(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


def test_block_mean_is_the_mean_of_each_block_spread_back_over_it():
    x = _noise(2, 3, 6, 8)
    block = guide.BlockMean(2)
    means = x.reshape(2, 3, 3, 2, 4, 2).mean(dim=(3, 5))
    assert torch.allclose(block.low(x), means, atol=1e-6)
    spread = block.add(torch.zeros_like(x), means, 1.0)
    assert torch.equal(spread[..., 0, 0], means[..., 0, 0]) and torch.equal(spread[..., 1, 1], means[..., 0, 0])
    assert torch.equal(spread[..., 5, 7], means[..., 2, 3])


def test_block_mean_on_a_side_that_is_not_whole_blocks_averages_the_smaller_last_block():
    x = _noise(1, 1, 5, 3)
    low = guide.BlockMean(2).low(x)
    assert low.shape == (1, 1, 3, 2)
    assert torch.allclose(low[0, 0, 2, 1], x[0, 0, 4, 2])  # a 1x1 corner block
    assert torch.allclose(low[0, 0, 2, 0], x[0, 0, 4, :2].mean())
    assert guide.BlockMean(2).add(x, low, 0.5).shape == x.shape


@pytest.mark.parametrize("projection", list(GUIDE_PROJECTIONS.values()), ids=list(GUIDE_PROJECTIONS))
def test_weight_zero_returns_the_prediction_bitwise(projection):
    x0, target = _noise(2, 4, 16, 16), _noise(2, 4, 16, 16, seed=1)
    assert torch.equal(guide.guided(x0, projection.low(target), 0.0, projection), x0)
    assert torch.equal(guide.guided(x0, projection.low(target), torch.tensor(0.0), projection), x0)


def test_block_mean_at_full_weight_takes_the_guide_s_low_band_and_keeps_the_prediction_s_detail():
    """``P`` is a projection: at weight 1, ``P(x0') = P(G)`` and ``x0' - P(x0') = x0 - P(x0)`` exactly."""
    block = guide.BlockMean(2)
    x0, target = _noise(1, 4, 16, 16), _noise(1, 4, 16, 16, seed=1) * 3
    out = guide.guided(x0, block.low(target), 1.0, block)
    assert torch.allclose(block.low(out), block.low(target), atol=1e-5)

    def detail(x):
        return x - block.add(torch.zeros_like(x), block.low(x), 1.0)

    assert torch.allclose(detail(out), detail(x0), atol=1e-5)
    half = guide.guided(x0, block.low(target), 0.5, block)
    assert torch.allclose(block.low(half), (block.low(x0) + block.low(target)) / 2, atol=1e-5)


def test_butterworth_response_is_hiflow_s_and_passes_the_mean():
    """``H(d) = 1 / (1 + (d / 0.4)^8)``, ``d`` = 1 at Nyquist: 1 at DC, 1/2 at the cut-off, and a checkerboard
    (``d = sqrt 2``) is scaled by exactly ``H(sqrt 2)``."""
    butterworth = guide.Butterworth()
    assert (butterworth.cutoff, butterworth.order) == (0.4, 4)
    response = butterworth.response(20, 20, torch.device("cpu"))
    assert response[0, 0] == 1.0
    assert math.isclose(float(response[0, 4]), 0.5, rel_tol=1e-6)  # d = 2 * 4 / 20 = 0.4
    assert bool((response[0, 1:] < response[0, :-1]).all())
    constant = torch.full((1, 2, 20, 20), 0.7)
    assert torch.allclose(butterworth.low(constant), constant, atol=1e-6)
    checker = (torch.arange(20)[:, None] + torch.arange(20)[None, :]).remainder(2).float() * 2 - 1
    expected = 1.0 / (1.0 + (math.sqrt(2.0) / 0.4) ** 8)
    assert torch.allclose(butterworth.low(checker[None, None]), checker * expected, atol=1e-7)


def test_butterworth_keeps_the_dtype_and_computes_in_float32():
    x = _noise(1, 2, 8, 8).to(torch.bfloat16)
    out = guide.Butterworth().low(x)
    assert out.dtype == torch.bfloat16 and out.shape == x.shape


def test_position_is_the_fractional_step_of_a_sigma_in_the_schedule():
    sigmas = torch.tensor([1.0, 0.75, 0.5, 0.25, 0.0])
    for sigma, expected in ((1.0, 0.0), (0.75, 1.0), (0.625, 1.5), (0.25, 3.0), (0.0, 4.0), (1.4, 0.0)):
        assert float(guide.position(torch.tensor([sigma, sigma]), sigmas)) == pytest.approx(expected)
    shifted = torch.tensor([1.0, 0.9, 0.6, 0.2, 0.0])
    assert float(guide.position(torch.tensor(0.4), shifted)) == pytest.approx(2.5)


def test_a_repeated_sigma_counts_once_passed():
    sigmas = torch.tensor([1.0, 0.5, 0.5, 0.0])
    assert float(guide.position(torch.tensor(0.5), sigmas)) == pytest.approx(1.0)
    assert float(guide.position(torch.tensor(0.25), sigmas)) == pytest.approx(2.5)


@pytest.mark.parametrize("sigmas", [
    torch.linspace(1, 0, 29),                                        # uniform
    torch.cat([torch.linspace(1, 0.03, 12) ** 3, torch.zeros(1)]),   # karras-like, very uneven
    torch.tensor([0.62, 0.41, 0.2, 0.0]),                            # the tail of a schedule (denoise < 1)
    torch.tensor([14.6, 7.0, 2.1, 0.4, 0.002]),                      # EDM sigmas (Cosmos), no final 0
], ids=["uniform", "karras", "denoise", "edm"])
def test_the_weight_at_each_step_is_i_max_s_cosine_of_the_step_whatever_the_schedule(sigmas):
    steps = sigmas.numel() - 1
    expected = [0.7 * 0.5 * (1 + math.cos(math.pi * i / steps)) for i in range(steps)]
    assert guide.weights(sigmas, 0.7) == pytest.approx(expected, abs=1e-6)
    assert guide.weights(sigmas, 0.7)[0] == pytest.approx(0.7)
    assert float(guide.weight(sigmas[-1], sigmas, 1.0)) == pytest.approx(0.0, abs=1e-7)


def test_between_two_steps_the_weight_is_that_of_the_fractional_step():
    sigmas = torch.tensor([1.0, 0.6, 0.3, 0.0])
    expected = 0.5 * (1 + math.cos(math.pi * 1.5 / 3))
    assert float(guide.weight(torch.tensor(0.45), sigmas, 1.0)) == pytest.approx(expected)


def test_resize_keeps_a_guide_of_the_right_size_and_stretches_a_constant_to_a_constant():
    latent = _noise(2, 4, 8, 12)
    assert torch.equal(guide.resize(latent, latent.shape), latent)
    constant = torch.full((1, 4, 8, 12), -0.3)
    up = guide.resize(constant, (1, 4, 16, 20))
    assert up.shape == (1, 4, 16, 20) and torch.allclose(up, torch.full_like(up, -0.3), atol=1e-6)
    down = guide.resize(_noise(1, 4, 32, 32), (1, 4, 8, 8))
    assert down.shape == (1, 4, 8, 8)


def test_resize_of_a_video_keeps_its_first_and_last_frames_and_interpolates_between():
    clip = torch.arange(3.0).reshape(1, 1, 3, 1, 1).expand(1, 2, 3, 4, 4)
    out = guide.resize(clip, (1, 2, 5, 8, 8))
    assert out.shape == (1, 2, 5, 8, 8)
    assert torch.allclose(out[0, 0, :, 3, 3], torch.tensor([0.0, 0.5, 1.0, 1.5, 2.0]), atol=1e-6)
    still = guide.resize(torch.ones(1, 2, 1, 4, 4), (1, 2, 3, 4, 4))
    assert torch.equal(still, torch.ones(1, 2, 3, 4, 4))


def test_resize_refuses_an_image_guide_for_a_video_latent():
    with pytest.raises(ValueError, match="cannot be resized"):
        guide.resize(_noise(1, 4, 8, 8), (1, 4, 3, 8, 8))


def test_the_menu_checks_strength_and_projection():
    assert guide_projection(0.5, "I-Max block mean") == guide.BlockMean(2)
    for bad in (-0.1, 1.5, float("nan"), True):
        with pytest.raises(ValueError, match="strength must be a number from 0 to 1"):
            guide_projection(bad, "I-Max block mean")
    with pytest.raises(ValueError, match="projection 'wavelet' is not one of: I-Max block mean, HiFlow Butterworth"):
        guide_projection(0.5, "wavelet")
