"""The DyPE node on every family, on the real ComfyUI, with tiny models of the host's own classes.

For each case of ``tiny_families.CASES`` (base resolution set to 8 tokens a side so that both
regimes are cheap):

1. ``DyPE.execute`` detects the expected family and replaces the embedder the host calls;
2. at and below the base (8 x 8 and 4 x 4 tokens) sampling is bitwise the unpatched model's;
3. above it (13 x 15 tokens: odd, so that centring conventions differ; unequal scales per axis;
   under twice the base, so that a token size misread by 2 cannot pass; Z-Image pads the image)
   sampling works and changes the image. Every embedder call of every step is recorded (a
   forward hook on the clone's replacement, forwards marked by an ``APPLY_MODEL`` probe wrapper
   on the clone): at the first step every main-image token off the grid origin gets a table
   other than the host's; on every image token each row and column pair is a rotation by the
   host's own position times one frequency (so DyPE scaled the positions the host uses, with
   the host's origin and axis order); the main image's table differs between the first and the
   last step; every other token (text, references, padding, other segments; Cosmos' time pairs)
   is bitwise the host embedder's own output for the same input;
4. the original MODEL is unchanged: same embedder object, same weights, no object patches or
   wrappers, bitwise the same samples as before;
5. SEGA with proportional attention: at and below the base bitwise the unpatched model's; above it SEGA's
   magnitudes change the samples against its NTK frequencies alone, and proportional attention changes them
   again (a model whose attention never met the override would stop the run); a family whose attention
   ComfyUI gives no options (ERNIE-Image) refuses proportional attention by name. The original MODEL's
   ``transformer_options`` stay without an attention override.

Refused models must raise ``UnsupportedModel`` naming their class and listing every family.
A case whose model class this ComfyUI lacks is skipped. Usage: ``check_families.py [case ...]``
(all cases by default). Prints ``PASS``/``SKIP``/``FAIL`` per case with the reason, then one
JSON object ``{"comfyui": version, "results": {case: [status, reason]}}``.
"""

from __future__ import annotations

import importlib
import inspect
import json
import sys
import time
import traceback
from dataclasses import replace

import host

host.load_pack()

import comfy.model_management  # noqa: E402
import comfy.patcher_extension  # noqa: E402
import comfy.sample  # noqa: E402
import comfy.supported_models  # noqa: E402
import comfy.utils  # noqa: E402
import torch  # noqa: E402
from comfyui_dype.nodes.dype_node import DyPE  # noqa: E402
from comfyui_dype.nodes.families import FAMILIES, UnsupportedModel  # noqa: E402
from comfyui_dype.nodes.families.refusals import REFUSED  # noqa: E402
from comfyui_dype.nodes.patch import REPLACEMENTS, patch_of  # noqa: E402
from tiny_families import CASES, FAMILY_NAMES, Case  # noqa: E402

BASE, BELOW, ABOVE = (8, 8), (4, 4), (13, 15)
STEPS = 4
APPLY_MODEL = comfy.patcher_extension.WrappersMP.APPLY_MODEL
REPLACEMENTS = tuple(REPLACEMENTS.values())


class CheckFailed(AssertionError):
    """A check failed; the message says which stage and why."""


