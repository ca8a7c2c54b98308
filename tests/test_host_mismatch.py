"""A future ComfyUI that changes a family's forward must stop DyPE with a clear message, never let it sample
with plain or wrong tables.

The stand-in FLUX is changed here the ways a new host version could change it: its forward builds the table
without the embedder module DyPE replaced, or its ids no longer hold the image where the family says. Each
run must stop naming the model class, the ComfyUI version and what differed; at the native size, where DyPE
does nothing, the same host samples as before.
"""

import pytest
import torch
from comfy.ldm.flux import model as flux_model
from comfy.ldm.flux.layers import EmbedND
from comfy.model_base import build_flux_patcher
from comfyui_dype.nodes.patch import HostMismatch
from dype_helpers import BASE, dype
from test_node_flux import sample

ABOVE = 2 * BASE


@pytest.fixture()
def model():
    return build_flux_patcher("flux", seed=0)


def inline_table(monkeypatch):
    """The host's FLUX forward computes its table with an ``EmbedND`` of its own, not ``pe_embedder``."""
    forward = flux_model.Flux.forward_orig

    def changed(self, *args, **kwargs):
        own = EmbedND(dim=self.pe_embedder.dim, theta=self.pe_embedder.theta, axes_dim=self.pe_embedder.axes_dim)
        replaced = self.__dict__.get("_modules", {})["pe_embedder"]
        self._modules["pe_embedder"] = own
        try:
            return forward(self, *args, **kwargs)
        finally:
            self._modules["pe_embedder"] = replaced

    monkeypatch.setattr(flux_model.Flux, "forward_orig", changed)


def test_a_forward_that_no_longer_calls_the_embedder_stops_the_run(model, monkeypatch):
    inline_table(monkeypatch)
    with pytest.raises(HostMismatch) as error:
        sample(dype(model), "flux", ABOVE)
    message = str(error.value)
    assert "comfy.ldm.flux.model.Flux" in message
    assert "ComfyUI 0.33.0" in message
    assert "never asked its rotary embedder (diffusion_model.pe_embedder)" in message
    assert "32x32" in message  # the main image's token grid it expected


def test_the_same_changed_host_samples_as_before_at_the_native_size(model, monkeypatch):
    inline_table(monkeypatch)
    assert torch.equal(sample(dype(model), "flux", BASE), sample(model, "flux", BASE))


def shifted_ids(args: dict) -> dict:
    """A host that puts one more text token before the image (here a ``post_input`` rewrite, as a changed forward
    would): the token count still matches, the image is one token later than the family says."""
    return {**args, "txt_ids": torch.cat([args["txt_ids"], args["txt_ids"][:, :1]], dim=1),
            "txt": torch.cat([args["txt"], args["txt"][:, :1]], dim=1)}


def test_ids_that_no_longer_hold_the_image_where_the_family_says_stop_the_run(model):
    patched = dype(model)
    patched.set_model_patch(shifted_ids, "post_input")
    with pytest.raises(HostMismatch) as error:
        sample(patched, "flux", ABOVE)
    message = str(error.value)
    assert "comfy.ldm.flux.model.Flux" in message and "ComfyUI 0.33.0" in message
    assert "tokens 8..1031 of the embedder's ids [2, 1033, 3]" in message and "1x32x32 grid" in message


def test_a_changed_token_count_stops_the_run(model):
    """One image token fewer than the latent has (a host that embeds the image otherwise, say)."""
    patched = dype(model)

    def one_token_less(args):
        return {**args, "img_ids": args["img_ids"][:, :-1], "img": args["img"][:, :-1]}

    patched.set_model_patch(one_token_less, "post_input")
    with pytest.raises(HostMismatch, match=r"Flux on ComfyUI 0\.33\.0 .* 1024 image tokens"):
        sample(patched, "flux", ABOVE)


class RescaledEmbedder(torch.nn.Module):
    """Another node's rotary embedder (one that rescales the ids), put in place of the model's by an object patch."""

    def __init__(self, original):
        super().__init__()
        self.original = original

    def forward(self, ids):
        return self.original(ids * 0.5)


def test_another_node_s_embedder_placed_before_dype_is_refused_by_name():
    model = build_flux_patcher("flux", seed=0).clone()
    model.add_object_patch("diffusion_model.pe_embedder",
                           RescaledEmbedder(model.get_model_object("diffusion_model.pe_embedder")))
    with pytest.raises(ValueError, match=r"DyPE cannot apply on top of .*RescaledEmbedder, which another node put in "
                                         r"place of the model's rotary embedder \(diffusion_model.pe_embedder\)"):
        dype(model)


def test_another_node_s_embedder_placed_after_dype_is_named_when_the_run_stops():
    model = dype(build_flux_patcher("flux", seed=0))
    model.add_object_patch("diffusion_model.pe_embedder",
                           RescaledEmbedder(model.get_model_object("diffusion_model.pe_embedder").original))
    with pytest.raises(HostMismatch, match=r"RescaledEmbedder stands where DyPE put its embedder: a node applied "
                                           r"after DyPE replaced it"):
        sample(model, "flux", 2 * BASE)
