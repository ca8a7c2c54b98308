"""The DyPE node inside larger real ComfyUI graphs: caches, Kontext references, two-pass hires fix.

Runs on the CPU with the tiny random FLUX.1 of ``tiny_flux.py``; DyPE gets ``base_resolution``
256 so that 512 px latents are above the base. Prints one JSON object: each check's name with
``true``, an explanation, or a string starting with ``skipped`` when the host lacks the feature.
"""

from __future__ import annotations

import json
from contextlib import contextmanager

import host

host.load_pack()

import comfy.ldm.flux.layers  # noqa: E402
import comfy.model_management  # noqa: E402
import comfy.patcher_extension  # noqa: E402
import comfy.sample  # noqa: E402
import comfy.samplers  # noqa: E402
import comfy.supported_models as models  # noqa: E402
import comfy.utils  # noqa: E402
import tiny_flux  # noqa: E402
import torch  # noqa: E402
from comfyui_dype.nodes.dype_node import DyPE  # noqa: E402

RESULTS: dict[str, object] = {"comfyui": host.comfyui_version()}
#: What the checks measured, for the report (not checks).
INFO: dict[str, object] = {}
TEXT = 8
CHANNELS = 16
DIFFUSION_MODEL = comfy.patcher_extension.WrappersMP.DIFFUSION_MODEL


class Skip(Exception):
    """The host lacks what the check needs; reported as ``"skipped: ..."``."""


check = host.checks(RESULTS, skip=Skip)


def node(module: str, name: str):
    """A core node class from ``comfy_extras.<module>``, or ``Skip`` when this ComfyUI has none."""
    import importlib

    try:
        return getattr(importlib.import_module(f"comfy_extras.{module}"), name)
    except (ImportError, AttributeError) as error:
        raise Skip(f"needs v0.25 ({module}.{name} missing: {error})") from None


def run_node(cls, **inputs):
    """Run a core node (V3 ``execute`` classmethod or V1 ``FUNCTION``) and return its first output."""
    if hasattr(cls, "FUNCTION"):
        return getattr(cls(), cls.FUNCTION)(**inputs)[0]
    out = cls.execute(**inputs)
    return out.result[0] if hasattr(out, "result") else out[0]


def latent(px: int, seed: int | None = None) -> torch.Tensor:
    side = px // 8
    if seed is None:
        return torch.zeros(1, CHANNELS, side, side)
    return torch.randn(1, CHANNELS, side, side, generator=torch.Generator().manual_seed(seed))


def conds(cfg: float, **extra):
    positive, negative = tiny_flux.conds(text=TEXT, negative_text=TEXT)
    positive[0][1].update(extra)
    negative[0][1].update(extra)
    return positive, negative


def sample(model, start: torch.Tensor, *, steps=4, cfg=1.0, denoise=1.0, sigmas=None, **extra):
    positive, negative = conds(cfg, **extra)
    noise = comfy.sample.prepare_noise(start, 42)
    if sigmas is not None:
        sampler = comfy.samplers.sampler_object("euler")
        return comfy.sample.sample_custom(model, noise, cfg, sampler, sigmas, positive, negative, start,
                                          disable_pbar=True, seed=42)
    return comfy.sample.sample(model, noise, steps, cfg, "euler", "simple", positive, negative, start,
                               denoise=denoise, disable_pbar=True, seed=42)


def dype(model, **inputs):
    return DyPE.execute(model, **({"base_resolution": 256, "method": "Dy-YaRN", "proportional_attention": False}
                                  | inputs)).result[0]


@contextmanager
def probe(model):
    """Record every model call that runs: its sigma, the ids and the table the embedder returned.

    The probe is a DIFFUSION_MODEL wrapper added last, so it is the innermost one: a call a cache
    skipped never reaches it. The table comes from a forward hook on the patched embedder.
    """
    calls: list[dict] = []

    def wrapper(executor, *args, **kwargs):
        options = args[-1] if args and isinstance(args[-1], dict) else kwargs["transformer_options"]
        calls.append({"sigma": float(options["sigmas"].max()), "text": int(args[2].shape[1])})
        return executor(*args, **kwargs)

    def hook(module, args, out):
        calls[-1]["ids"] = args[0].detach().clone()
        calls[-1]["table"] = out.detach().clone()

    model.add_wrapper_with_key(DIFFUSION_MODEL, "graph-probe", wrapper)
    handle = model.get_model_object("diffusion_model.pe_embedder").register_forward_hook(hook)
    try:
        yield calls
    finally:
        handle.remove()


