"""The DyPE node on the real ComfyUI: FLUX.1, Flux.2 and Chroma, sampled on the CPU.

Prints one JSON object: each check's name with ``true`` or an explanation. Base resolution
is overridden to 256 px so that "above the base" costs milliseconds.
"""

from __future__ import annotations

import json

import host

host.load_pack()

import comfy.model_management  # noqa: E402
import comfy.patcher_extension  # noqa: E402
import comfy.sample  # noqa: E402
import comfy.samplers  # noqa: E402
import comfy.supported_models as models  # noqa: E402
import tiny_flux  # noqa: E402
import torch  # noqa: E402
from comfyui_dype.dype_core import linear_mu  # noqa: E402
from comfyui_dype.nodes.dype_node import DyPE  # noqa: E402
from comfyui_dype.nodes.families import UnsupportedModel  # noqa: E402
from comfyui_dype.nodes.time_shift import reshift  # noqa: E402

RESULTS: dict[str, object] = {"comfyui": host.comfyui_version()}
CHANNELS = {"flux1": 16, "flux2": 128, "chroma": 16}
PX = {"flux1": 8, "flux2": 16, "chroma": 8}


check = host.checks(RESULTS)


def sample(model, kind, px, *, cfg=2.0, steps=3, sampler="euler", scheduler="simple", denoise=1.0,
           batch=1, negative_text=8, latent=None):
    positive, negative = tiny_flux.conds(text=8, negative_text=negative_text)
    side = px // PX[kind]
    start = torch.zeros(batch, CHANNELS[kind], side, side) if latent is None else latent
    noise = comfy.sample.prepare_noise(start, 42)
    return comfy.sample.sample(model, noise, steps, cfg, sampler, scheduler, positive, negative, start,
                               denoise=denoise, disable_pbar=True, seed=42)


#: The DyPE path most checks test (Dy-YaRN, trained attention); the SEGA checks set their own.
DYPE_PATH = {"base_resolution": 256, "method": "Dy-YaRN", "proportional_attention": False}


def dype(model, **inputs):
    return DyPE.execute(model, **(DYPE_PATH | inputs)).result[0]


def recorder(model):
    """Tables the patched embedder returns, in call order (a hook on our own replacement)."""
    tables = []
    model.get_model_object("diffusion_model.pe_embedder").register_forward_hook(
        lambda module, args, out: tables.append(out.detach().clone()))
    return tables


BASES = {
    "flux1": tiny_flux.patcher(tiny_flux.FLUX1, models.Flux),
    "flux2": tiny_flux.patcher(tiny_flux.FLUX2, models.Flux2),
    "chroma": tiny_flux.patcher(tiny_flux.CHROMA, models.Chroma),
}

for kind, base in BASES.items():
    @check(f"{kind}: bitwise no-op at and below the base size")
    def _(kind=kind, base=base):
        for px in (256, 128):
            assert torch.equal(sample(dype(base), kind, px), sample(base, kind, px)), px
        assert torch.equal(sample(dype(base, base_resolution=0), kind, 512), sample(base, kind, 512))

    @check(f"{kind}: table follows sigma above the base and the image differs")
    def _(kind=kind, base=base):
        patched = dype(base)
        tables = recorder(patched)
        out = sample(patched, kind, 512, cfg=1.0, steps=4)
        # Dy-YaRN's official ramp moves in whole pairs, so neighbouring steps may share a table.
        assert len(tables) == 4 and not torch.equal(tables[0], tables[-1])
        assert not torch.equal(out, sample(base, kind, 512, cfg=1.0, steps=4))

    @check(f"{kind}: the original MODEL is unchanged afterwards")
    def _(kind=kind, base=base):
        before = sample(base, kind, 512)
        sample(dype(base), kind, 512)
        assert torch.equal(sample(base, kind, 512), before)

flux = BASES["flux1"]


@check("flux1: every sampler with simple, every scheduler with euler (finite; sigma down to ~3e-4 and 0)")
def _():
    failures = []
    for sampler in comfy.samplers.KSampler.SAMPLERS:
        for scheduler in (["simple"] if sampler != "euler" else comfy.samplers.KSampler.SCHEDULERS):
            try:
                out = sample(dype(flux), "flux1", 512, cfg=1.0, steps=3, sampler=sampler, scheduler=scheduler)
                if not torch.isfinite(out).all():
                    failures.append(f"{sampler}/{scheduler}: not finite")
            except Exception as error:
                failures.append(f"{sampler}/{scheduler}: {type(error).__name__}: {error}"[:200])
    assert not failures, failures


