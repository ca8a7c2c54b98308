"""ControlNets of the Qwen-Image family on the real ComfyUI, with tiny models of the host's own classes, on the CPU.

The Fun ControlNet (``QwenFunControlNet``, which calls the model's own embedder through the ``base_model``
ComfyUI hands it) and the InstantX-style ``QwenImageControlNetModel`` (its own embedder) are attached as the
``ControlNetApply`` nodes attach them (a cond ``control`` with a hint; the hint's VAE is a fixed stand-in that
returns a seeded latent of the right shape: the VAE is not what is checked). Every embedder call of a run is
recorded with the step it was made in. Checked per ControlNet:

1. at and below the base size, sampling with DyPE is bitwise the host's;
2. above it, at every step the ControlNet's image rows are bitwise the rows the model's forward got at that
   step (DyPE's table), and differ from the host's plain table;
3. the ControlNet and the model it controls are left unpatched (once ComfyUI unloads the run's models).

The Z-Image Fun ControlNet (a noise-refiner and double-block patch) and Wan VACE's control blocks run inside
the model's forward on the table the model's blocks get: at every step of a
tiny VACE run above the native size they receive exactly DyPE's table. Wan's Uni3C ControlNet (ComfyUI 0.33; a
double-block patch with a rotary table of its own) stops a tiny Wan run above the native size with
``UnsupportedControlNet`` naming it.

Prints one JSON object: each check's name with ``true`` or an explanation.
"""

from __future__ import annotations

import json

import host

host.load_pack()

import comfy.controlnet  # noqa: E402
import comfy.latent_formats  # noqa: E402
import comfy.model_management  # noqa: E402
import comfy.model_patcher  # noqa: E402
import comfy.ops  # noqa: E402
import comfy.patcher_extension  # noqa: E402
import comfy.sample  # noqa: E402
import torch  # noqa: E402
from comfy.ldm.qwen_image.controlnet import QwenImageControlNetModel, QwenImageFunControlNetModel  # noqa: E402
from comfyui_dype.nodes.context import CONTROL_STEP  # noqa: E402
from comfyui_dype.nodes.dype_node import DyPE  # noqa: E402
from comfyui_dype.nodes.embedder import DyPEEmbedder  # noqa: E402
from tiny_families import CASES  # noqa: E402

RESULTS: dict[str, object] = {"comfyui": host.comfyui_version()}
CASE = next(case for case in CASES if case.name == "Qwen-Image")
BASE = 8  # tokens a side


check = host.checks(RESULTS)


class HintVAE:
    """Stands in for the VAE a ControlNetApply node is given: an 8x encoder to a seeded 16-channel latent."""

    def spacial_compression_encode(self) -> int:
        return 8

    def encode(self, pixels: torch.Tensor) -> torch.Tensor:
        batch, height, width, _ = pixels.shape
        return torch.randn(batch, 16, 1, height // 8, width // 8, generator=torch.Generator().manual_seed(11))


def seeded(module: torch.nn.Module, seed: int) -> torch.nn.Module:
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.02)
    return module


def fun_controlnet():
    model = seeded(QwenImageFunControlNetModel(
        control_in_features=132, inner_dim=128, num_attention_heads=1, attention_head_dim=128, num_control_blocks=5,
        main_model_double=1, injection_layers=(0,), operations=comfy.ops.disable_weight_init, device="cpu",
        dtype=torch.float32), 5)
    return comfy.controlnet.QwenFunControlNet(model, compression_ratio=1, latent_format=comfy.latent_formats.Wan21(),
                                              concat_mask=False, load_device=torch.device("cpu"),
                                              manual_cast_dtype=None, extra_conds=[])


def instantx_controlnet():
    unet = {k: v for k, v in CASE.unet.items() if k != "image_model"}
    model = seeded(QwenImageControlNetModel(extra_condition_channels=0, operations=comfy.ops.disable_weight_init,
                                            device="cpu", dtype=torch.float32, **unet), 6)
    return comfy.controlnet.ControlNet(model, compression_ratio=1, latent_format=comfy.latent_formats.Wan21(),
                                       load_device=torch.device("cpu"), manual_cast_dtype=None, extra_conds=[])


