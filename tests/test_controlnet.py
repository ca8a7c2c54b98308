"""ControlNets of a DyPE run get the model's positions (stand-in host; the real FLUX and Qwen-Image
ControlNets are exercised in tests/real_host/check_flux.py and check_controlnets.py).

``HostControlNet`` reproduces the part of ComfyUI's ``ControlBase``/``ControlNet`` contract the
swap relies on: ``copy()`` shares the control model and its patcher, ``set_previous_controlnet``
chains, ``control_model_wrapped`` is a ModelPatcher around the control model.
"""

import pytest
import torch
from comfy.ldm.flux.layers import EmbedND
from comfy.model_base import build_flux_patcher
from comfy.model_patcher import ModelPatcher
from comfy.sample import sample as host_sample
from comfyui_dype.dype_core import FLUX1, DyPESettings, build_table
from comfyui_dype.dype_core import frequencies as freqs
from comfyui_dype.nodes import controlnet
from comfyui_dype.nodes.context import CONTROL_STEP
from comfyui_dype.nodes.embedder import DyPEEmbedder
from comfyui_dype.nodes.patch import ControlStepWrapper, patch_of
from dype_helpers import dype
from families_a import build
from host_recipe import host_table


class ControlNetFlux(torch.nn.Module):
    """Builds ids as the host's FLUX ControlNet does: ``cat(text zeros, image grid)`` in the model dtype."""

    def __init__(self):
        super().__init__()
        self.pe_embedder = EmbedND(dim=128, theta=10000, axes_dim=[16, 56, 56])

    def forward(self, x, context):
        rows, cols = (x.shape[-2] + 1) // 2, (x.shape[-1] + 1) // 2
        image = torch.zeros(rows, cols, 3, dtype=x.dtype)
        image[..., 1] += torch.linspace(0, rows - 1, rows, dtype=x.dtype)[:, None]
        image[..., 2] += torch.linspace(0, cols - 1, cols, dtype=x.dtype)[None, :]
        ids = torch.cat([torch.zeros(1, context.shape[1], 3, dtype=x.dtype), image.reshape(1, -1, 3)], 1)
        return self.pe_embedder(ids), ids


ControlNetFlux.__module__ = "comfy.ldm.flux.controlnet"


class HostControlNet:
    def __init__(self, control_model=None):
        self.control_model = control_model
        self.previous_controlnet = None
        if control_model is not None:
            self.control_model_wrapped = ModelPatcher(control_model, torch.device("cpu"), torch.device("cpu"))

    def copy(self):
        twin = HostControlNet()
        twin.control_model, twin.control_model_wrapped = self.control_model, self.control_model_wrapped
        return twin

    def set_previous_controlnet(self, previous):
        self.previous_controlnet = previous
        return self


class OtherControl(HostControlNet):
    """A control without rotary positions (a T2I adapter, say)."""

    def __init__(self):
        super().__init__(None)
        self.control_model = torch.nn.Linear(2, 2)

    def copy(self):
        twin = OtherControl()
        twin.control_model = self.control_model
        return twin


def test_run_copies_patch_flux_controlnets_and_keep_chains_and_originals():
    flux_control = HostControlNet(ControlNetFlux())
    other = OtherControl().set_previous_controlnet(flux_control)
    conds = {"positive": [{"control": other}], "negative": [{"control": other}, {"model_conds": {}}]}
    controlnet.patch_run_controls(conds, FLUX1)
    swapped = conds["positive"][0]["control"]
    assert swapped is conds["negative"][0]["control"] and swapped is not other  # one copy per original
    assert isinstance(swapped.previous_controlnet.control_model_wrapped.object_patches["pe_embedder"], DyPEEmbedder)
    assert swapped.previous_controlnet.control_model is flux_control.control_model
    assert not flux_control.control_model_wrapped.object_patches and other.previous_controlnet is flux_control
    assert isinstance(flux_control.control_model.pe_embedder, EmbedND)


def test_controls_without_a_flux_controlnet_are_left_as_they_are():
    alone = OtherControl()
    conds = {"positive": [{"control": alone}]}
    controlnet.patch_run_controls(conds, FLUX1)
    assert conds["positive"][0]["control"] is alone


def test_an_unknown_rotary_controlnet_is_refused_clearly():
    class HunYuanControlNet(ControlNetFlux):
        pass

    HunYuanControlNet.__module__ = "comfy.ldm.hydit.controlnet"
    with pytest.raises(controlnet.UnsupportedControlNet, match="cannot give the ControlNet HunYuanControlNet"):
        controlnet.patch_run_controls({"positive": [{"control": HostControlNet(HunYuanControlNet())}]}, FLUX1)


class QwenImageControlNetModel(ControlNetFlux):
    """Qwen-Image's InstantX-style ControlNet: its own ``EmbedND`` (theta 10000, axes 16/56/56)."""


QwenImageControlNetModel.__module__ = "comfy.ldm.qwen_image.controlnet"