@check("flux1: denoise < 1 follows the partial schedule")
def _():
    patched = dype(flux)
    tables = recorder(patched)
    start = torch.randn(1, 16, 64, 64, generator=torch.Generator().manual_seed(3))
    sample(patched, "flux1", 512, cfg=1.0, steps=4, denoise=0.5, latent=start)
    assert len(tables) == 4 and not torch.equal(tables[0], tables[-1])


@check("flux1: CFG batched (equal text) and separate (different text) give the same tables per sigma")
def _():
    batched, separate = dype(flux), dype(flux)
    tables_b, tables_s = recorder(batched), recorder(separate)
    sample(batched, "flux1", 512, steps=2)
    sample(separate, "flux1", 512, steps=2, negative_text=12)
    assert len(tables_b) == 2 and tables_b[0].shape[0] == 2 and len(tables_s) == 4
    image = slice(8, 8 + 32 * 32)
    assert torch.equal(tables_b[0][:1, :, image], tables_s[0][:, :, image])


@check("flux1: batch of 2")
def _():
    out = sample(dype(flux), "flux1", 512, batch=2)
    assert out.shape[0] == 2 and torch.isfinite(out).all()


@check("flux1: two patched models with different settings in one graph")
def _():
    a, b = dype(flux), dype(flux, method="Dy-NTK")
    first = sample(a, "flux1", 512)
    other = sample(b, "flux1", 512)
    assert not torch.equal(first, other) and torch.equal(sample(a, "flux1", 512), first)


@check("flux1: stacks with ModelSamplingFlux, LoRA-style weight patches, a foreign wrapper and ScaleROPE")
def _():
    from comfy_extras.nodes_model_advanced import ModelSamplingFlux

    shifted = ModelSamplingFlux().patch(flux, 1.15, 0.5, 512, 512)[0]
    seen = []

    def foreign(executor, *args, **kwargs):
        seen.append(args[-1]["sample_sigmas"].clone())
        return executor(*args, **kwargs)

    model = dype(shifted)
    model.add_wrapper_with_key(comfy.patcher_extension.WrappersMP.DIFFUSION_MODEL, "foreign", foreign)
    key = "diffusion_model.img_in.weight"
    model.add_patches({key: (torch.full_like(flux.model.state_dict()[key], 1e-3),)}, 1.0)
    model.set_model_rope_options(1.5, 0.0, 1.5, 0.0, 1.0, 0.0)
    tables = recorder(model)
    out = sample(model, "flux1", 512, cfg=1.0, steps=3)
    mu = model.get_model_object("model_sampling").shift
    assert torch.isfinite(out).all() and len(seen) == 3 and len(tables) == 3
    assert abs(mu - shifted.get_model_object("model_sampling").shift) < 1e-12
    assert not torch.equal(tables[0], tables[1])


@check("flux1: time shift policies set mu (base, custom, linear) and keep the model's (model)")
def _():
    def schedule(model):
        sigmas = []
        model.add_wrapper_with_key(comfy.patcher_extension.WrappersMP.DIFFUSION_MODEL, "probe",
                                   lambda ex, *a, **k: sigmas.append(a[-1]["sample_sigmas"].clone()) or ex(*a, **k))
        sample(model, "flux1", 512, cfg=1.0, steps=4)
        return sigmas[0]

    own = schedule(dype(flux))
    assert torch.allclose(schedule(dype(flux, time_shift="base")), own)  # the model's own mu is 1.15
    custom = schedule(dype(flux, time_shift="custom", mu=3.0))
    linear = schedule(dype(flux, time_shift="linear"))
    assert (custom[1:-1] > own[1:-1]).all()
    assert torch.allclose(linear, reshift(own, 1.15, linear_mu(32 * 32)), atol=1e-6)  # mu 0.63 at 512 px
    assert abs(dype(flux, time_shift="custom", mu=3.0).get_model_object("model_sampling").shift - 3.0) < 1e-12