def sample(model, control, grid: tuple[int, int], steps: int = 3) -> torch.Tensor:
    latent = CASE.latent(grid)
    positive, negative = CASE.conditioning(True, latent), CASE.conditioning(False, latent)
    hint = torch.rand(1, 3, grid[0] * 16, grid[1] * 16, generator=torch.Generator().manual_seed(3))
    applied = control.copy().set_cond_hint(hint, 1.0, (0.0, 1.0), vae=HintVAE())
    positive = [[positive[0][0], dict(positive[0][1], control=applied)]]
    noise = comfy.sample.prepare_noise(latent, 42)
    return comfy.sample.sample(model, noise, steps, 1.0, "euler", "simple", positive, negative, latent,
                               disable_pbar=True, seed=42)


def recorder(model, path: str, calls: list, marker: dict) -> None:
    """Record ``(step, inside the forward, ids, table)`` of every call of the embedder at ``path``."""
    model.get_model_object(path).register_forward_hook(
        lambda module, args, out: calls.append((marker["step"], marker["forward"], args[0].detach().clone(),
                                                out.detach().clone())))


def mark_steps(model, marker: dict) -> None:
    """Count the cond batches (one per step here) and flag the diffusion model's forward calls."""
    kinds = comfy.patcher_extension.WrappersMP

    def batch(executor, *args, **kwargs):
        marker["step"] += 1
        return executor(*args, **kwargs)

    def forward(executor, *args, **kwargs):
        marker["forward"] = True
        try:
            return executor(*args, **kwargs)
        finally:
            marker["forward"] = False

    model.add_wrapper_with_key(kinds.CALC_COND_BATCH, "probe", batch)
    model.add_wrapper_with_key(kinds.DIFFUSION_MODEL, "probe", forward)


