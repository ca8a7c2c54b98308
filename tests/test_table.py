"""Rotary tables: bitwise equal to the host's when unscaled, DyPE only on image tokens."""

from dataclasses import replace

import pytest
import torch
from host_recipe import flux_ids, host_table

from dype_core import FLUX1, FLUX2, DyPESettings, TableCache, build_table
from dype_core import frequencies as freqs

DYPE = DyPESettings()


def _dype(layout, rows, cols, t, settings=DYPE):
    return freqs.dype(layout, settings, layout.axis_scales(rows, cols, settings.scaling), t)


@pytest.mark.parametrize("rows,cols,batch", [(64, 64, 1), (32, 48, 2), (1, 64, 1), (64, 1, 3), (7, 5, 2)])
def test_plain_table_is_bitwise_the_hosts(rows, cols, batch):
    ids = flux_ids(rows, cols, batch=batch, text=17)
    table = build_table(ids, FLUX1, freqs.plain(FLUX1))
    expected = host_table(ids, FLUX1.axes_dim, FLUX1.theta)
    assert table.dtype == torch.float32 and table.shape == (batch, 1, ids.shape[1], 64, 2, 2)
    assert torch.equal(table, expected)


def test_native_and_smaller_grids_give_plain_frequencies_bitwise():
    for rows, cols in [(64, 64), (40, 64), (64, 12)]:
        ids = flux_ids(rows, cols, text=8)
        for t in (1.0, 0.5, 3e-4, 0.0):
            table = build_table(ids, FLUX1, _dype(FLUX1, rows, cols, t), image_tokens=slice(8, 8 + rows * cols))
            assert torch.equal(table, host_table(ids, FLUX1.axes_dim, FLUX1.theta))


def test_flux2_four_axes_bitwise_and_text_axis_untouched():
    rows = cols = 128
    image = torch.stack(torch.meshgrid(torch.zeros(1), torch.arange(rows * 1.0), torch.arange(cols * 1.0),
                                       torch.zeros(1), indexing="ij"), -1).reshape(1, -1, 4)
    text = torch.zeros(1, 512, 4)
    text[..., 3] = torch.arange(512.0)
    ids = torch.cat([text, image], 1)
    host = host_table(ids, FLUX2.axes_dim, FLUX2.theta)
    assert torch.equal(build_table(ids, FLUX2, freqs.plain(FLUX2)), host)
    table = build_table(ids, FLUX2, _dype(FLUX2, rows, cols, 0.8), image_tokens=slice(512, None))
    assert torch.equal(table[:, :, :512], host[:, :, :512])
    first, end = FLUX2.pair_slices[3]
    assert torch.equal(table[..., first:end, :, :], host[..., first:end, :, :])
    assert not torch.equal(table[:, :, 512:], host[:, :, 512:])


def test_only_image_tokens_get_dype_and_others_keep_the_host_table():
    rows, cols, text = 256, 128, 40
    ids = flux_ids(rows, cols, text=text, refs=((64, 64),))
    image = slice(text, text + rows * cols)
    host = host_table(ids, FLUX1.axes_dim, FLUX1.theta)
    table = build_table(ids, FLUX1, _dype(FLUX1, rows, cols, 0.6), image_tokens=image)
    assert torch.equal(table[:, :, :text], host[:, :, :text])
    assert torch.equal(table[:, :, image.stop:], host[:, :, image.stop:])
    # The index axis is never scaled; both spatial axes of the image are.
    assert torch.equal(table[:, :, image, :8], host[:, :, image, :8])
    assert not torch.equal(table[:, :, image, 8:36], host[:, :, image, 8:36])
    assert not torch.equal(table[:, :, image, 36:], host[:, :, image, 36:])


def test_image_table_equals_the_recipe_with_dype_frequencies_and_gain():
    rows, cols = 128, 256
    ids = flux_ids(rows, cols, text=4)
    f = _dype(FLUX1, rows, cols, 0.7)
    table = build_table(ids, FLUX1, f, image_tokens=slice(4, None))[0, 0, 4:]
    positions = ids[0, 4:].double()
    for axis, (first, end) in enumerate(FLUX1.pair_slices):
        angle = positions[:, axis, None] * f.omega[first:end]
        gain = f.gains[axis]
        expected = torch.stack([angle.cos(), -angle.sin(), angle.sin(), angle.cos()], -1) * gain
        torch.testing.assert_close(table[:, first:end].reshape(-1, end - first, 4), expected.float(), rtol=0, atol=0)
    assert f.gains == (1.0, pytest.approx(1.0 + 0.1 * torch.log(torch.tensor(2.0)).item()),
                       pytest.approx(1.0 + 0.1 * torch.log(torch.tensor(4.0)).item()))


