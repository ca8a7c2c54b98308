"""The input space an API client can send the pack's nodes, as hypothesis strategies, and what every outcome
must be: a clear refusal or a finite result.

A ComfyUI prompt carries any JSON value for a widget input: numbers far out of range, ``NaN`` and
``Infinity`` (Python's JSON parser reads them), numeric and other strings, booleans, null, unknown menu
entries. ``dype_inputs`` and ``plan_inputs`` draw from that space, with the in-range values the UI sends mixed
in, so that both refusals and accepted runs are exercised. Imports no ComfyUI: the stand-in tests
(``test_hardening_properties.py``) and the real-host check (``real_host/check_inputs.py``) share it.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]
PACK_CODE = (str(ROOT / "nodes"), str(ROOT / "dype_core"))

#: Values an API client may send that are no number a widget would give.
ODD = st.sampled_from(["abc", "nan", "inf", "-inf", "1e309", "", "2.5", "16", None, True, False, [], {}])


def _mostly(valid: st.SearchStrategy, wild: st.SearchStrategy) -> st.SearchStrategy:
    """``valid`` about three times in four, so that whole prompts the node accepts occur often."""
    return st.sampled_from((valid, valid, valid, wild)).flatmap(lambda chosen: chosen)


def number(low: float, high: float) -> st.SearchStrategy:
    """A FLOAT input: in range, or anything a float can be (NaN, infinities, huge), integers, odd values."""
    return _mostly(st.floats(low, high), st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                                                   st.integers(-(2**70), 2**70), ODD))


def integer(low: int, high: int, step: int = 1) -> st.SearchStrategy:
    """An INT input: whole steps in range, or any integer, floats (NaN and infinities included), odd values."""
    return _mostly(st.integers(low // step, high // step).map(lambda n: n * step),
                   st.one_of(st.integers(low, high), st.integers(-(2**70), 2**70),
                             st.floats(allow_nan=True, allow_infinity=True), ODD))


def menu(options) -> st.SearchStrategy:
    """A COMBO input: an option, or text, numbers and odd values that are none."""
    return _mostly(st.sampled_from(list(options)), st.one_of(st.text(max_size=12), st.integers(), ODD))


def dype_inputs(methods, ramps, scalings, policies, time_axes=("RIFLEx",)) -> st.SearchStrategy:
    """Widget inputs of the DyPE node (each may be left out: the frontend then sends the default)."""
    return st.fixed_dictionaries({}, optional={
        "method": menu(methods),
        "lambda_s": number(0.0, 10.0),
        "lambda_t": number(0.0, 10.0),
        "yarn_ramp": menu(ramps),
        "base_resolution": integer(0, 1024, 16),
        "scaling": menu(scalings),
        "attention_scale": _mostly(st.booleans(), st.one_of(ODD, st.integers())),
        "time_shift": menu(policies),
        "mu": number(0.0, 20.0),
        "time_axis": menu(time_axes),
        "proportional_attention": _mostly(st.booleans(), st.one_of(ODD, st.integers())),
    })


def plan_inputs(schedulers) -> st.SearchStrategy:
    """Widget inputs of the DyPE Plan node, plus whether a latent of some size is connected."""
    return st.fixed_dictionaries({}, optional={
        "width": integer(0, 32768, 16),
        "height": integer(0, 32768, 16),
        "steps": st.one_of(st.integers(1, 60), integer(1, 1000)),
        "scheduler": menu(schedulers),
    })


#: Image sides (px) the accepted DyPE cases sample at: below, at and above the small bases drawn.
SIDES = st.sampled_from([128, 256, 384, 512])


def raised_by_the_pack(error: BaseException) -> bool:
    """Whether ``error`` was raised deliberately in the pack's own code (a refusal with a message), not deep in
    torch or the host."""
    frames = traceback.extract_tb(error.__traceback__)
    return bool(frames) and frames[-1].filename.startswith(PACK_CODE) and bool(str(error))


def executed(node: str, call: Callable[[], Any]) -> tuple[str, Any]:
    """``("ran", result)``, or ``("refused at execution", error)`` for a ``ValueError`` the pack raised with a
    message; any other error fails the case."""
    try:
        return "ran", call()
    except ValueError as error:
        assert raised_by_the_pack(error), f"{node}: an error from outside the pack: {error!r}"
        return "refused at execution", error


def assert_unchanged(model: Any, embedder: Any, sampling: Any) -> None:
    """The original FLUX model still has its own embedder and sampling, and no object patches."""
    assert model.get_model_object("diffusion_model.pe_embedder") is embedder
    assert model.get_model_object("model_sampling") is sampling and not model.object_patches
