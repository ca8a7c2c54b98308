"""The DyPE node on the stand-in host: Qwen-Image, Qwen-Image 2.1, Mage-Flow, Lumina 2 / NewBie, Z-Image,
HiDream-I1, Krea 2, Lens.

Each case runs the real node path (``DyPE`` through ``run_node``, ``comfy.sample.sample``) on a tiny stand-in
model (``tests/standin/comfy/ldm/<family>``, built by ``tests/families_a.py``) that forms ids and calls its
embedder as the host does. Expectations come from the family facts (where the image sits in the ids, its
origin, native size, own shift), restated below, and from ``dype_core`` for the image tokens' table.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import pytest
import torch
from comfyui_dype.dype_core import DyPESettings, RotaryLayout, build_table
from comfyui_dype.dype_core import frequencies as freqs
from comfyui_dype.nodes.embedder import DyPEEmbedder
from comfyui_dype.nodes.families.family import UnsupportedInput
from comfyui_dype.nodes.patch import patch_of
from dype_helpers import dype
from families_a import build, conditioning, latent
from family_helpers import Forward, grid_ids, record_forwards, sample, spliced

#: Base resolution the tests give the node: 8 tokens of 16 px a side (few enough that every family's table
#: changes between the two steps' sigmas), so 256 px is twice the base.
BASE = 128
TOKEN_PX = 16
#: How much larger than the image a ``larger`` reference is, px per side.
LARGER = 64


def corner(rows: int, cols: int) -> tuple[int, int]:
    return 0, 0


def centred(rows: int, cols: int) -> tuple[int, int]:
    """Qwen-Image: ``r - rows // 2``."""
    return -(rows // 2), -(cols // 2)


def centred_up(rows: int, cols: int) -> tuple[int, int]:
    """Lens, Mage-Flow, Qwen-Image 2.1: ``r - ceil(rows / 2)``."""
    return -math.ceil(rows / 2), -math.ceil(cols / 2)


@dataclass(frozen=True)
class Facts:
    """What /work/family-facts says about a family's stand-in kind.

    ``where``: the main image is after the text in one ids tensor (``after_text``), first in it (``first``),
    last in it (``last``), or the first tokens of a fixed embedder call of the forward (``segment``:
    Lumina/Z-Image, call ``k * refs + k - 1`` with ``k`` 3 on a SigLIP-capable checkpoint with references,
    else 2). ``shift`` is the family's own shift: ``mu`` for FLUX-shifted sampling, ``s`` for discrete flow
    (``discrete``).
    """

    family: str
    native: int
    embedder: str
    where: str
    origin: Callable[[int, int], tuple[int, int]]
    shift: float
    discrete: bool
    head_axis: int = 1
    siglip: bool = False


QWEN = Facts("Qwen-Image", 1328, "diffusion_model.pe_embedder", "after_text", centred, 1.15, False)
LUMINA = Facts("Lumina 2", 1024, "diffusion_model.rope_embedder", "segment", corner, 6.0, True)
ZIMAGE = Facts("Z-Image", 1024, "diffusion_model.rope_embedder", "segment", corner, 3.0, True)
FACTS = {
    "qwen21": Facts("Qwen-Image 2.1", 1024, "diffusion_model.pe_embedder", "last", centred_up, 0.69, False),
    "mage_flow": Facts("Mage-Flow", 2048, "diffusion_model.pe_embedder", "after_text", centred_up, 6.0, True),
    "qwen": QWEN, "qwen_2511": QWEN, "qwen_layered": QWEN, "lumina2": LUMINA, "newbie": LUMINA,
    "zimage": ZIMAGE, "zimage_omni": replace(ZIMAGE, siglip=True),
    "zimage_pixel": replace(ZIMAGE, family="Z-Image pixel space"),
    # ComfyUI's HiDream config sets its sampling settings twice, the second time empty: shift 1.
    "hidream": Facts("HiDream-I1", 1024, "diffusion_model.pe_embedder", "first", corner, 1.0, True, head_axis=2),
    "krea2": Facts("Krea 2", 1024, "diffusion_model.pe_embedder", "after_text", corner, 1.15, False),
    "lens": Facts("Lens", 1440, "diffusion_model.pos_embed", "first", centred_up, 1.829, False),
}
#: One stand-in kind per family, for the per-family checks.
FAMILY_KINDS = ("qwen", "qwen21", "mage_flow", "lumina2", "zimage", "zimage_pixel", "hidream", "krea2", "lens")

@dataclass(frozen=True)
class Case:
    """A sampling run: stand-in ``kind``, image ``size`` (height, width) px above the base, prompt lengths
    (equal lengths batch cond and uncond in one forward), references (``same`` size as the image or
    ``larger``) for both prompts or the positive only, their placement ``method`` or text ``slots`` (Qwen-Image
    2.1), frames (Layered), and Omni's per-reference captions plus a leftover one (``ref_texts``) and SigLIP
    features."""

    kind: str
    size: tuple[int, int]
    text: int = 12
    negative: int = 5
    refs: tuple[str, ...] = ()
    negative_refs: bool = True
    method: str | None = None
    frames: int = 1
    ref_texts: bool = False
    siglip: bool = False
    slots: tuple[int, ...] = ()

    @property
    def facts(self) -> Facts:
        return FACTS[self.kind]

    @property
    def grid(self) -> tuple[int, int]:
        """The main image's ``(rows, cols)`` tokens at the case's size."""
        return math.ceil(self.size[0] / TOKEN_PX), math.ceil(self.size[1] / TOKEN_PX)

    def run(self, model, size: tuple[int, int] | None = None, steps: int = 2) -> torch.Tensor:
        """Sample ``model`` at ``size`` (default: the case's), references sized from it."""
        height, width = size or self.size
        refs = tuple((height, width) if r == "same" else (height + LARGER, width + LARGER) for r in self.refs)
        options = dict(refs=refs, method=self.method, ref_texts=self.ref_texts, siglip=self.siglip, slots=self.slots)
        positive = conditioning(self.kind, self.text, **options)
        negative = conditioning(self.kind, self.negative, seed=2, **(options if self.negative_refs else {}))
        return sample(model, latent(self.kind, height, width, self.frames), positive, negative, steps=steps)


CASES = {
    "qwen21-long-prompt-odd": Case("qwen21", (208, 144), text=200),
    "qwen21-edit-interleaved": Case("qwen21", (192, 256), negative=12, refs=("same", "larger"), slots=(3, 7)),
    "qwen21-edit-positive-only": Case("qwen21", (160, 192), refs=("larger",), negative_refs=False),
    "mage-flow-edit-portrait": Case("mage_flow", (256, 160), negative=12, refs=("same",)),
    "mage-flow-odd-batched": Case("mage_flow", (208, 144), text=9, negative=9),
    "qwen-long-prompt": Case("qwen", (192, 256), text=200),
    "qwen-edit-index-portrait": Case("qwen", (256, 160), negative=12, refs=("same", "larger")),
    "qwen-edit-offset": Case("qwen", (160, 160), negative=7, refs=("larger", "same"), method="offset"),
    "qwen-edit-positive-only": Case("qwen", (160, 192), refs=("larger",), negative_refs=False),
    "qwen-layered-odd": Case("qwen_layered", (144, 176), refs=("same",), frames=3),
    "qwen-edit-2511-odd": Case("qwen_2511", (208, 144), negative=12, refs=("same",)),
    "lumina2-long-prompt": Case("lumina2", (192, 256), text=200),
    "newbie-portrait-batched": Case("newbie", (256, 160), text=20, negative=20),
    "zimage-t2i-padded": Case("zimage", (176, 208), text=7, negative=7),
    "zimage-omni-siglip-captions": Case("zimage_omni", (208, 176), refs=("same",), negative_refs=False,
                                        ref_texts=True, siglip=True),
    "zimage-omni-two-refs": Case("zimage_omni", (160, 160), negative=12, refs=("same", "same")),
    "zimage-omni-without-siglip": Case("zimage", (160, 192), refs=("same",)),
    "zimage-pixel": Case("zimage_pixel", (192, 256)),
    "hidream": Case("hidream", (192, 256), text=30),
    "hidream-portrait-batched": Case("hidream", (272, 160), negative=12),
    "krea2-long-prompt": Case("krea2", (192, 256), text=200),
    "krea2-portrait-batched": Case("krea2", (240, 144), negative=12),
    "lens": Case("lens", (192, 256)),
    "lens-portrait-odd-batched": Case("lens", (208, 144), negative=12),
}


def cases() -> list:
    """``CASES`` as parameters."""
    return [pytest.param(case, id=name) for name, case in CASES.items()]


@pytest.fixture(scope="module")
def models():
    built = {}

    def get(kind: str):
        if kind not in built:
            built[kind] = build(kind)
        return built[kind]

    return get


@pytest.mark.parametrize("case", cases())
def test_detection_picks_the_family_and_its_layout(models, case):
    """With the auto base: the family by class and embedder, the checkpoint's axes and theta, 16 px per token
    and the base grid of the family's native size."""
    facts = case.facts
    model = models(case.kind)
    patched = dype(model, base_resolution=0)
    patch = patch_of(patched)
    host = model.get_model_object(facts.embedder)
    assert patch.family.name == facts.family
    assert patch.layout.axes_dim == tuple(host.axes_dim) and patch.layout.theta == float(host.theta)
    assert patch.layout.px_per_token == TOKEN_PX
    assert patch.layout.base_grid == (facts.native / TOKEN_PX,) * 2
    assert isinstance(patched.get_model_object(facts.embedder), DyPEEmbedder)


@pytest.mark.parametrize("case", cases())
def test_bitwise_no_op_at_and_below_the_base_size(models, case):
    """At and below the base (square and not), with the case's prompts and references (``larger`` ones above
    the base), sampling is bitwise the unpatched model's; so it is with the auto base below the native size."""
    model = models(case.kind)
    for size in ((BASE, BASE), (BASE // 2, 3 * BASE // 4)):
        assert torch.equal(case.run(dype(model, base_resolution=BASE), size, steps=1), case.run(model, size, steps=1))
    above_test_base = (BASE, 2 * BASE)  # below every family's native size, so the auto base leaves it alone
    assert torch.equal(case.run(dype(model, base_resolution=0), above_test_base, steps=1),
                       case.run(model, above_test_base, steps=1))


def image_tokens(case: Case, forward: Forward, call: int, length: int) -> slice | None:
    """Where the facts put the main image in embedder call ``call`` (of ``length`` tokens) of ``forward``
    (``None``: not there)."""
    rows, cols = case.grid
    count = case.frames * rows * cols
    if case.facts.where == "segment":
        per = 3 if forward.refs and case.facts.siglip else 2
        return slice(0, count) if call == per * forward.refs + per - 1 else None
    assert call == 0, "one embedder call per forward"
    start = {"after_text": forward.text, "first": 0, "last": length - count}[case.facts.where]
    return slice(start, start + count)


@pytest.mark.parametrize("case", cases())
def test_above_the_base_image_tokens_get_dype_and_every_other_token_the_host_table(models, case):
    """Every embedder call of every forward: the main image's tokens get exactly ``dype_core``'s table for
    the exact grid ids at the step's sigma and the scale of the image grid alone; text, references,
    padding, captions and SigLIP tokens get exactly the host embedder's table."""
    facts = case.facts
    model = models(case.kind)
    patched = dype(model, base_resolution=BASE)
    forwards = record_forwards(patched, facts.embedder)
    out = case.run(patched)
    assert len(forwards) == 2 * (1 if case.text == case.negative and case.negative_refs else 2)
    host = patched.get_model_object(facts.embedder).original
    rows, cols = case.grid
    layout = RotaryLayout(name=facts.family, axes_dim=tuple(host.axes_dim), theta=float(host.theta), row_axis=1,
                          col_axis=2, base_grid=(BASE / TOKEN_PX,) * 2, latent_downscale=1, patch=TOKEN_PX)
    scales = (1.0, max(1.0, rows * TOKEN_PX / BASE), max(1.0, cols * TOKEN_PX / BASE))
    token_axis = 3 - facts.head_axis
    images = []
    for forward in forwards:
        seen = 0
        for call, (ids, table) in enumerate(forward.calls):
            where = image_tokens(case, forward, call, ids.shape[1])
            if where is None:
                assert torch.equal(table, host(ids))
                continue
            seen += 1
            exact = grid_ids(case.frames, rows, cols, facts.origin(rows, cols), batch=ids.shape[0])
            assert torch.equal(ids[:, where, 1:], exact[..., 1:])  # float32 stand-ins: the host's ids are exact
            exact[..., 0] = ids[:, where, 0]  # frame / reference index / caption offset: the host's own
            image = build_table(exact, layout, freqs.dype(layout, DyPESettings(), scales, forward.sigma),
                                head_axis=facts.head_axis)
            assert torch.equal(table, spliced(host(ids), image, token_axis, where.start))
            images.append(image)
        assert seen == 1
    assert not torch.equal(images[0], images[len(images) // 2])  # same ids, the next step: the table follows sigma
    assert not torch.equal(out, case.run(model))


def test_qwen_bf16_image_positions_are_rebuilt_exactly_in_float32():
    """Qwen-Image forms image rows and columns in the model dtype: a 300-token side is inexact in bf16. The
    table of the image tokens is the one of the exact float32 grid."""
    model = build("qwen", dtype=torch.bfloat16)
    patched = dype(model, base_resolution=BASE)
    forwards = record_forwards(patched, QWEN.embedder)
    rows, cols, text = 300, 2, 9
    positive, negative = conditioning("qwen", text), conditioning("qwen", text, seed=2)
    sample(patched, latent("qwen", rows * TOKEN_PX, cols * TOKEN_PX), positive, negative, steps=1, cfg=1.0)
    (ids, table), = forwards[0].calls
    exact = grid_ids(1, rows, cols, centred(rows, cols))
    image = slice(text, text + rows * cols)
    assert not torch.equal(ids[:, image], exact)  # the host's own ids are off
    host = patched.get_model_object(QWEN.embedder).original
    layout = RotaryLayout(name="Qwen-Image", axes_dim=(16, 56, 56), theta=1e4, row_axis=1, col_axis=2,
                          base_grid=(BASE / TOKEN_PX,) * 2, latent_downscale=8, patch=2)
    dyped = freqs.dype(layout, DyPESettings(), (1.0, rows * TOKEN_PX / BASE, 1.0), forwards[0].sigma)
    assert torch.equal(table, spliced(host(ids), build_table(exact, layout, dyped), 2, image.start))


def test_hidream_e1_editing_is_refused_above_the_base_and_untouched_at_it(models):
    """HiDream-E1 (``image_cond`` beside the target in one grid): at the base size DyPE does nothing (bitwise
    the unpatched edit); above it DyPE refuses with what is wrong and what to do."""
    model = models("hidream")
    positive = conditioning("hidream", 8, edit=(BASE, BASE))
    latent_image = latent("hidream", BASE, BASE)
    plain = sample(model, latent_image, positive, positive, steps=1)
    assert torch.equal(sample(dype(model, base_resolution=BASE), latent_image, positive, positive, steps=1), plain)
    positive = conditioning("hidream", 8, edit=(2 * BASE, BASE))
    latent_image = latent("hidream", 2 * BASE, BASE)
    assert torch.isfinite(sample(model, latent_image, positive, positive, steps=1)).all()  # E1 runs unpatched
    with pytest.raises(UnsupportedInput, match="HiDream-E1 editing places the reference image beside the target"
                                               ".*remove DyPE for HiDream-E1 edits"):
        sample(dype(model, base_resolution=BASE), latent_image, positive, positive, steps=1)


@pytest.mark.parametrize("kind", FAMILY_KINDS)
def test_the_original_model_is_unchanged_after_patching_and_sampling(kind):
    """After a patched clone sampled: the model's embedder is the same object (in the patcher and, once the
    model samples again, in the module tree), its weights are equal and it samples as before."""
    model, facts = build(kind), FACTS[kind]
    case = next(c for c in CASES.values() if c.kind == kind)
    embedder = model.get_model_object(facts.embedder)
    weights = {k: v.clone() for k, v in model.model.state_dict().items()}
    size = (BASE, 2 * BASE)
    before = case.run(model, size)
    case.run(dype(model, base_resolution=BASE), size)
    assert model.get_model_object(facts.embedder) is embedder
    assert torch.equal(case.run(model, size), before)
    assert model.model.get_submodule(facts.embedder) is embedder and not isinstance(embedder, DyPEEmbedder)
    state = model.model.state_dict()
    assert state.keys() == weights.keys() and all(torch.equal(state[k], weights[k]) for k in weights)


@pytest.mark.parametrize("kind", FAMILY_KINDS)
def test_time_shift_model_keeps_the_sampling_and_base_pins_the_family_s_own(models, kind):
    """``model`` (the default) leaves ``model_sampling`` alone; ``base`` patches in a new one of the same class
    with the family's own shift (FLUX-shifted: ``mu``; discrete flow: ``exp(base_mu)``, same multiplier)."""
    model, facts = models(kind), FACTS[kind]
    own = model.get_model_object("model_sampling")
    shift = own.shift
    assert dype(model).get_model_object("model_sampling") is own
    pinned = dype(model, time_shift="base").get_model_object("model_sampling")
    assert type(pinned) is type(own) and pinned is not own and own.shift == shift  # the model's own is untouched
    if facts.discrete:
        assert pinned.shift == pytest.approx(facts.shift, rel=1e-12) and pinned.multiplier == own.multiplier
    else:
        assert pinned.shift == facts.shift


@pytest.mark.parametrize("kind", FAMILY_KINDS)
def test_sega_and_proportional_attention_change_nothing_at_the_base_and_act_above_it(models, kind):
    """SEGA with proportional attention samples bitwise like the plain model at the base size. Above it, SEGA's
    magnitudes change the image against its NTK frequencies alone, and proportional attention changes it again
    (the run would stop with ``HostMismatch`` if the model's attention never met the override)."""
    model = models(kind)
    case = next(c for c in CASES.values() if c.kind == kind)
    both = {"method": "SEGA", "proportional_attention": True, "base_resolution": BASE}
    assert torch.equal(case.run(dype(model, **both), (BASE, BASE), steps=1), case.run(model, (BASE, BASE), steps=1))
    ntk = case.run(dype(model, method="NTK (static)", base_resolution=BASE))
    sega = case.run(dype(model, method="SEGA", base_resolution=BASE))
    assert not torch.equal(sega, ntk) and not torch.equal(case.run(dype(model, **both)), sega)