def require(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def px(case: Case, grid: tuple[int, int]) -> str:
    return f"{grid[0] * case.px_per_token}x{grid[1] * case.px_per_token} px"


def sample(model, case: Case, grid: tuple[int, int], *, cfg: float = 1.0, steps: int = STEPS) -> torch.Tensor:
    latent = case.latent(grid)
    noise = comfy.sample.prepare_noise(latent, 42)
    return comfy.sample.sample(model, noise, steps, cfg, "euler", "simple", case.conditioning(True, latent),
                               case.conditioning(False, latent), latent, disable_pbar=True, seed=42)


#: The DyPE path stages 1-4 check (Dy-YaRN, trained attention); stage 5 sets SEGA and proportional attention.
DYPE_PATH = {"method": "Dy-YaRN", "proportional_attention": False}


def dype(model, case: Case, **inputs):
    """The DyPE node's output, trained size overridden to ``BASE`` tokens, on ``DYPE_PATH`` unless told otherwise."""
    return DyPE.execute(model, base_resolution=BASE[0] * case.px_per_token, **(DYPE_PATH | inputs)).result[0]


def check_sega(case: Case, base) -> str:
    """(5): SEGA and proportional attention, no-op at and below the base, acting above it."""
    pa = patch_of(dype(base, case)).family.attention_override
    if not pa:
        try:
            dype(base, case, proportional_attention=True)
        except UnsupportedModel as error:
            require("proportional attention cannot reach" in str(error), f"(5) unclear refusal: {error}")
        else:
            raise CheckFailed("(5) proportional attention was accepted on a family whose attention it cannot reach")
    both = {"method": "SEGA", "proportional_attention": pa}
    for grid in (BASE, BELOW):
        with_sega, without = (sample(model, case, grid, cfg=2.0, steps=2) for model in (dype(base, case, **both), base))
        require(torch.equal(with_sega, without), f"(5) SEGA{' + PA' if pa else ''} at {px(case, grid)} differs from "
                "the unpatched model")
    ntk = sample(dype(base, case, method="NTK (static)"), case, ABOVE, cfg=2.0)
    sega = sample(dype(base, case, method="SEGA"), case, ABOVE, cfg=2.0)
    require(bool(torch.isfinite(sega).all()) and not torch.equal(sega, ntk),
            "(5) SEGA's magnitudes left the samples of its NTK frequencies unchanged")
    if pa:
        scaled = sample(dype(base, case, **both), case, ABOVE, cfg=2.0)
        require(bool(torch.isfinite(scaled).all()) and not torch.equal(scaled, sega),
                "(5) proportional attention left SEGA's samples unchanged")
    require("optimized_attention_override" not in base.model_options.get("transformer_options", {}),
            "(5) an attention override was left on the original MODEL")
    return "SEGA" + (" + proportional attention" if pa else " (proportional attention refused by name)")


class Recording:
    """Every call of the clone's replacement embedder (inputs and table), grouped by model call."""

    def __init__(self, patched, path: str) -> None:
        self.forwards: list[list[tuple[tuple, dict, torch.Tensor]]] = []
        replacement = patched.get_model_object(path)
        require(isinstance(replacement, REPLACEMENTS),
                f"(1) the embedder the host calls, {path}, is {type(replacement).__name__}, not DyPE's")
        if isinstance(replacement, torch.nn.Module):
            replacement.register_forward_hook(self.record, with_kwargs=True)
        else:  # a method of the model: record through a patch that calls DyPE's replacement
            patched.add_object_patch(path, lambda *args, **kwargs: self.record(
                replacement, args, kwargs, replacement(*args, **kwargs)))
        patched.add_wrapper_with_key(APPLY_MODEL, "check_families", self.forward)

    def forward(self, executor, *args, **kwargs):
        self.forwards.append([])
        return executor(*args, **kwargs)

    def record(self, module, args, kwargs, out) -> torch.Tensor:
        require(bool(self.forwards), "(3) the embedder was called outside a model call")
        inputs = tuple(a.detach().clone() if torch.is_tensor(a) else a for a in args)
        self.forwards[-1].append((inputs, dict(kwargs), out.detach().clone()))
        return out


def equal_rows(table: torch.Tensor, host_table: torch.Tensor, dim: int) -> torch.Tensor:
    """Per token along ``dim``: whether every entry of the two tables is equal."""
    same = (table == host_table).movedim(dim, 0)
    return same.reshape(same.shape[0], -1).all(dim=1)


def positions(inputs: tuple, rows: slice) -> torch.Tensor:
    """``[tokens, axes]`` positions of the main image's tokens: the host's ids, or the corner-origin
    ``(t, r, c)`` grid for an embedder that takes the patch-embedded ``[B, T, H, W, D]`` tensor."""
    given = inputs[0]
    if isinstance(given, list):  # JoyImage: the component grids, the main image first
        grid = torch.meshgrid(*(torch.arange(n) for n in given[0]), indexing="ij")
        return torch.stack(grid, dim=-1).reshape(-1, 3)[rows].double()
    if given.ndim == 5:
        grid = torch.meshgrid(*(torch.arange(n) for n in given.shape[1:4]), indexing="ij")
        return torch.stack(grid, dim=-1).reshape(-1, 3)[rows].double()
    return given[0, rows].double()


def pair_angles(case: Case, image: torch.Tensor) -> torch.Tensor:
    """``[tokens, angles]``: the rotation angle of every pair of the main image's table rows
    (``image``, tokens on ``case.token_dim``); scale-free (YaRN scales cos and sin alike)."""
    image = image.movedim(case.token_dim, 0)
    rows = image.reshape(image.shape[0], -1, *image.shape[-3:])[:, 0].double()
    if case.pairs == "split_half":
        first = torch.atan2(-rows[:, 0::2, 0, 1], rows[:, 0::2, 0, 0])
        second = torch.atan2(rows[:, 0::2, 1, 0], rows[:, 0::2, 1, 1])
        return torch.cat((first, second), dim=1)
    return torch.atan2(rows[..., 1, 0], rows[..., 0, 0])


def rotation_error(case: Case, image: torch.Tensor, position: torch.Tensor) -> str | None:
    """Why the row and column pairs of ``image`` are not rotations by ``position`` times one frequency
    per pair (``None`` when they are): the frequency is read at position 1, every token must agree."""
    angles = pair_angles(case, image)
    axis_of = torch.repeat_interleave(torch.arange(len(case.axes)), torch.tensor(case.axes) // 2)
    if angles.shape[1] != len(axis_of):
        return f"{angles.shape[1]} angles per token, axes {case.axes} have {len(axis_of)}"
    for axis in case.spatial:
        at = position[:, axis]
        unit = (at == 1).nonzero().flatten()
        if not len(unit):
            return f"no image token at position 1 on axis {axis}"
        pairs = axis_of == axis
        expected = at[:, None] * angles[unit[0], pairs]
        error = torch.remainder(angles[:, pairs] - expected + torch.pi, 2 * torch.pi) - torch.pi
        if error.abs().max() > 1e-4:
            token = int(error.abs().amax(dim=1).argmax())
            return (f"axis {axis}: the token at position {position[token].tolist()} is off by up to "
                    f"{float(error.abs().max()):.3g} rad")
    return None


def check_call(case: Case, step: int, index: int, call: tuple, original) -> tuple:
    """Embedder call ``index`` of step ``step`` against the host's table: ``(the main image's rows,
    how many of them differ from the host's)``, ``(None, None)`` for a call without the main image."""
    inputs, kwargs, table = call
    where = f"step {step} call {index}"
    host_table = original(*inputs, **kwargs)
    # Shape, dtype and strides decide which comfy-kitchen kernel (CUDA, Triton, eager) takes the table and how it
    # reads it: equal to the host's, DyPE's table takes the host's own GPU path.
    require(table.shape == host_table.shape and table.dtype == host_table.dtype
            and table.stride() == host_table.stride(),
            f"(3) {where}: table {tuple(table.shape)} {table.dtype} strides {table.stride()}, host "
            f"{tuple(host_table.shape)} {host_table.dtype} strides {host_table.stride()}")
    length = table.shape[case.token_dim]
    rows = case.image_rows(index, length, ABOVE)
    same = equal_rows(table, host_table, case.token_dim)
    outside = torch.ones(length, dtype=torch.bool)
    if rows is not None:
        outside[rows] = False
    differ = (~same & outside).nonzero().flatten().tolist()
    require(not differ, f"(3) {where}: {len(differ)} tokens {differ[:8]}... outside the main image "
            f"({'none in this call' if rows is None else f'tokens {rows.start}..{rows.stop - 1}'}) differ from the "
            "host's table")
    if rows is None:
        return None, None
    if case.kept_pairs is not None:
        require(torch.equal(table[..., case.kept_pairs, :, :], host_table[..., case.kept_pairs, :, :]),
                f"(3) {where}: pairs {case.kept_pairs.start}..{case.kept_pairs.stop - 1} differ from the host's")
    image, host_image = (t.narrow(case.token_dim, rows.start, rows.stop - rows.start) for t in (table, host_table))
    position = positions(inputs, rows)
    test_error = rotation_error(case, host_image, position)
    require(test_error is None, f"(3) {where}: the case's table description does not fit the host's own table: "
            f"{test_error}")
    error = rotation_error(case, image, position)
    require(error is None, f"(3) {where}: DyPE's image rows are not rotations by the host's positions: {error}")
    return image, int((~same[rows]).sum())


def check_tables(case: Case, recording: Recording, original) -> str:
    """Stage 3 on the recorded calls; returns a summary."""
    require(len(recording.forwards) == STEPS, f"(3) {len(recording.forwards)} model calls in {STEPS} steps at cfg 1")
    image_tables, changed = [], []
    for step, calls in enumerate(recording.forwards):
        require(len(calls) == case.calls, f"(3) step {step}: {len(calls)} embedder calls, expected {case.calls}")
        for index, call in enumerate(calls):
            image, differ = check_call(case, step, index, call, original)
            if image is not None:
                image_tables.append(image)
                changed.append(differ)
    require(len(image_tables) == STEPS, f"(3) {len(image_tables)} main-image calls in {STEPS} steps")
    count = case.tokens(ABOVE)
    require(changed[0] >= count - (case.frames or 1), f"(3) at the first step only {changed[0]} of {count} "
            "main-image tokens got a table other than the host's (one per frame sits at the grid origin)")
    require(not torch.equal(image_tables[0], image_tables[-1]),
            "(3) the main image's table is the same at the first and the last step")
    return f"{STEPS} steps x {case.calls} embedder call(s), {changed[0]}/{count} image tokens rescaled at step 0"


def check_attn1_pe(case: Case, base) -> str:
    """Stage 3b: an ``attn1_patch`` that the host hands ``pe=`` (FLUX, Qwen, Krea 2, Cosmos since 0.33) sees
    DyPE's table: in every block of every step, the values the replacement returned in that model call."""
    patched = dype(base, case)
    recording = Recording(patched, case.embedder)
    seen: list[tuple[int, torch.Tensor]] = []

    def probe(q, k, v, pe=None, **kwargs):
        seen.append((len(recording.forwards), None if pe is None else pe.detach().clone()))
        return {}

    patched.set_model_attn1_patch(probe)
    sample(patched, case, ABOVE, steps=2)
    if not seen or all(pe is None for _, pe in seen):
        return f"ComfyUI {host.comfyui_version()} hands this model's attn1_patch no pe"
    for forward, pe in seen:
        table = recording.forwards[forward - 1][case.image_call][2]
        require(torch.equal(pe.flatten().sort().values, table.flatten().sort().values),
                f"(3b) model call {forward}: the attn1_patch got a pe {tuple(pe.shape)} other than DyPE's table "
                f"{tuple(table.shape)}")
    return f"attn1_patch saw DyPE's table in {len(seen)} block calls"


def check_double_block(case: Case, base, out: torch.Tensor) -> str:
    """Stage 3c: a ``double_block`` patch (Wan since 0.33, given ``img_offset``) runs beside DyPE; an identity
    patch leaves DyPE's samples bitwise as they were."""
    patched = dype(base, case)
    calls = []

    def identity(args):
        calls.append(args.get("img_offset"))
        return {"img": args["img"], "txt": args.get("txt")}

    patched.set_model_patch(identity, "double_block")
    with_patch = sample(patched, case, ABOVE)
    if not calls:
        return f"ComfyUI {host.comfyui_version()} runs no double_block patches for this model"
    require(torch.equal(with_patch, out), "(3c) an identity double_block patch changed DyPE's samples")
    return f"double_block patch ran {len(calls)} times (img_offset {calls[0]}), samples unchanged"


def check_model_override(case: Case, patched, out: torch.Tensor) -> str:
    """Stage 3d: a multi-GPU style clone of the DyPE model onto another torch model of the same weights
    (``clone(model_override=...)``, as ``deepclone_multigpu`` makes one) samples bitwise as the DyPE model does."""
    if "model_override" not in inspect.signature(patched.clone).parameters:
        return f"ComfyUI {host.comfyui_version()} has no clone(model_override=...)"
    twin = case.model_patcher().model
    device_clone = patched.clone(model_override=(twin, ({}, {}, {}, set())))
    require(device_clone.model is twin and device_clone.model is not patched.model, "(3d) the override was not used")
    require(torch.equal(sample(device_clone, case, ABOVE), out),
            "(3d) the clone on another torch model samples differently from the DyPE model")
    comfy.model_management.unload_all_models()
    require(not isinstance(comfy.utils.get_attr(twin, case.embedder), REPLACEMENTS),
            "(3d) the other torch model still holds DyPE's embedder after sampling and unloading")
    return "a model_override clone samples bitwise alike"


#: Families whose host places the main image's ids by ``transformer_options["rope_options"]`` and whose ids DyPE
#: rebuilds (``comfy/ldm/wan/model.py`` ``rope_encode``, ``comfy/ldm/kandinsky5/model.py``; FLUX, Lumina and Ernie
#: also follow them, and DyPE reads their ids as the host made them).
SCALE_ROPE = {"Wan", "Wan 2.1 1.3B", "Wan 2.2 5B", "Kandinsky 5 Image"}


def check_scale_rope(case: Case, base) -> str:
    """Stage 3e, families whose host places image ids by ``rope_options`` (Wan, Kandinsky 5 Image): with core
    ``ScaleROPE`` before DyPE (columns ``1 + 2 i``, rows ``1 + i``), DyPE's image rows are rotations by the host's
    placed positions, and the samples differ from DyPE's without it."""
    scaled = base.clone()
    scaled.set_model_rope_options(2.0, 1.0, 1.0, 1.0, 1.0, 0.0)  # scale_x, shift_x, scale_y, shift_y, scale_t, shift_t
    patched = dype(scaled, case)
    recording = Recording(patched, case.embedder)
    out = sample(patched, case, ABOVE)
    for step, calls in enumerate(recording.forwards):
        inputs, _, table = calls[case.image_call]
        rows = case.image_rows(case.image_call, table.shape[case.token_dim], ABOVE)
        position = positions(inputs, rows)
        cols = position[:, case.spatial[1]]
        require(float(cols.min()) == 1.0 and float(cols.max()) == 1.0 + 2.0 * (ABOVE[1] - 1),
                f"(3e) step {step}: the host did not place the columns by ScaleROPE ({cols.unique().tolist()[:6]})")
        image = table.narrow(case.token_dim, rows.start, rows.stop - rows.start)
        error = rotation_error(case, image, position)
        require(error is None, f"(3e) step {step}: DyPE's image rows are not rotations by ScaleROPE's positions: "
                f"{error}")
    require(not torch.equal(out, sample(dype(base, case), case, ABOVE)),
            "(3e) DyPE with ScaleROPE samples exactly as DyPE without it: the ScaleROPE was dropped")
    return "ScaleROPE's placement kept"


def weights(model) -> dict:
    return {key: value.detach().clone() for key, value in model.model.state_dict().items()}


def wrapper_counts(model) -> dict:
    return {kind: {key: len(items) for key, items in keyed.items()} for kind, keyed in model.wrappers.items()}


def check_family(case: Case) -> str:
    base = case.model_patcher()
    original = base.get_model_object(case.embedder)
    state, wrappers = weights(base), wrapper_counts(base)
    before = sample(base, case, ABOVE)
    require(bool(torch.isfinite(before).all()), "the unpatched tiny model's samples are not finite")

    patched = dype(base, case)  # (1)
    family = patch_of(patched).family.name
    require(family == case.family, f"(1) detected {family!r}, expected {case.family!r}")

    for grid in (BASE, BELOW):  # (2): CFG with prompts of different lengths, so cond and uncond run apart
        with_dype, without = (sample(model, case, grid, cfg=2.0, steps=2) for model in (dype(base, case), base))
        require(torch.equal(with_dype, without), f"(2) at {px(case, grid)} (the base {px(case, BASE)}) the patched "
                "model's samples differ from the unpatched model's")

    recording = Recording(patched, case.embedder)  # (3)
    out = sample(patched, case, ABOVE)
    require(bool(torch.isfinite(out).all()), f"(3) samples at {px(case, ABOVE)} are not finite")
    summary = check_tables(case, recording, original)
    require(not torch.equal(out, before), f"(3) DyPE left the samples at {px(case, ABOVE)} unchanged")
    if case.attn1_pe:
        summary += "; " + check_attn1_pe(case, base)
    if case.double_block:
        summary += "; " + check_double_block(case, base, out)
    if case.model_override:
        summary += "; " + check_model_override(case, patched, out)
    if case.family in SCALE_ROPE:
        summary += "; " + check_scale_rope(case, base)
    summary += "; " + check_sega(case, base)

    require(torch.equal(sample(base, case, ABOVE), before), "(4) the original MODEL samples differently afterwards")
    comfy.model_management.unload_all_models()
    # ``==``: a method-made table (JoyImage) is a bound method, equal to the original when it is the same one.
    require(base.get_model_object(case.embedder) == original, "(4) the original MODEL's embedder was replaced")
    require(comfy.utils.get_attr(base.model, case.embedder) == original,
            "(4) the shared model still holds a replaced embedder after unloading")
    require(not base.object_patches, f"(4) object patches left on the original: {list(base.object_patches)}")
    require(wrapper_counts(base) == wrappers, "(4) wrappers were added to the original MODEL")
    after = weights(base)
    require(after.keys() == state.keys() and all(torch.equal(after[key], state[key]) for key in state),
            "(4) the original model's weights changed")
    return f"detected {family}; {summary}"


def check_clip(case: Case) -> str:
    """The time axis at the spatial base (so that only time can scale): at the family's trained clip length
    the samples are bitwise the unpatched model's; on a longer clip, in every main-video embedder call only
    the time pairs differ from the host's table (RIFLEx: one pair), every other token and pair is the host's,
    and the samples are finite and changed; with Dy-RIFLEx the table follows the sigma."""
    trained, longer = case.clip
    base = case.model_patcher()
    original = base.get_model_object(case.embedder)
    short = replace(case, frames=trained)
    require(torch.equal(sample(dype(base, short), short, BASE, steps=2), sample(base, short, BASE, steps=2)),
            f"(t1) at the trained {trained} latent frames DyPE changed the samples")
    long = replace(case, frames=longer)
    patched = dype(base, long)
    recording = Recording(patched, case.embedder)
    out = sample(patched, long, BASE, steps=2)
    require(bool(torch.isfinite(out).all()), "(t2) the longer clip's samples are not finite")
    require(not torch.equal(out, sample(base, long, BASE, steps=2)), "(t2) DyPE left the longer clip unchanged")
    time_pairs = torch.zeros(sum(case.axes) // 2, dtype=torch.bool)
    time_pairs[: case.axes[0] // 2] = True  # the time axis comes first (t, r, c)
    changed = set()
    for step, calls in enumerate(recording.forwards):
        inputs, kwargs, table = calls[case.image_call]
        host_table = original(*inputs, **kwargs)
        rows = long.image_rows(case.image_call, table.shape[case.token_dim], BASE)
        image, host_image = (t.narrow(case.token_dim, rows.start, rows.stop - rows.start) for t in (table, host_table))
        before = (t.narrow(case.token_dim, 0, rows.start) for t in (table, host_table))
        require(torch.equal(*before), f"(t2) step {step}: tokens before the video differ from the host's")
        differs = ~(image == host_image).reshape(*image.shape[:-2], -1).all(-1)
        pairs = differs.reshape(-1, differs.shape[-1]).any(0)
        require(not bool(pairs[~time_pairs].any()), f"(t2) step {step}: row or column pairs changed")
        changed |= set(pairs.nonzero().flatten().tolist())
    require(len(changed) == 1, f"(t2) RIFLEx should change exactly one time pair, changed {sorted(changed)}")
    pair = changed.pop()
    dynamic = dype(base, case, time_axis="Dy-RIFLEx")
    recording = Recording(dynamic, case.embedder)
    sample(dynamic, long, BASE, steps=4)
    first, last = (recording.forwards[i][case.image_call][2] for i in (0, -1))
    require(not torch.equal(first, last), "(t3) Dy-RIFLEx's time pair does not follow the sigma")
    return (f"{trained} frames bitwise; {longer} frames: time pair {pair} lowered (RIFLEx), following the sigma "
            "(Dy-RIFLEx); rows and columns the host's")


def check_refusal(case: Case) -> str:
    model = case.model_patcher()
    try:
        dype(model, case)
    except UnsupportedModel as error:
        message = str(error)
    else:
        raise CheckFailed(f"(5) DyPE accepted a {case.refused_class} model")
    require(case.refused_class in message, f"(5) the refusal does not name {case.refused_class}: {message}")
    missing = [name for name in FAMILY_NAMES if name not in message]
    require(not missing, f"(5) the refusal does not list the supported families {missing}: {message}")
    require(not model.object_patches and not any(wrapper_counts(model).values()), "(5) the refused MODEL was patched")
    return f"UnsupportedModel: {message.split(' Supported families')[0]}"


def crash(error: Exception) -> str:
    """The error and the innermost frame of the repository it came through."""
    repo = str(host.REPO) + "/"
    frames = [frame for frame in traceback.extract_tb(error.__traceback__) if frame.filename.startswith(repo)]
    where = f" (at {frames[-1].filename[len(repo):]}:{frames[-1].lineno} in {frames[-1].name})" if frames else ""
    return f"{type(error).__name__}: {error}{where}"


def run(case: Case) -> tuple[str, str]:
    if getattr(comfy.supported_models, case.config, None) is None:
        return "SKIP", f"ComfyUI {host.comfyui_version()} has no comfy.supported_models.{case.config}"
    start = time.perf_counter()
    try:
        if case.family is None:
            detail = check_refusal(case)
        else:
            detail = check_clip(case) if case.clip else check_family(case)
    except CheckFailed as failure:
        return "FAIL", str(failure)
    except Exception as error:  # a crash fails this case; the others still run
        return "FAIL", crash(error)
    finally:
        comfy.model_management.unload_all_models()
    return "PASS", f"{detail} ({time.perf_counter() - start:.1f} s)"


def class_paths() -> dict:
    """Every class the pack names (families and refusals) against this ComfyUI: ``present`` and ``absent``
    paths (a module or class this version lacks, or a misspelt path)."""
    named = {path for family in FAMILIES for path in family.classes} | {p for p in REFUSED if "." in p}
    found = {"present": [], "absent": []}
    for path in sorted(named):
        module, _, name = path.rpartition(".")
        try:
            exists = isinstance(getattr(importlib.import_module(module), name, None), type)
        except ModuleNotFoundError:
            exists = False
        found["present" if exists else "absent"].append(path)
    return found


def main(names: list[str]) -> None:
    unknown = set(names) - {case.name for case in CASES}
    if unknown:
        raise SystemExit(f"unknown cases: {sorted(unknown)}")
    results = {}
    for case in CASES:
        if names and case.name not in names:
            continue
        status, reason = run(case)
        results[case.name] = [status, reason]
        print(f"{status}  {case.name}: {reason}", flush=True)
    paths = class_paths()
    print(f"class paths: {len(paths['present'])} present, absent: {paths['absent']}", flush=True)
    print(json.dumps({"comfyui": host.comfyui_version(), "results": results, "class_paths": paths}))


if __name__ == "__main__":
    main(sys.argv[1:])