def test_table_follows_t_above_the_base():
    rows = cols = 128
    ids = flux_ids(rows, cols, text=0)
    tables = [build_table(ids, FLUX1, _dype(FLUX1, rows, cols, t)) for t in (1.0, 0.5, 0.1)]
    assert not torch.equal(tables[0], tables[1]) and not torch.equal(tables[1], tables[2])


def test_no_attention_scale_and_static_methods():
    rows = cols = 128
    ids = flux_ids(rows, cols, text=0)
    static = replace(DYPE, dynamic=False, attention_scale=False)
    a = build_table(ids, FLUX1, _dype(FLUX1, rows, cols, 1.0, static))
    b = build_table(ids, FLUX1, _dype(FLUX1, rows, cols, 0.1, static))
    assert torch.equal(a, b)
    assert a.abs().max() <= 1.0


def test_head_axis_two_layout():
    ids = flux_ids(9, 11, batch=2, text=3)
    table = build_table(ids, FLUX1, freqs.plain(FLUX1), head_axis=2)
    assert table.shape == (2, ids.shape[1], 1, 64, 2, 2)
    assert torch.equal(table, host_table(ids, FLUX1.axes_dim, FLUX1.theta, head_axis=2))


def test_low_precision_ids_are_converted_and_the_table_stays_float32():
    ids = flux_ids(16, 16, text=0)
    table = build_table(ids.to(torch.bfloat16), FLUX1, freqs.plain(FLUX1))
    assert table.dtype == torch.float32
    assert torch.equal(table, host_table(ids, FLUX1.axes_dim, FLUX1.theta))  # integers < 256 are exact in bf16


@pytest.mark.parametrize(
    "ids,kwargs,message",
    [
        (torch.zeros(1, 5, 4), {}, r"FLUX.1 expects position ids \[batch, tokens, 3\], got \[1, 5, 4\]"),
        (torch.zeros(5, 3), {}, "expects position ids"),
        (torch.zeros(1, 5, 3, dtype=torch.long), {}, "real floating-point tensor"),
        (torch.zeros(1, 5, 3), {"head_axis": 0}, "head_axis must be 1"),
        (torch.zeros(1, 5, 3), {"image_tokens": slice(0, 5, 2)}, "contiguous range"),
    ],
)
def test_bad_ids_are_refused_clearly(ids, kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_table(ids, FLUX1, freqs.plain(FLUX1), **kwargs)


def test_cache_hits_equal_ids_in_another_tensor_and_stays_bounded():
    cache = TableCache(maxsize=2)
    built = []

    def build(ids):
        def run():
            built.append(1)
            return build_table(ids, FLUX1, freqs.plain(FLUX1))
        return run

    cond = flux_ids(8, 8, text=5)
    uncond = cond.clone()
    first = cache.get_or_build(("t", 0.5), cond, build(cond))
    assert cache.get_or_build(("t", 0.5), uncond, build(uncond)) is first and len(built) == 1
    other = cond.clone()
    other[0, 0, 0] = 1.0
    assert cache.get_or_build(("t", 0.5), other, build(other)) is not first and len(built) == 2
    cache.get_or_build(("t", 0.4), cond, build(cond))
    cache.get_or_build(("t", 0.3), cond, build(cond))
    assert len(cache) == 2 and len(built) == 4
    with pytest.raises(ValueError, match="maxsize"):
        TableCache(0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_table_matches_cpu_bitwise():
    ids = flux_ids(96, 64, text=16)
    f = _dype(FLUX1, 96, 64, 0.5)
    cpu = build_table(ids, FLUX1, f, image_tokens=slice(16, None))
    gpu = build_table(ids.cuda(), FLUX1, f, image_tokens=slice(16, None))
    assert gpu.device.type == "cuda" and torch.equal(gpu.cpu(), cpu)
    assert torch.equal(build_table(ids.cuda(), FLUX1, freqs.plain(FLUX1)).cpu(),
                       host_table(ids, FLUX1.axes_dim, FLUX1.theta))
