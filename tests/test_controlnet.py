"""ControlNets of a DyPE run get the model's positions (stand-in host; the real FLUX ControlNet
is exercised in tests/real_host/check_flux.py).

``HostControlNet`` reproduces the part of ComfyUI's ``ControlBase``/``ControlNet`` contract the
swap relies on: ``copy()`` shares the control model and its patcher, ``set_previous_controlnet``
chains, ``control_model_wrapped`` is a ModelPatcher around the control model.
"""

import pytest
import torch
from comfy.ldm.flux.layers import EmbedND
from comfy.model_base import build_flux_patcher
from comfy.model_patcher import ModelPatcher
from comfyui_dype.dype_core import FLUX1, DyPESettings, build_table
from comfyui_dype.dype_core import frequencies as freqs
from comfyui_dype.nodes import controlnet
from comfyui_dype.nodes.context import CONTROL_STEP
from comfyui_dype.nodes.embedder import DyPEEmbedder
from comfyui_dype.nodes.patch import ControlStepWrapper, patch_of
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
    controlnet.patch_run_controls(conds)
    swapped = conds["positive"][0]["control"]
    assert swapped is conds["negative"][0]["control"] and swapped is not other  # one copy per original
    assert isinstance(swapped.previous_controlnet.control_model_wrapped.object_patches["pe_embedder"], DyPEEmbedder)
    assert swapped.previous_controlnet.control_model is flux_control.control_model
    assert not flux_control.control_model_wrapped.object_patches and other.previous_controlnet is flux_control
    assert isinstance(flux_control.control_model.pe_embedder, EmbedND)


def test_controls_without_a_flux_controlnet_are_left_as_they_are():
    alone = OtherControl()
    conds = {"positive": [{"control": alone}]}
    controlnet.patch_run_controls(conds)
    assert conds["positive"][0]["control"] is alone


def test_an_unknown_rotary_controlnet_is_refused_clearly():
    class QwenImageControlNetModel(ControlNetFlux):
        pass

    with pytest.raises(controlnet.UnsupportedControlNet, match="cannot give the ControlNet QwenImageControlNetModel"):
        controlnet.patch_run_controls({"positive": [{"control": HostControlNet(QwenImageControlNetModel())}]})


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_the_controlnet_table_matches_the_model_s_image_table_at_the_step(dtype):
    patch = patch_of(build_flux_patcher("flux", seed=0))
    layout = FLUX1.with_base_resolution(256)
    patch = type(patch)(family=patch.family, layout=layout, settings=DyPESettings(), time_shift="model")
    control = HostControlNet(ControlNetFlux())
    conds = {"positive": [{"control": control}]}
    controlnet.patch_run_controls(conds)
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