def test_a_qwen_image_controlnet_with_its_own_embedder_is_patched_when_its_layout_is_the_model_s():
    qwen = patch_of(build("qwen")).layout
    control = HostControlNet(QwenImageControlNetModel())
    conds = {"positive": [{"control": control}]}
    controlnet.patch_run_controls(conds, qwen)
    patched = conds["positive"][0]["control"].control_model_wrapped.object_patches["pe_embedder"]
    assert isinstance(patched, DyPEEmbedder) and patched.steps == (CONTROL_STEP,)
    other = HostControlNet(QwenImageControlNetModel())
    other.control_model.pe_embedder = EmbedND(dim=128, theta=10000, axes_dim=[32, 48, 48])
    with pytest.raises(controlnet.UnsupportedControlNet, match=r"axes \[32, 48, 48\]\) differs from the Qwen-Image"):
        controlnet.patch_run_controls({"positive": [{"control": other}]}, qwen)


def test_the_qwen_image_fun_controlnet_gets_the_model_s_table_from_the_model_s_embedder():
    """The Fun ControlNet calls the DyPE model's own embedder in the cond batch, outside the forward, on
    ``cat(text diagonal, the model's image ids)``: it gets DyPE's table for the image, as the forward does."""
    model = dype(build("qwen"))
    diffusion_model = model.get_model_object("diffusion_model")
    embedder = model.get_model_object("diffusion_model.pe_embedder")
    x = torch.zeros(1, 16, 1, 48, 40)  # 24 x 20 tokens against the 16 x 16 base
    _, img_ids, _ = diffusion_model.process_img(x)
    txt_ids = torch.arange(12, 12 + 7).reshape(1, -1, 1).repeat(1, 1, 3).float()
    ids = torch.cat((txt_ids, img_ids), dim=1)

    def cond_batch(model_, conds, x_in, timestep, model_options):
        return embedder(ids)

    patch = patch_of(model)
    table = ControlStepWrapper(patch)(cond_batch, None, None, x, torch.tensor([0.6]), {})
    layout = patch.layout
    exact = ids.float().clone()
    exact[0, 7:, layout.row_axis] = torch.arange(-12.0, 12.0).repeat_interleave(20)
    exact[0, 7:, layout.col_axis] = torch.arange(-10.0, 10.0).repeat(24)
    image = freqs.dype(layout, patch.settings, layout.axis_scales(24, 20), 0.6)
    assert torch.equal(table, build_table(exact, layout, image, image_tokens=slice(7, None)))
    assert torch.equal(embedder(ids), embedder.original(ids))  # outside the cond batch: the host's table


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_the_controlnet_table_matches_the_model_s_image_table_at_the_step(dtype):
    patch = patch_of(build_flux_patcher("flux", seed=0))
    layout = FLUX1.with_base_resolution(256)
    patch = type(patch)(family=patch.family, layout=layout, settings=DyPESettings(), time_shift="model")
    control = HostControlNet(ControlNetFlux())
    conds = {"positive": [{"control": control}]}
    controlnet.patch_run_controls(conds, FLUX1)
    patcher = conds["positive"][0]["control"].control_model_wrapped
    patcher.patch_model()
    try:
        x = torch.zeros(1, 16, 2 * 300, 8, dtype=dtype)  # 300 rows: beyond what bf16 holds exactly
        context = torch.zeros(1, 9, 32)

        def cond_batch(model, conds, x_in, timestep, model_options):
            return control.control_model(x_in, context)

        table, ids = ControlStepWrapper(patch)(cond_batch, None, None, x, torch.tensor([0.7]), {})
    finally:
        patcher.unpatch_model()
    assert CONTROL_STEP.get() is None
    exact = ids.float().clone()
    exact[0, 9:, 1] = torch.arange(300.0).repeat_interleave(4)
    exact[0, 9:, 2] = torch.arange(4.0).repeat(300)
    image = freqs.dype(layout, DyPESettings(), layout.axis_scales(300, 4), 0.7)
    assert torch.equal(table, build_table(exact, layout, image, image_tokens=slice(9, None)))
    assert torch.equal(table[:, :, :9], host_table(exact, FLUX1.axes_dim, FLUX1.theta)[:, :, :9])
    assert isinstance(control.control_model.pe_embedder, EmbedND)


def test_a_control_patch_with_its_own_table_stops_a_run_above_the_native_size_by_name():
    """Wan's Uni3C ControlNet (a double-block patch) builds a table DyPE cannot make the model's: at the base size
    the run is the host's, above it the run stops naming the patch."""

    class WanUni3CCnetPatch:
        def __call__(self, kwargs):
            return kwargs

    WanUni3CCnetPatch.__module__ = "comfy_extras.nodes_model_patch"
    WanUni3CCnetPatch.__qualname__ = "WanUni3CCnetPatch"
    model = build_flux_patcher("flux", seed=0)
    patched = dype(model)
    patched.set_model_patch(WanUni3CCnetPatch(), "double_block")
    config = model.model.diffusion_model.params
    g = torch.Generator().manual_seed(1)
    cond = [[torch.randn(1, 8, config.context_in_dim, generator=g),
             {"pooled_output": torch.randn(1, 16, generator=g), "guidance": 3.5}]]

    def run(px):
        latent = torch.zeros(1, 16, px // 8, px // 8)
        return host_sample(patched, torch.randn(latent.shape, generator=g), 2, 1.0, "euler", "simple", cond, cond,
                           latent, disable_pbar=True, seed=1)

    run(256)
    with pytest.raises(controlnet.UnsupportedControlNet, match="cannot sample above the native size with "
                                                               "WanUni3CCnetPatch: Wan's Uni3C ControlNet builds"):
        run(512)