def oracle(settings: dict, start: torch.Tensor, sigma: float, **extra) -> torch.Tensor:
    """The table a fresh DyPE model builds in a one-step run at ``sigma`` (no cache, no other patch)."""
    model = dype(FLUX, **settings)
    with probe(model) as calls:
        sample(model, start, sigmas=torch.tensor([sigma, 0.0]), **extra)
    assert len(calls) == 1 and abs(calls[0]["sigma"] - sigma) < 1e-6, calls
    return calls[0]["table"]


def host_table(ids: torch.Tensor, kind: str = "flux1") -> torch.Tensor:
    """ComfyUI's own rotary table for ``ids`` (its EmbedND with the model's configuration)."""
    embedder = EDIT_MODELS[kind][0].get_model_object("diffusion_model.pe_embedder")
    return comfy.ldm.flux.layers.EmbedND(embedder.dim, embedder.theta, list(embedder.axes_dim))(ids)


FLUX = tiny_flux.patcher(tiny_flux.FLUX1, models.Flux)


# ------------------------------------------------------------------------------ a. step caches

def cached_run(cache_node: str, threshold: float):
    cls = node("nodes_easycache", f"{cache_node}Node")
    model = run_node(cls, model=dype(FLUX), reuse_threshold=threshold, start_percent=0.0, end_percent=1.0,
                     verbose=False)
    steps = 10
    start = latent(512)
    with probe(model) as calls:
        out = sample(model, start, steps=steps, cfg=2.0)
    assert torch.isfinite(out).all()
    assert 0 < len(calls) < steps, f"{cache_node}: {len(calls)} model calls for {steps} steps (no step skipped)"
    for call in calls:
        expected = oracle({}, start, call["sigma"])
        assert torch.equal(call["table"][:1], expected), f"sigma {call['sigma']}: table differs from its own sigma's"
    assert not torch.equal(calls[0]["table"], calls[-1]["table"])
    return len(calls), steps


for cache in ("EasyCache", "LazyCache"):
    @check(f"{cache} after DyPE: samples, skips steps, and every call that runs gets its own sigma's table")
    def _(cache=cache):
        ran, steps = cached_run(cache, 3.0)
        INFO[f"{cache}: model calls / steps"] = f"{ran}/{steps}"


# ----------------------------------------------------------------------------- b. Kontext edits

METHODS = ("offset", "index", "uxo", "index_timestep_zero")
#: Flux.2 as ComfyUI detects it from a checkpoint: global modulation, which index_timestep_zero needs.
FLUX2_REAL = dict(tiny_flux.FLUX2, global_modulation=True, mlp_silu_act=True, qkv_bias=False, ops_bias=False,
                  default_ref_method="index", ref_index_scale=10.0)


def flux2_patcher():
    try:
        return tiny_flux.patcher(FLUX2_REAL, models.Flux2)
    except TypeError:  # an older FluxParams without the reference fields
        config = {k: v for k, v in FLUX2_REAL.items() if k not in ("default_ref_method", "ref_index_scale")}
        return tiny_flux.patcher(config, models.Flux2)


#: kind -> (unpatched model, latent channels, px per latent cell)
EDIT_MODELS = {"flux1": (FLUX, 16, 8), "flux2": (flux2_patcher(), 128, 16)}


def has_method(method: str) -> bool:
    import inspect

    import comfy.ldm.flux.model

    return method in inspect.getsource(comfy.ldm.flux.model.Flux._forward)


