"""DyPE on HunyuanImage 2.1 (+ Refiner), HunyuanVideo, Wan 2.1 / 2.2, Kandinsky 5, OmniGen2, Boogu, Ernie-Image
and Chroma Radiance, through the node (``DyPE.execute`` via ``run_node``) and the host's ``comfy.sample``.

The stand-ins (``tests/standin/comfy/ldm/<family>``, built in ``families_b.py``) form ids and call their rotary
embedder as the host's models do; each test runs over one table of families. The expected tables are built
here from the facts: exact float32 grid ids at the family's image position, ``dype_core`` frequencies for
per-axis scales of the image grid at the call's sigma, the family's own table layout (Ernie's split halves
written out below), and the host's own embedder for every other token.
"""

import pytest
import torch
from comfy.model_base import ModelConfig
from comfy.model_sampling import model_sampling
from comfy.patcher_extension import WrappersMP
from comfy.sample import sample as host_sample
from comfy.samplers import KSampler, calculate_sigmas
from comfy.utils import get_attr
from comfyui_dype.dype_core import DyPESettings, build_table, sigma_to_t
from comfyui_dype.dype_core import frequencies as freqs
from comfyui_dype.nodes.dype_node import DyPE
from comfyui_dype.nodes.embedder import DyPEEmbedder
from comfyui_dype.nodes.families import UnsupportedModel
from comfyui_dype.nodes.patch import patch_of
from dype_helpers import dype_node
from families_b import CPU, SPECS, Spec

#: The base grid most tests set (tokens a side), so that a few tokens are above it.
BASE = 4
#: Portrait with both axes above the base; landscape with the rows below it (their axis unscaled).
GRIDS = {"portrait": (8, 6), "landscape": (3, 10)}
#: Negative prompt lengths: shorter than the positive (cond and uncond run apart), or as long (batched together
#: where the family's conds match).
NEGATIVE = {"portrait": 7, "landscape": 40}
BY_NAME = {spec.name: spec for spec in SPECS}


def above_base(grids: bool = False) -> list:
    """The families (with each of ``GRIDS`` if ``grids``) for tests that sample above the base."""
    if not grids:
        return [pytest.param(spec, id=spec.name) for spec in SPECS]
    return [pytest.param(spec, grid, NEGATIVE[name], id=f"{spec.name}-{name}")
            for spec in SPECS for name, grid in GRIDS.items()]


@pytest.fixture(scope="module")
def models():
    return {spec.name: spec.build() for spec in SPECS}


def dype(model, spec: Spec, **inputs):
    """``model`` through the DyPE node, base resolution ``BASE`` tokens of the family."""
    return dype_node(model, **({"base_resolution": BASE * spec.px} | inputs))[0]


def run(model, spec: Spec, grid: tuple[int, int], *, steps: int = 2, cfg: float = 2.0, refs: bool = True,
        extra: dict | None = None, scheduler: str = "simple", negative_text: int = 7) -> torch.Tensor:
    """``comfy.sample.sample`` on a ``grid`` image: a long prompt with the family's references (``refs``) and
    ``extra`` options against a negative one of ``negative_text`` tokens."""
    positive, negative = spec.conds(refs=refs, negative_text=negative_text)
    latent = spec.latent(*grid)
    positive[0][1].update(spec.sized(latent) | (extra or {}))
    noise = torch.randn(latent.shape, generator=torch.Generator().manual_seed(42))
    return host_sample(model, noise, steps, cfg, "euler", scheduler, positive, negative, latent,
                       disable_pbar=True, seed=42)


def record(model, spec: Spec) -> list:
    """Per model call, in order: ``(sigma, [(ids, table) of each embedder call], batch)``."""
    forwards = []

    def probe(executor, *args, **kwargs):
        forwards.append((float(args[1].max()), [], args[0].shape[0]))
        return executor(*args, **kwargs)

    model.add_wrapper_with_key(WrappersMP.APPLY_MODEL, "probe", probe)
    model.get_model_object(spec.embedder).register_forward_hook(
        lambda module, args, out: forwards[-1][1].append((args[0].clone(), out.clone())))
    return forwards


