"""The DyPE Plan node and the readout a sampling run sends to the browser (stand-in host)."""

import sys
import types

import pytest
import torch
from comfy.model_base import build_flux_patcher
from comfy.sample import sample as host_sample
from comfy.samplers import calculate_sigmas
from comfy_api.latest._standin import run_node
from comfyui_dype.nodes.families import UnsupportedModel
from comfyui_dype.nodes.plan_node import DyPEPlan
from comfyui_dype.nodes.readout import EVENT
from dype_helpers import dype_node


@pytest.fixture(scope="module")
def flux():
    return build_flux_patcher("flux", seed=0)


def latent(width, height, channels=16):
    return {"samples": torch.zeros(1, channels, height // 8, width // 8)}


def plan(model, **inputs):
    chart, table = run_node(DyPEPlan, model=model, **inputs).result
    return chart, table


def test_native_size_shows_plainly_that_dype_does_nothing(flux):
    chart, table = plan(flux, latent=latent(1024, 1024))
    assert chart.shape[0] == 1 and chart.shape[-1] == 3 and chart.dtype == torch.float32
    assert 0.0 <= chart.min() and chart.max() <= 1.0 and chart.shape[1] >= 300
    assert "inactive, at or below the base resolution" in table and "64x64 tokens (base 64x64)" in table
    rows = table.splitlines()[2:]
    assert len(rows) == 28 and all("28/0/0/0" in row for row in rows)


@pytest.mark.parametrize("width,height,scales", [(2048, 2048, "width 2 height 2"), (4096, 4096, "width 4 height 4"),
                                                 (4096, 1365, "width 4 height 1.33")])
def test_above_the_base_the_plan_shows_scales_and_schedule(flux, width, height, scales):
    chart, table = plan(flux, latent=latent(width, height), steps=20)
    assert scales in table and "Dy-YaRN, 20 steps" in table and "mu 1.15 (model)" in table
    assert len(table.splitlines()) == 2 + 20
    first, last = table.splitlines()[2], table.splitlines()[-1]
    assert first.split("|")[1].split()[0] != last.split("|")[1].split()[0]  # the bands move over the steps


def test_width_and_height_serve_when_no_latent_is_connected(flux):
    assert plan(flux, width=4096, height=1365)[1] == plan(flux, latent=latent(4096, 1365))[1]


def test_a_patched_model_shows_its_own_settings_and_time_shift(flux):
    patched = dype_node(flux, method="Dy-NTK", time_shift="custom", mu=2.5)[0]
    _, table = plan(patched, latent=latent(2048, 2048), steps=8)
    assert "Dy-NTK" in table and "mu 2.5 (custom)" in table
    expected = calculate_sigmas(patched.get_model_object("model_sampling"), "simple", 8)
    assert f"{float(expected[1]):.4f}" in table.splitlines()[3]


def test_a_sigmas_input_overrides_steps(flux):
    sigmas = torch.tensor([1.0, 0.6, 0.2, 0.0])
    _, table = plan(flux, latent=latent(2048, 2048), sigmas=sigmas, steps=50)
    assert len(table.splitlines()) == 2 + 3 and "0.6000" in table.splitlines()[3]


@pytest.mark.parametrize(
    "inputs,error,message",
    [
        ({"latent": {"noise_mask": None}}, ValueError, "LATENT input holds no latent image"),
        ({"width": 0}, ValueError, "connect a LATENT, or set width and height"),
        ({"sigmas": torch.tensor([1.0])}, ValueError, "a schedule needs at least two"),
        ({"sigmas": torch.tensor([])}, ValueError, "hold 0 value"),
    ],
)
def test_bad_inputs_are_refused_clearly(flux, inputs, error, message):
    with pytest.raises(error, match=message):
        DyPEPlan.execute(flux, **inputs)


def test_unknown_models_are_refused_clearly(flux):
    other = flux.clone()
    other.add_object_patch("diffusion_model", torch.nn.Linear(2, 2))
    with pytest.raises(UnsupportedModel, match="cannot patch Linear"):
        DyPEPlan.execute(other)


class FakePromptServer:
    """The two members of ``server.PromptServer.instance`` the readout uses."""

    def __init__(self, client_id):
        self.client_id, self.sent = client_id, []

    def send_sync(self, event, data, sid=None):
        self.sent.append((event, data, sid))


@pytest.fixture
def prompt_server(monkeypatch):
    def install(client_id):
        instance = FakePromptServer(client_id)
        monkeypatch.setitem(sys.modules, "server", types.SimpleNamespace(PromptServer=types.SimpleNamespace(
            instance=instance)))
        return instance
    return install


def run(model, width, steps=4):
    context = torch.randn(1, 8, 32, generator=torch.Generator().manual_seed(0))
    positive = [[context, {"pooled_output": torch.zeros(1, 16), "guidance": 3.5}]]
    empty = torch.zeros(1, 16, width // 8, width // 8)
    noise = torch.randn(empty.shape, generator=torch.Generator().manual_seed(1))
    return host_sample(model, noise, steps, 1.0, "euler", "simple", positive, positive, empty, disable_pbar=True)


def test_a_run_sends_one_readout_to_the_queuing_tab(flux, prompt_server):
    server = prompt_server("tab-1")
    patched = dype_node(flux, base_resolution=256, hidden={"unique_id": "7:4"})[0]
    run(patched, 512)
    assert len(server.sent) == 1
    event, data, sid = server.sent[0]
    assert event == EVENT and sid == "tab-1" and data["node"] == "7:4"
    assert data["active"] and data["grid"] == [32, 32] and data["base"] == [16, 16] and data["scales"] == [2.0, 2.0]
    assert data["method"] == "Dy-YaRN" and data["mu"] == 1.15 and len(data["t"]) == len(data["kappa"]) == 4
    assert len(data["changed"]) == 2 and all(0 <= n <= data["pairs"] for n in data["changed"][0])
    assert len(str(data)) < 2000
    run(patched, 256)
    assert len(server.sent) == 2 and server.sent[1][1]["active"] is False


def test_headless_runs_send_nothing_and_work_as_before(flux, prompt_server):
    server = prompt_server(None)
    patched = dype_node(flux, base_resolution=256)[0]
    out = run(patched, 512)
    assert server.sent == [] and torch.isfinite(out).all()