def edit_latent(kind: str, px: int, seed: int | None = None) -> torch.Tensor:
    _, channels, per = EDIT_MODELS[kind]
    shape = (1, channels, px // per, px // per)
    return torch.zeros(shape) if seed is None else torch.randn(shape, generator=torch.Generator().manual_seed(seed))


def edit(model, kind: str, method: str | None, px: int = 512):
    extra = {"reference_latents": [edit_latent(kind, px, seed=7)]}
    if method is not None:
        extra["reference_latents_method"] = method
    return sample(model, edit_latent(kind, px), steps=3, cfg=1.0, **extra)


def kontext_check(model, kind: str, method: str | None):
    """Sample a 512 px edit with a 512 px reference; the reference's table must be the host's."""
    with probe(model) as calls:
        out = edit(model, kind, method)
    assert torch.isfinite(out).all() and out.shape == edit_latent(kind, 512).shape
    assert len(calls) == 3, len(calls)
    for call in calls:
        ids, table, text = call["ids"], call["table"], call["text"]
        image, refs = slice(text, text + 32 * 32), slice(text + 32 * 32, None)
        assert ids.shape[1] == text + 2 * 32 * 32, f"ids {list(ids.shape)}: expected text, image and reference"
        host = host_table(ids, kind)
        assert torch.equal(table[:, :, refs], host[:, :, refs]), f"reference table changed ({method})"
        assert torch.equal(table[:, :, :text], host[:, :, :text]), "text table changed"
        assert not torch.equal(table[:, :, image], host[:, :, image]), f"DyPE inactive on the main image ({method})"
    return out


def host_fails(kind: str, method: str | None, base) -> str | None:
    """Why the unpatched host fails on this edit, or None when it samples."""
    try:
        edit(base, kind, method, px=256)
    except Exception as error:
        return f"{type(error).__name__}: {error}"[:160]
    return None


for kind in EDIT_MODELS:
    for method in METHODS:
        @check(f"kontext {kind}: reference method {method}: samples with DyPE, the reference keeps the host's table")
        def _(kind=kind, method=method):
            if not has_method(method):
                raise Skip(f"needs v0.25 (no reference method {method!r})")
            base = EDIT_MODELS[kind][0]
            if (why := host_fails(kind, method, base)) is not None:
                raise Skip(f"ComfyUI's own {kind} fails with {method} without DyPE too: {why}")
            kontext_check(dype(base), kind, method)

    @check(f"kontext {kind}: at the base size (256 px) with a reference, DyPE is bitwise the unpatched model")
    def _(kind=kind):
        base = EDIT_MODELS[kind][0]
        assert torch.equal(edit(dype(base), kind, None, px=256), edit(base, kind, None, px=256))

    for order in ("after", "before"):
        @check(f"kontext {kind}: FluxKVCache {order} DyPE: samples twice, the reference keeps the host's table")
        def _(kind=kind, order=order):
            kv = node("nodes_flux", "FluxKVCache")
            base = EDIT_MODELS[kind][0]
            cached = run_node(kv, model=base)
            if (why := host_fails(kind, None, cached)) is not None:
                raise Skip(f"ComfyUI's own {kind} fails with FluxKVCache without DyPE too: {why}")
            model = run_node(kv, model=dype(base)) if order == "after" else dype(run_node(kv, model=base))
            kontext_check(model, kind, None)
            kontext_check(model, kind, None)  # the node's key/value cache is filled now

    @check(f"kontext {kind}: FluxKVCache + DyPE at the base size is bitwise FluxKVCache alone")
    def _(kind=kind):
        kv = node("nodes_flux", "FluxKVCache")
        base = EDIT_MODELS[kind][0]
        if (why := host_fails(kind, None, run_node(kv, model=base))) is not None:
            raise Skip(f"ComfyUI's own {kind} fails with FluxKVCache without DyPE too: {why}")
        patched = edit(run_node(kv, model=dype(base)), kind, None, px=256)
        assert torch.equal(patched, edit(run_node(kv, model=base), kind, None, px=256))


# ------------------------------------------------------------------------ c. two-pass hires fix

@check("hires fix: pass 1 at 256 px is bitwise unpatched; pass 2 (x2, denoise 0.5) follows the partial schedule")
def _():
    model = dype(FLUX)
    first = sample(model, latent(256), steps=4)
    assert torch.equal(first, sample(FLUX, latent(256), steps=4)), "pass 1 at the base size differs"
    upscale = __import__("nodes").LatentUpscaleBy
    upscaled = run_node(upscale, samples={"samples": first}, upscale_method="nearest-exact", scale_by=2.0)["samples"]
    assert upscaled.shape == (1, CHANNELS, 64, 64)
    assert torch.equal(upscaled, comfy.utils.common_upscale(first, 64, 64, "nearest-exact", "disabled"))
    with probe(model) as calls:
        second = sample(model, upscaled, steps=4, denoise=0.5)
    assert torch.isfinite(second).all() and len(calls) == 4
    assert calls[0]["sigma"] < 1.0, f"pass 2 starts at sigma {calls[0]['sigma']}"
    assert not torch.equal(calls[0]["table"], calls[-1]["table"])
    for call in calls:
        assert torch.equal(call["table"], oracle({}, upscaled, call["sigma"])), call["sigma"]
    INFO["hires fix: pass 2 sigmas"] = [round(call["sigma"], 4) for call in calls]


@check("img2img: a random encoded latent at denoise 0.6 follows the partial schedule")
def _():
    model = dype(FLUX)
    encoded = latent(512, seed=11)
    with probe(model) as calls:
        out = sample(model, encoded, steps=5, denoise=0.6)
    assert torch.isfinite(out).all() and len(calls) == 5
    assert calls[0]["sigma"] < 1.0 and not torch.equal(calls[0]["table"], calls[-1]["table"])
    for call in calls:
        assert torch.equal(call["table"], oracle({}, encoded, call["sigma"])), call["sigma"]
    assert not torch.equal(out, sample(FLUX, encoded, steps=5, denoise=0.6))


comfy.model_management.unload_all_models()
RESULTS["info"] = INFO
print(json.dumps(RESULTS))