def take(spec: Spec, table: torch.Tensor, tokens: slice) -> torch.Tensor:
    """Tokens of a table in the family's layout (Ernie ``[B, L, 1, ...]``, the others ``[B, 1, L, ...]``)."""
    return table[:, tokens] if spec.split_half else table[:, :, tokens]


def host_layout(spec: Spec, flux: torch.Tensor) -> torch.Tensor:
    """A table in FLUX's layout ``[B, 1, L, P, 2, 2]`` in the family's own.

    Ernie-Image (its ``ErnieImageEmbedND3``): ``cos`` and ``sin`` of the P angles ``a``, split in halves, each
    repeated twice, stacked as ``[cos top, -sin top, sin bottom, cos bottom]``: entry ``k`` rotates element
    ``k`` of a head with element ``k + P``.
    """
    if not spec.split_half:
        return flux
    cos, sin = flux[:, 0, ..., 1, 1], flux[:, 0, ..., 1, 0]
    top, bottom = slice(0, cos.shape[-1] // 2), slice(cos.shape[-1] // 2, None)
    parts = [cos[..., top], -sin[..., top], sin[..., bottom], cos[..., bottom]]
    table = torch.stack([part.repeat_interleave(2, dim=-1) for part in parts], dim=-1)
    return table.reshape(*table.shape[:-1], 2, 2).unsqueeze(2)


def angle_of_rows(spec: Spec, entries: int) -> torch.Tensor:
    """``[entries, 2]``: the angle each row of each 2x2 entry of the family's table holds."""
    k = torch.arange(entries)
    if spec.split_half:
        return torch.stack((k // 2, entries // 2 + k // 2), dim=-1)
    return torch.stack((k, k), dim=-1)


def scales(spec: Spec, grid: tuple[int, int]) -> tuple[float, ...]:
    """Per-axis scales of an image grid over the ``BASE`` grid: rows and columns alone."""
    out = [1.0] * len(spec.axes)
    out[spec.row_axis], out[spec.col_axis] = max(1.0, grid[0] / BASE), max(1.0, grid[1] / BASE)
    return tuple(out)


def exact_ids(spec: Spec, ids: torch.Tensor, image: slice, frames: int, grid: tuple[int, int],
              lead: int = 0) -> torch.Tensor:
    """``ids`` in float32 with the image's frames (from ``lead``), rows and columns (from 0) as exact integers,
    row-major."""
    exact = ids.to(torch.float32, copy=True)
    rows, cols = grid
    view = exact[:, image].view(ids.shape[0], frames, rows, cols, ids.shape[-1])
    view[..., spec.row_axis] = torch.arange(rows, dtype=torch.float32)[:, None]
    view[..., spec.col_axis] = torch.arange(cols, dtype=torch.float32)
    if spec.time_axis is not None:
        view[..., spec.time_axis] = torch.arange(lead, lead + frames, dtype=torch.float32)[:, None, None]
    return exact


def check_tables(spec: Spec, patched, forwards: list, grid: tuple[int, int], host_ids_exact: bool = True,
                 lead: int = 0) -> list:
    """Every recorded table: the image's tokens hold ``dype_core``'s table of exact grid ids (axes at scale 1
    equal to the host's own), every other token and every later call (Wan's in-context references) the host
    embedder's table. ``lead``: frames of the image's grid before it in its call (Wan Fun's reference).
    Returns the image's rows of each model call."""
    frames, count = spec.frames or 1, (spec.frames or 1) * grid[0] * grid[1]
    layout, original = patch_of(patched).layout, patched.get_model_object(spec.embedder).original
    assert layout.base_grid == (BASE, BASE)
    scale = scales(spec, grid)
    unscaled = torch.zeros(layout.pairs, dtype=torch.bool)
    for (first, end), s in zip(layout.pair_slices, scale):
        unscaled[first:end] = s == 1.0
    images, later = [], 0
    for sigma, ((ids, table), *others), _ in forwards:
        n = ids.shape[1]
        start = n - count if spec.image_last else lead * grid[0] * grid[1]
        image = slice(start, start + count)
        exact = exact_ids(spec, ids, image, frames, grid, lead)
        assert torch.equal(ids[:, image].float(), exact[:, image]) == host_ids_exact
        for rest in (slice(0, start), slice(start + count, n)):
            assert torch.equal(take(spec, table, rest), take(spec, original(ids), rest))
        ours = take(spec, table, image)
        frequencies = freqs.dype(layout, DyPESettings(), scale, sigma_to_t(sigma))
        assert torch.equal(ours, host_layout(spec, build_table(exact[:, image], layout, frequencies)))
        plain = unscaled[angle_of_rows(spec, ours.shape[-3])]
        host = take(spec, original(exact), image)
        assert torch.equal(ours.movedim(-1, 0)[..., plain], host.movedim(-1, 0)[..., plain])
        assert not torch.equal(ours, host)
        for ref_ids, ref_table in others:
            assert torch.equal(ref_table, original(ref_ids))
        later += len(others)
        images.append(ours)
    assert bool(later) == spec.later_calls
    return images


@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_detects_the_family_its_layout_and_hook(models, spec):
    base = models[spec.name]
    patched = dype_node(base)[0]
    patch = patch_of(patched)
    layout = patch.layout
    assert patch.family.name == spec.family_name
    assert (layout.axes_dim, layout.theta, layout.px_per_token) == (spec.axes, spec.theta, spec.px)
    assert (layout.row_axis, layout.col_axis, layout.time_axis) == (spec.row_axis, spec.col_axis, spec.time_axis)
    assert layout.base_grid == (spec.native_tokens, spec.native_tokens)
    embedder = patched.get_model_object(spec.embedder)
    assert isinstance(embedder, DyPEEmbedder) and embedder.original is base.get_model_object(spec.embedder)
    assert embedder.theta == spec.theta  # host code reads it (Wan's in-context references)
    assert set(patched.object_patches) == {spec.embedder}  # Kandinsky's text embedder, OmniGen2's outer one: kept
    hooks = (WrappersMP.APPLY_MODEL, WrappersMP.DIFFUSION_MODEL)
    assert {kind for kind in hooks if patched.get_wrappers(kind, "dype")} == {hooks[0] if spec.apply_model_hook
                                                                               else hooks[1]}


@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_bitwise_no_op_at_and_below_the_base(models, spec):
    base = models[spec.name]
    patched = dype(base, spec)
    for grid, steps, cfg in (((BASE, BASE), 2, 2.0), ((BASE - 1, 2), 1, 1.0)):
        assert torch.equal(run(patched, spec, grid, steps=steps, cfg=cfg), run(base, spec, grid, steps=steps, cfg=cfg))


@pytest.mark.parametrize("spec,grid,negative_text", above_base(grids=True))
def test_above_the_base_the_image_gets_dype_and_the_rest_the_host_table(models, spec, grid, negative_text):
    patched = dype(models[spec.name], spec)
    forwards = record(patched, spec)
    out = run(patched, spec, grid, scheduler="karras", negative_text=negative_text)  # sigma 1, then a tiny one
    assert sum(batch for *_, batch in forwards) == 4 and torch.isfinite(out).all()  # 2 steps of cond and uncond
    images = check_tables(spec, patched, forwards, grid)
    assert not torch.equal(images[0], images[-1])  # the table follows the sigma


@pytest.mark.parametrize("spec", above_base())
def test_the_original_model_is_unchanged(models, spec):
    base = models[spec.name]
    embedder = base.get_model_object(spec.embedder)  # the host's own (a clone's patch may still be applied)
    before = run(base, spec, GRIDS["portrait"], steps=1)
    patched = run(dype(base, spec), spec, GRIDS["portrait"], steps=1)
    assert not torch.equal(patched, before)
    assert torch.equal(run(base, spec, GRIDS["portrait"], steps=1), before)
    assert get_attr(base.model, spec.embedder) is embedder and not isinstance(embedder, DyPEEmbedder)
    assert not base.object_patches and not base.get_wrappers(WrappersMP.OUTER_SAMPLE, "dype")


@pytest.mark.parametrize("spec", above_base())
def test_image_ids_past_256_tokens_are_exact_in_bf16(spec):
    """bf16 holds integers exactly only up to 256: the host's model-dtype ids are off, DyPE's are exact."""
    patched = dype(spec.build(dtype=torch.bfloat16), spec)
    forwards = record(patched, spec)
    grid = (300, 2)
    assert torch.isfinite(run(patched, spec, grid, steps=1, cfg=1.0)).all()
    check_tables(spec, patched, forwards, grid, host_ids_exact=not spec.ids_in_model_dtype)


@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_time_shift_model_keeps_the_sampling_and_base_pins_the_family_shift(models, spec):
    user = models[spec.name].clone()  # as if a sampling-shift node upstream had set another shift
    config = ModelConfig({}, spec.latent_format(), {"shift": 1.5, "multiplier": spec.multiplier})
    user.add_object_patch("model_sampling", model_sampling(config, spec.model_type))
    own = user.get_model_object("model_sampling")
    assert dype(user, spec, time_shift="model").get_model_object("model_sampling") is own
    patched = dype(user, spec, time_shift="base")
    pinned = patched.get_model_object("model_sampling")
    assert type(pinned) is type(user.model.model_sampling)  # the checkpoint's own sampling, not the node's
    assert pinned is not user.model.model_sampling and pinned.shift == pytest.approx(spec.shift, rel=1e-12)
    family = model_sampling(ModelConfig({}, spec.latent_format(), {"shift": spec.shift, "multiplier": spec.multiplier}),
                            spec.model_type)
    sigmas = KSampler(patched, steps=4, device=CPU, scheduler="simple").sigmas
    assert torch.allclose(sigmas, calculate_sigmas(family, "simple", 4), rtol=0, atol=1e-6)
    assert not torch.allclose(sigmas, calculate_sigmas(own, "simple", 4), rtol=0, atol=1e-3)


@pytest.mark.parametrize("axes", [(16, 24, 24), (32, 48, 48)], ids=["Video Lite", "Video Pro"])
def test_kandinsky5_video_models_are_refused(axes):
    """The video models divide positions by ``rope_scale_factor`` (1, 2, 2): not the image model's grid."""
    video = BY_NAME["Kandinsky 5 Image"].build(axes_dims=axes, rope_scale_factor=(1.0, 2.0, 2.0), visual_embed_dim=132)
    with pytest.raises(UnsupportedModel, match=r"cannot patch Kandinsky5 \(comfy.ldm.kandinsky5.model.Kandinsky5\): "
                                               r"Kandinsky 5 video models divide their positions by their own "
                                               r"scale factor.*Supported families: .*Kandinsky 5 Image"):
        DyPE.execute(video)


@pytest.mark.parametrize("option,value,lead,unet", [
    ("time_dim_concat", lambda frame: frame, 0, {}),
    ("reference_latents", lambda frame: [frame], 1, {"in_dim_ref_conv": 16}),
], ids=["Phantom subject frame after", "Fun reference frame before"])
def test_wan_frames_beside_the_video_in_its_call_keep_the_host_table(option, value, lead, unet):
    """Wan's first embedder call can hold a frame of the video's grid before it (a Fun model's
    ``reference_latent``) or after it (Phantom's ``time_dim_concat``): only the video gets DyPE."""
    spec, grid = BY_NAME["Wan"], GRIDS["portrait"]
    frame = torch.randn(spec.latent(*grid)[:, :, :1].shape, generator=torch.Generator().manual_seed(3))
    patched = dype(spec.build(**unet), spec)
    forwards = record(patched, spec)
    run(patched, spec, grid, cfg=1.0, scheduler="karras", extra={option: value(frame)})
    assert all(calls[0][0].shape[1] == (spec.frames + 1) * grid[0] * grid[1] for _, calls, _ in forwards)
    images = check_tables(spec, patched, forwards, grid, lead=lead)
    assert not torch.equal(images[0], images[-1])


@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_sega_and_proportional_attention_change_nothing_at_the_base_and_act_above_it(models, spec):
    """SEGA with proportional attention: bitwise the plain model at the base; above it SEGA's magnitudes and
    proportional attention each change the image. Ernie-Image's attention gets no options from ComfyUI, so
    proportional attention is refused there by name, with what to use instead."""
    base = models[spec.name]
    grid = GRIDS["portrait"]
    if spec.name == "Ernie-Image":
        with pytest.raises(UnsupportedModel, match="cannot reach ERNIE-Image.*attention_scale"):
            dype(base, spec, proportional_attention=True)
        pa = {}
    else:
        pa = {"proportional_attention": True}
    at = (BASE, BASE)
    assert torch.equal(run(dype(base, spec, method="SEGA", **pa), spec, at), run(base, spec, at))
    ntk = run(dype(base, spec, method="NTK (static)"), spec, grid)
    sega = run(dype(base, spec, method="SEGA"), spec, grid)
    assert not torch.equal(sega, ntk)
    if pa:
        assert not torch.equal(run(dype(base, spec, method="SEGA", **pa), spec, grid), sega)


@pytest.mark.parametrize("spec", [s for s in SPECS if s.name == "Wan"], ids=str)
def test_scale_rope_before_dype_moves_the_positions_dype_rebuilds_exactly(models, spec):
    """Core ScaleROPE (``rope_options``) places Wan's image ids at ``shift + i * scale``; DyPE's exact rebuild keeps
    that placement, so its table is ``dype_core``'s for the scaled and shifted ids, not the plain grid's."""
    base = models[spec.name].clone()
    base.set_model_rope_options(1.5, 2.0, 0.5, 3.0, 1.0, 0.0)  # scale_x, shift_x, scale_y, shift_y, scale_t, shift_t
    patched = dype(base, spec)
    forwards = record(patched, spec)
    grid = GRIDS["portrait"]
    run(patched, spec, grid, steps=1, cfg=1.0)
    frames, count = spec.frames or 1, (spec.frames or 1) * grid[0] * grid[1]
    layout = patch_of(patched).layout
    (sigma, ((ids, table), *_), _), = forwards
    image = slice(0, count)
    placed = exact_ids(spec, ids, image, frames, grid)
    view = placed[:, image].view(1, frames, *grid, ids.shape[-1])
    view[..., spec.row_axis] = 3.0 + 0.5 * torch.arange(grid[0], dtype=torch.float32)[:, None]
    view[..., spec.col_axis] = 2.0 + 1.5 * torch.arange(grid[1], dtype=torch.float32)
    assert torch.allclose(ids[:, image].float(), placed[:, image])  # the host's own placement, in its dtype
    frequencies = freqs.dype(layout, DyPESettings(), scales(spec, grid), sigma_to_t(sigma))
    assert torch.equal(take(spec, table, image), host_layout(spec, build_table(placed[:, image], layout, frequencies)))
    plain = dype(models[spec.name], spec)
    assert not torch.equal(run(plain, spec, grid, steps=1, cfg=1.0), run(patched, spec, grid, steps=1, cfg=1.0))
