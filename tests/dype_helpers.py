"""Helpers shared by the stand-in tests of the node: patch a model, record its tables."""

from comfy_api.latest._standin import run_node
from comfyui_dype.nodes.dype_node import DyPE

#: base_resolution most tests use, so "above the base" is cheap: 16 tokens a side.
BASE = 256
#: The DyPE path most tests check (Dy-YaRN, trained attention), pinned: the node's own defaults (SEGA with
#: proportional attention) are tested as defaults in test_node_flux.py and by the SEGA tests.
DYPE_PATH = {"method": "Dy-YaRN", "proportional_attention": False}


def dype_node(model, **inputs):
    """The DyPE node's output for ``model``, on the pinned ``DYPE_PATH`` unless ``inputs`` say otherwise."""
    return run_node(DyPE, model=model, **(DYPE_PATH | inputs))


def dype(model, **inputs):
    """``model`` through the DyPE node (base resolution ``BASE`` unless given, ``DYPE_PATH`` unless given)."""
    return dype_node(model, **({"base_resolution": BASE} | inputs))[0]


def record_tables(model):
    """``(ids, table)`` of every call of the model's (patched) embedder, in call order."""
    tables = []
    model.get_model_object("diffusion_model.pe_embedder").register_forward_hook(
        lambda module, args, out: tables.append((args[0].clone(), out.clone())))
    return tables