@check("flux1: time shift base is the checkpoint's own default: schnell's shift 1, whatever a node upstream set")
def _():
    from comfy_extras.nodes_model_advanced import ModelSamplingFlux

    schnell = tiny_flux.patcher(dict(tiny_flux.FLUX1, guidance_embed=False), models.FluxSchnell)
    own = schnell.get_model_object("model_sampling")
    assert type(own).__name__ == "ModelSampling" and own.shift == 1.0, (type(own).__mro__, own.shift)
    upstream = ModelSamplingFlux().patch(schnell, 3.0, 0.5, 512, 512)[0]  # a FLUX mu node before DyPE
    pinned = dype(upstream, time_shift="base").get_model_object("model_sampling")
    assert type(pinned) is type(own) and pinned.shift == 1.0, (type(pinned).__mro__, pinned.shift)
    assert dype(upstream).get_model_object("model_sampling") is upstream.get_model_object("model_sampling")
    dev_pinned = dype(ModelSamplingFlux().patch(flux, 3.0, 0.5, 512, 512)[0], time_shift="base")
    assert dev_pinned.get_model_object("model_sampling").shift == 1.15


@check("flux1: DyPE(linear) then ComfyUI's ModelSamplingDiscrete (eps) is refused when sampling starts")
def _():
    from comfy_extras.nodes_model_advanced import ModelSamplingDiscrete

    eps = ModelSamplingDiscrete().patch(dype(flux, time_shift="linear"), "eps", False)[0]
    try:
        sample(eps, "flux1", 512, cfg=1.0, steps=2)
    except ValueError as error:
        assert "time_shift 'linear' sets the flow schedule's shift, but this model samples with" in str(error), error
        assert "Use time_shift 'model'" in str(error), error
    else:
        raise AssertionError("sampled a linear re-shift on a schedule without a shift")


@check("flux1: a second DyPE node replaces the first one's time shift")
def _():
    import logging

    again = dype(dype(flux, time_shift="custom", mu=3.0), time_shift="model")
    assert again.get_model_object("model_sampling") is flux.get_model_object("model_sampling")
    lines = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())
    logger = logging.getLogger("DyPE")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        sample(again, "flux1", 512, cfg=1.0, steps=2)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert len(lines) == 1 and lines[0].endswith("time shift mu 1.15 (model)"), lines


@check("errors: bad settings and an unsupported model are refused clearly")
def _():
    for inputs, text in (({"lambda_s": -1.0}, "lambda_s must be"), ({"base_resolution": 1000}, "multiple of 16")):
        try:
            DyPE.execute(flux, **inputs)
        except ValueError as error:
            assert text in str(error), error
        else:
            raise AssertionError(f"{inputs} accepted")
    sd3 = tiny_flux.patcher(tiny_flux.FLUX1, models.Flux)
    sd3.add_object_patch("diffusion_model", torch.nn.Linear(2, 2))
    try:
        DyPE.execute(sd3)
    except UnsupportedModel as error:
        assert "Linear" in str(error) and "FLUX.1" in str(error) and "Chroma" in str(error)
    else:
        raise AssertionError("unsupported model accepted")


def tiny_controlnet(union_modes: int):
    """A FLUX ControlNet (InstantX layout, latent hint) with seeded random weights."""
    import comfy.ops
    from comfy.controlnet import ControlNet
    from comfy.ldm.flux.controlnet import ControlNetFlux

    model = ControlNetFlux(latent_input=True, num_union_modes=union_modes, control_latent_channels=16,
                           operations=comfy.ops.disable_weight_init, device="cpu", dtype=torch.float32,
                           **tiny_flux.FLUX1)
    generator = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.05)
    control = ControlNet(model, compression_ratio=1, latent_format=None, load_device=torch.device("cpu"),
                         manual_cast_dtype=None, extra_conds=["y", "guidance"])
    hint = torch.randn(1, 16, 64, 64, generator=generator)
    applied = control.copy().set_cond_hint(hint, 1.0, (0.0, 1.0))
    if union_modes:
        applied.extra_args["control_type"] = [1]
    return control, applied