for name, build, own in (("Fun ControlNet (calls the model's embedder)", fun_controlnet, False),
                         ("InstantX-style ControlNet (its own embedder)", instantx_controlnet, True)):
    @check(f"qwen-image {name}: bitwise the host at and below the base")
    def _(build=build):
        base = CASE.model_patcher()
        patched = DyPE.execute(base, base_resolution=BASE * CASE.px_per_token, method="Dy-YaRN",
                               proportional_attention=False).result[0]
        for grid in ((BASE, BASE), (BASE // 2, BASE // 2)):
            control = build()
            assert torch.equal(sample(patched, control, grid), sample(base, control, grid)), grid

    @check(f"qwen-image {name}: its image rows are the model's DyPE rows at every step")
    def _(build=build, own=own):
        base = CASE.model_patcher()
        patched = DyPE.execute(base, base_resolution=BASE * CASE.px_per_token, method="Dy-YaRN",
                               proportional_attention=False).result[0]
        control = build()
        marker, model_calls, control_calls = {"step": 0, "forward": False}, [], []
        mark_steps(patched, marker)
        recorder(patched, "diffusion_model.pe_embedder", model_calls, marker)
        hooks = []
        if own:  # the run's copy of the ControlNet carries a DyPE embedder of its own: record what it returns
            def on_forward(module, args, out):
                if isinstance(module, DyPEEmbedder) and module.steps == (CONTROL_STEP,):
                    control_calls.append((marker["step"], False, args[0].detach().clone(), out.detach().clone()))
            hooks.append(torch.nn.modules.module.register_module_forward_hook(on_forward))
        grid = (13, 15)
        try:
            sample(patched, control, grid)
        finally:
            for hook in hooks:
                hook.remove()
        count = grid[0] * grid[1]
        forwards = {step: table for step, inside, _, table in model_calls if inside}
        controls = [(s, ids, t) for s, inside, ids, t in (control_calls if own else model_calls) if not inside]
        assert len(controls) == len(forwards) == 3, (len(controls), sorted(forwards))
        text = CASE.conditioning(True, CASE.latent(grid))[0][0].shape[1]
        host_embedder = patched.get_model_object("diffusion_model.pe_embedder").original
        for step, ids, table in controls:
            model_rows = forwards[step][:, :, text:text + count]
            control_rows = table[:, :, -count:]
            assert torch.equal(control_rows, model_rows), (step, (control_rows - model_rows).abs().max().item())
            assert not torch.equal(control_rows, host_embedder(ids)[:, :, -count:]), f"step {step}: the host's table"
        assert "pe_embedder" not in base.object_patches and not control.control_model_wrapped.object_patches
        comfy.model_management.unload_all_models()  # ComfyUI keeps a run's object patches on the loaded modules
        assert not isinstance(control.control_model.pe_embedder if own else base.model.diffusion_model.pe_embedder,
                              DyPEEmbedder)


@check("wan VACE: the control blocks receive the model's DyPE table at every step")
def _():
    import dataclasses

    from tiny_families import WAN

    wan = next(case for case in CASES if case.name == "Wan 14B-like")
    vace = dataclasses.replace(wan, config="WAN21_Vace", unet=dict(WAN, model_type="vace", vace_layers=1,
                                                                    vace_in_dim=96))
    base = vace.model_patcher()
    patched = DyPE.execute(base, base_resolution=BASE * vace.px_per_token, method="Dy-YaRN",
                           proportional_attention=False).result[0]
    tables, received = [], []
    patched.get_model_object("diffusion_model.rope_embedder").register_forward_hook(
        lambda module, args, out: tables.append(out.detach().clone()))
    base.model.diffusion_model.vace_blocks[0].register_forward_pre_hook(
        lambda module, args, kwargs: received.append(kwargs["freqs"].detach().clone()), with_kwargs=True)
    latent = vace.latent((BASE + 5, BASE + 3))
    comfy.sample.sample(patched, comfy.sample.prepare_noise(latent, 42), 3, 1.0, "euler", "simple",
                        vace.conditioning(True, latent), vace.conditioning(False, latent), latent,
                        disable_pbar=True, seed=42)
    assert len(tables) == len(received) == 3, (len(tables), len(received))
    for table, freqs in zip(tables, received):  # Wan moves the table's head axis before its blocks get it
        assert torch.equal(freqs, table.movedim(1, 2))
    assert not torch.equal(tables[0], tables[-1])  # Dy-YaRN's table follows the sigma: DyPE made it


class LatentVAE:
    """Stands in for the VAE of a Z-Image Fun ControlNet node: an 8x encoder to a seeded 16-channel latent."""

    def spacial_compression_encode(self) -> int:
        return 8

    def encode(self, pixels: torch.Tensor) -> torch.Tensor:
        batch, height, width, _ = pixels.shape
        return torch.randn(batch, 16, height // 8, width // 8, generator=torch.Generator().manual_seed(12))


@check("z-image Fun ControlNet: its blocks receive the tables the model's layers get, DyPE's, at every step")
def _():
    import importlib

    from comfy.ldm.lumina.controlnet import ZImage_Control

    patches = importlib.import_module("comfy_extras.nodes_model_patch")
    zimage = next(case for case in CASES if case.name == "Z-Image")
    base = zimage.model_patcher()
    control = seeded(ZImage_Control(dim=256, n_heads=2, n_kv_heads=2, n_control_layers=1, control_in_dim=16,
                                    operations=comfy.ops.disable_weight_init, device="cpu", dtype=torch.float32), 9)
    holder = comfy.model_patcher.ModelPatcher(control, torch.device("cpu"), torch.device("cpu"))
    image = torch.rand(1, 128, 128, 3, generator=torch.Generator().manual_seed(4))
    patch = patches.ZImageControlPatch(holder, LatentVAE(), image, 1.0)
    guided = base.clone()
    guided.set_model_noise_refiner_patch(patch)
    guided.set_model_double_block_patch(patch)
    patched = DyPE.execute(guided, base_resolution=BASE * zimage.px_per_token, method="Dy-YaRN",
                           proportional_attention=False).result[0]
    seen: dict[str, list] = {"refiner layer": [], "main layer": [], "refiner control": [], "main control": []}
    model = base.model.diffusion_model
    model.noise_refiner[0].register_forward_pre_hook(lambda m, args: seen["refiner layer"].append(args[2].clone()))
    model.layers[0].register_forward_pre_hook(lambda m, args: seen["main layer"].append(args[2].clone()))
    for name, key in (("forward_noise_refiner_block", "refiner control"), ("forward_control_block", "main control")):
        method = getattr(control, name)

        def record(layer_id, context, x, mask, freqs, adaln, method=method, key=key):
            seen[key].append(freqs.clone())
            return method(layer_id, context, x, mask, freqs, adaln)
        setattr(control, name, record)
    latent = zimage.latent((BASE + 5, BASE + 3))
    comfy.sample.sample(patched, comfy.sample.prepare_noise(latent, 42), 3, 1.0, "euler", "simple",
                        zimage.conditioning(True, latent), zimage.conditioning(False, latent), latent,
                        disable_pbar=True, seed=42)
    counts = {k: len(v) for k, v in seen.items()}
    assert counts["refiner layer"] == counts["main layer"] == 3 and counts["refiner control"] % 3 == 0 \
        and counts["main control"] % 3 == 0 and counts["main control"], counts
    for key, layer in (("refiner control", "refiner layer"), ("main control", "main layer")):
        per_step = counts[key] // 3  # the control model may run a block more than once per step
        for index, table in enumerate(seen[key]):
            model_table = seen[layer][index // per_step]
            image = slice(0, table.shape[1]) if key == "refiner control" else \
                slice(model_table.shape[1] - table.shape[1], None)  # the main layers' image tokens follow the text
            assert torch.equal(table, model_table[:, image]), (key, index)
    assert not torch.equal(seen["main control"][0], seen["main control"][-1])  # DyPE's, following the sigma


@check("wan: the Uni3C ControlNet patch stops a run above the native size by name (ComfyUI 0.33+)")
def _():
    import importlib

    from comfyui_dype.nodes.controlnet import UNREACHABLE_PATCHES, UnsupportedControlNet
    from comfyui_dype.nodes.families import class_name

    patches = importlib.import_module("comfy_extras.nodes_model_patch")
    if not hasattr(patches, "WanUni3CCnetPatch"):
        return True  # no Uni3C in this ComfyUI
    holder = comfy.model_patcher.ModelPatcher(torch.nn.Linear(1, 1), torch.device("cpu"), torch.device("cpu"))
    uni3c = patches.WanUni3CCnetPatch(holder, None, None, None, 1.0, 1.0, 0.0)  # stopped before it runs
    assert class_name(uni3c) in UNREACHABLE_PATCHES
    wan = next(case for case in CASES if case.name == "Wan 14B-like")
    model = DyPE.execute(wan.model_patcher(), base_resolution=BASE * wan.px_per_token).result[0]
    model.set_model_double_block_patch(uni3c)
    latent = wan.latent((BASE + 4, BASE + 4))
    try:
        comfy.sample.sample(model, comfy.sample.prepare_noise(latent, 42), 2, 1.0, "euler", "simple",
                            wan.conditioning(True, latent), wan.conditioning(False, latent), latent,
                            disable_pbar=True, seed=42)
    except UnsupportedControlNet as error:
        assert "WanUni3CCnetPatch: Wan's Uni3C ControlNet builds its own rotary table" in str(error), str(error)
    else:
        raise AssertionError("a Uni3C run above the native size was not stopped")


comfy.model_management.unload_all_models()
print(json.dumps(RESULTS))
