"""Cosmos Predict2 and Anima: DyPE on a position embedder that takes the token grid, not ids.

Checked through the node and the stand-in sampler: detection (axes and the built-in NTK theta read from the
embedder), bitwise no-op at and below the base size, and above it the row and column pairs of every table are
exactly ``dype_core``'s for the grid (at the flow time of the step's sigma: ``sigma / (1 + sigma)`` for Cosmos's
EDM sigmas) while the time pairs are the host's; refusals for a model with unequal row and column factors and
for shift policies on a schedule without a shift.
"""

import math

import pytest
import torch
from comfy import latent_formats
from comfy.ldm.anima.model import Anima as AnimaNet
from comfy.ldm.cosmos.predict2 import MiniTrainDIT
from comfy.model_base import BaseModel, ModelType
from comfyui_dype.dype_core import DyPESettings, RotaryLayout, build_table
from comfyui_dype.dype_core import frequencies as freqs
from comfyui_dype.nodes.families import UnsupportedModel
from comfyui_dype.nodes.patch import patch_of
from dype_helpers import BASE, dype
from family_helpers import grid_ids, record_forwards, sample, tiny_patcher

TOKEN_PX = 16
THETA = 10000.0 * 4.0 ** (42 / 40)
UNET = {"model_channels": 128, "num_heads": 1, "crossattn_emb_channels": 32}


class CosmosPredict2(BaseModel):
    def __init__(self, model_config, model_type=ModelType.FLOW_COSMOS, device=None):
        super().__init__(model_config, model_type, device=device, unet_model=MiniTrainDIT)


class Anima(BaseModel):
    def __init__(self, model_config, model_type=ModelType.FLOW, device=None):
        super().__init__(model_config, model_type, device=device, unet_model=AnimaNet)


KINDS = {
    "Cosmos Predict2": (CosmosPredict2, ModelType.FLOW_COSMOS, {"sigma_max": 80.0, "sigma_min": 0.002},
                        lambda sigma: sigma / (1 + sigma)),
    "Anima": (Anima, ModelType.FLOW, {"shift": 3.0, "multiplier": 1.0}, lambda sigma: sigma),
}


def build(name: str, **unet):
    base, model_type, sampling, _ = KINDS[name]
    return tiny_patcher(base, model_type, latent_formats.Wan21(), sampling, dict(UNET, **unet))


def conds(seed: int = 1) -> tuple[list, list]:
    g = torch.Generator().manual_seed(seed)
    return [[torch.randn(1, 9, 32, generator=g), {}]], [[torch.randn(1, 4, 32, generator=g), {}]]


def latent(rows: int, cols: int) -> torch.Tensor:
    return torch.zeros(1, 16, 1, 2 * rows, 2 * cols)


@pytest.mark.parametrize("name", KINDS)
def test_detected_with_the_embedders_axes_and_ntk_theta(name):
    patch = patch_of(build(name))
    assert patch.family.name == name
    assert patch.layout.axes_dim == (44, 42, 42) and patch.layout.theta == pytest.approx(THETA, rel=1e-12)
    assert patch.layout.px_per_token == TOKEN_PX and patch.layout.base_grid == (64.0, 64.0)


@pytest.mark.parametrize("name", KINDS)
def test_bitwise_no_op_at_and_below_the_base(name):
    model = build(name)
    positive, negative = conds()
    for rows, cols in ((BASE // TOKEN_PX, BASE // TOKEN_PX), (8, 12)):
        plain = sample(model, latent(rows, cols), positive, negative, steps=2)
        assert torch.equal(sample(dype(model), latent(rows, cols), positive, negative, steps=2), plain)


@pytest.mark.parametrize("name", KINDS)
def test_above_the_base_rows_and_columns_follow_the_step_and_time_stays_the_hosts(name):
    model = build(name)
    host = model.get_model_object("diffusion_model.pos_embedder")
    patched = dype(model)
    forwards = record_forwards(patched, "diffusion_model.pos_embedder")
    rows, cols = 24, 20
    positive, negative = conds()
    assert torch.isfinite(sample(patched, latent(rows, cols), positive, negative, steps=3)).all()
    layout = RotaryLayout(name="cosmos", axes_dim=(44, 42, 42), theta=THETA, row_axis=1, col_axis=2, time_axis=0,
                          base_grid=(BASE / TOKEN_PX,) * 2, latent_downscale=8, patch=2)
    scales = (1.0, rows * TOKEN_PX / BASE, cols * TOKEN_PX / BASE)
    time = KINDS[name][3]
    assert len(forwards) == 6 and all(len(f.calls) == 1 for f in forwards)
    for forward in forwards:
        (x, table), = forward.calls
        own = host(x, device=x.device)
        dyped = build_table(grid_ids(1, rows, cols, (0, 0)), layout,
                            freqs.dype(layout, DyPESettings(), scales, time(forward.sigma)))[0, 0]
        assert torch.equal(table[:, :22], own[:, :22])
        assert torch.equal(table[:, 22:], dyped[:, 22:])
        assert not torch.equal(table[:, 22:], own[:, 22:])
    assert forwards[0].sigma > 1.0 if name == "Cosmos Predict2" else forwards[0].sigma == 1.0
    assert not torch.equal(forwards[0].calls[0][1], forwards[-1].calls[0][1])


def test_unequal_row_and_column_factors_are_refused():
    model = build("Anima", rope_w_extrapolation_ratio=2.0)
    with pytest.raises(UnsupportedModel, match=r"cannot patch Anima .*row and column NTK factors differ"):
        dype(model)


def test_time_shift_policies():
    anima = build("Anima")
    pinned = dype(anima, time_shift="base").get_model_object("model_sampling")
    assert pinned.shift == pytest.approx(3.0) and pinned.multiplier == 1.0
    assert dype(anima).get_model_object("model_sampling") is anima.get_model_object("model_sampling")
    with pytest.raises(ValueError, match="time_shift 'base' sets the flow schedule's shift.*has none"):
        dype(build("Cosmos Predict2"), time_shift="base")
    assert math.isclose(math.exp(patch_of(anima).own_mu), 3.0)


@pytest.mark.parametrize("name", KINDS)
def test_sega_and_proportional_attention_change_nothing_at_the_base_and_act_above_it(name):
    model = build(name)
    positive, negative = conds()
    both = {"method": "SEGA", "proportional_attention": True}
    at = latent(BASE // TOKEN_PX, BASE // TOKEN_PX)
    assert torch.equal(sample(dype(model, **both), at, positive, negative, steps=2),
                       sample(model, at, positive, negative, steps=2))
    above = latent(24, 20)
    ntk = sample(dype(model, method="NTK (static)"), above, positive, negative, steps=2)
    sega = sample(dype(model, method="SEGA"), above, positive, negative, steps=2)
    assert not torch.equal(sega, ntk)
    assert not torch.equal(sample(dype(model, **both), above, positive, negative, steps=2), sega)