@check("flux1: FLUX ControlNets (plain and Union) see the model's DyPE table at every step; inactive at native")
def _():
    from comfyui_dype.nodes.embedder import DyPEEmbedder

    for union_modes in (0, 2):
        control, applied = tiny_controlnet(union_modes)
        calls = []

        def hook(module, args, out, calls=calls):
            if isinstance(module, DyPEEmbedder):
                calls.append((module.steps[0].name, args[0].clone(), out.clone()))

        handle = torch.nn.modules.module.register_module_forward_hook(hook)
        try:
            positive, negative = tiny_flux.conds()
            positive[0][1]["control"] = applied
            latent = torch.zeros(1, 16, 64, 64)
            comfy.sample.sample(dype(flux), comfy.sample.prepare_noise(latent, 42), 3, 1.0, "euler", "simple",
                                positive, negative, latent, disable_pbar=True, seed=42)
        finally:
            handle.remove()
        model = [out for name, _, out in calls if name == "dype_step"]
        controlled = [(ids, out) for name, ids, out in calls if name == "dype_control_step"]
        assert len(model) == 3 and len(controlled) == 3, (len(model), len(controlled))
        for table, (ids, control_table) in zip(model, controlled):
            assert torch.equal(control_table[:, :, -32 * 32:], table[:, :, 8:8 + 32 * 32])
            host = flux.model.diffusion_model.pe_embedder(ids)
            text = ids.shape[1] - 32 * 32
            assert text == 8 + (1 if union_modes else 0)
            assert torch.equal(control_table[:, :, :text], host[:, :, :text])
        assert not torch.equal(controlled[0][1], controlled[-1][1])
        assert not control.control_model_wrapped.object_patches and not applied.control_model_wrapped.object_patches
    calls = []
    handle = torch.nn.modules.module.register_module_forward_hook(
        lambda module, args, out: calls.append(module) if isinstance(module, DyPEEmbedder) else None)
    try:
        positive, negative = tiny_flux.conds()
        positive[0][1]["control"] = tiny_controlnet(0)[1]
        latent = torch.zeros(1, 16, 32, 32)
        with_dype = comfy.sample.sample(dype(flux), comfy.sample.prepare_noise(latent, 42), 2, 1.0, "euler", "simple",
                                        positive, negative, latent, disable_pbar=True, seed=42)
        plain = comfy.sample.sample(flux, comfy.sample.prepare_noise(latent, 42), 2, 1.0, "euler", "simple",
                                    positive, negative, latent, disable_pbar=True, seed=42)
    finally:
        handle.remove()
    assert torch.equal(with_dype, plain)  # 256 px is the base: a bitwise no-op, ControlNet included


@check("flux1: torch.compile (TorchCompileModel) follows sigma, compiles once, matches eager")
def _():
    from comfy_extras.nodes_torch_compile import TorchCompileModel

    patched = dype(flux)
    tables = recorder(patched)
    eager = sample(patched, "flux1", 512, cfg=1.0, steps=4)
    compiled = TorchCompileModel.execute(patched, "inductor").result[0]
    torch._dynamo.utils.counters.clear()
    out = sample(compiled, "flux1", 512, cfg=1.0, steps=4)
    assert len(tables) == 8 and all(torch.equal(a, b) for a, b in zip(tables[:4], tables[4:]))
    assert not torch.equal(tables[4], tables[7])
    assert torch.allclose(out, eager, rtol=1e-4, atol=1e-5), (out - eager).abs().max()
    sample(compiled, "flux1", 512, cfg=1.0, steps=6)  # settles guards unrelated to DyPE
    graphs = dict(torch._dynamo.utils.counters["stats"])["unique_graphs"]
    sample(compiled, "flux1", 512, cfg=1.0, steps=12)
    assert dict(torch._dynamo.utils.counters["stats"])["unique_graphs"] == graphs  # new sigmas, no new graph


@check("flux1: a ComfyUI whose FLUX forward no longer calls pe_embedder stops DyPE's run, naming class and version")
def _():
    import comfy.ldm.flux.model as flux_model
    from comfy.ldm.flux.layers import EmbedND
    from comfyui_dype.nodes.patch import HostMismatch

    forward = flux_model.Flux.forward_orig

    def changed(self, *args, **kwargs):  # a future forward that builds its table with an embedder of its own
        replaced = self._modules["pe_embedder"]
        own = EmbedND(dim=replaced.dim, theta=replaced.theta, axes_dim=replaced.axes_dim)
        self._modules["pe_embedder"] = own
        try:
            return forward(self, *args, **kwargs)
        finally:
            self._modules["pe_embedder"] = replaced

    flux_model.Flux.forward_orig = changed
    try:
        try:
            sample(dype(flux), "flux1", 512, steps=2)
        except HostMismatch as error:
            message = str(error)
        else:
            raise AssertionError("DyPE sampled with tables it did not make")
        native = torch.equal(sample(dype(flux), "flux1", 256, steps=2), sample(flux, "flux1", 256, steps=2))
    finally:
        flux_model.Flux.forward_orig = forward
    assert "comfy.ldm.flux.model.Flux" in message and f"ComfyUI {host.comfyui_version()}" in message, message
    assert "never asked its rotary embedder (diffusion_model.pe_embedder)" in message, message
    assert native  # at the native size DyPE does nothing, so the changed host samples as before



SEGA_PA = {"method": "SEGA", "proportional_attention": True}


@check("flux1: SEGA + proportional attention: bitwise at the base (CFG batched and apart); tables follow the latent")
def _():
    from comfyui_dype.dype_core import FLUX1, DyPESettings, build_table, sega
    from comfyui_dype.dype_core import frequencies as freqs

    for negative_text in (8, 12):
        assert torch.equal(sample(dype(flux, **SEGA_PA), "flux1", 256, negative_text=negative_text),
                           sample(flux, "flux1", 256, negative_text=negative_text))
    patched = dype(flux, method="SEGA")
    tables, inputs = recorder(patched), []
    patched.add_wrapper_with_key(comfy.patcher_extension.WrappersMP.DIFFUSION_MODEL, "probe",
                                 lambda ex, *a, **k: inputs.append((a[0].clone(), a[-1]["sigmas"])) or ex(*a, **k))
    sample(patched, "flux1", 512, steps=3)
    layout = FLUX1.with_base_resolution(256)
    ids = torch.stack(torch.meshgrid(torch.zeros(1), torch.arange(32.0), torch.arange(32.0), indexing="ij"), -1)
    assert len(tables) == len(inputs) == 3
    for table, (x, sigmas) in zip(tables, inputs):
        frequencies = freqs.dype(layout, DyPESettings(method="sega", dynamic=False), layout.axis_scales(32, 32),
                                 float(sigmas.max()), spectrum=sega.spectrum(x, layout.patch))
        expected = build_table(ids.reshape(1, -1, 3), layout, frequencies)
        assert torch.equal(table[:1, :, 8:], expected)
    assert not torch.equal(tables[0], tables[-1])


@check("flux1: proportional attention scales q inside an attention override installed before DyPE")
def _():
    seen = []

    def earlier(func, q, k, v, *args, **kwargs):
        seen.append(q.detach().clone())
        return func(q, k, v, *args, **kwargs)

    model = flux.clone()
    model.model_options.setdefault("transformer_options", {})["optimized_attention_override"] = earlier
    sample(dype(model, method="PI (static)"), "flux1", 512, cfg=1.0, steps=1)
    plain = seen[0]
    seen.clear()
    sample(dype(model, method="PI (static)", proportional_attention=True), "flux1", 512, cfg=1.0, steps=1)
    keys, image, base = 8 + 32 * 32, 32 * 32, 16 * 16
    factor = (torch.tensor(keys).log() / torch.tensor(keys - image + base).log()).sqrt().item()
    assert torch.allclose(seen[0], plain * factor, rtol=1e-5, atol=1e-6), factor
    assert "optimized_attention_override" not in flux.model_options.get("transformer_options", {})


@check("flux1: SEGA + proportional attention under torch.compile match eager and compile once")
def _():
    from comfy_extras.nodes_torch_compile import TorchCompileModel

    patched = dype(flux, **SEGA_PA)
    eager = sample(patched, "flux1", 512, cfg=1.0, steps=4)
    compiled = TorchCompileModel.execute(patched, "inductor").result[0]
    # TorchCompileModel drops Dynamo's guards on transformer_options, so a graph traced earlier in this process
    # without an attention override would be reused (DyPE then stops the run: see the message test below).
    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    out = sample(compiled, "flux1", 512, cfg=1.0, steps=4)
    assert torch.allclose(out, eager, rtol=1e-4, atol=1e-5), (out - eager).abs().max()
    sample(compiled, "flux1", 512, cfg=1.0, steps=6)
    graphs = dict(torch._dynamo.utils.counters["stats"])["unique_graphs"]
    sample(compiled, "flux1", 512, cfg=1.0, steps=12)
    assert dict(torch._dynamo.utils.counters["stats"])["unique_graphs"] == graphs


@check("flux1: a SEGA node and a Dy-YaRN node in one graph; a FLUX ControlNet with SEGA + PA")
def _():
    a, b = dype(flux, **SEGA_PA), dype(flux)
    first = sample(a, "flux1", 512)
    assert not torch.equal(first, sample(b, "flux1", 512)) and torch.equal(sample(a, "flux1", 512), first)
    positive, negative = tiny_flux.conds()
    positive[0][1]["control"] = tiny_controlnet(0)[1]
    latent = torch.zeros(1, 16, 64, 64)
    out = comfy.sample.sample(a, comfy.sample.prepare_noise(latent, 42), 3, 1.0, "euler", "simple", positive,
                              negative, latent, disable_pbar=True, seed=42)
    assert torch.isfinite(out).all()


comfy.model_management.unload_all_models()
print(json.dumps(RESULTS))
