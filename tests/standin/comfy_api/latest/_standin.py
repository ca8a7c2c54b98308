"""Stand-in only: run a V3 node the way the server's validation and execution do.

``run_node`` mimics the frontend + ``execution.py`` path: widget inputs not given get their schema
default (the frontend always sends widget values), required inputs must be present, INT/FLOAT/
STRING/BOOLEAN values are converted, min/max and combo membership are checked *unless* the input is
named in ``validate_inputs`` (or it takes ``**kwargs``), then ``validate_inputs`` runs on a
``PREPARE_CLASS_CLONE`` with linked (non-widget) inputs passed as None; a return value other than
True raises ``NodeValidationError``. Finally ``execute`` runs on a fresh class clone.
"""

from __future__ import annotations

import asyncio
import inspect

from ._io import ComfyNode, Hidden, NodeOutput, WidgetInput

_CONVERT = {"INT": int, "FLOAT": float, "STRING": str, "BOOLEAN": bool}


class NodeValidationError(Exception):
    """Raised where the server would refuse the prompt; ``errors`` holds the host's (type, details) pairs."""

    def __init__(self, errors: list[tuple[str, str]], messages: list[str]):
        self.errors = errors
        super().__init__("; ".join(messages))


def input_types(node_cls) -> dict:
    """What the server reads as ``INPUT_TYPES()``."""
    return node_cls.INPUT_TYPES()


def _run(result):
    return asyncio.run(result) if inspect.isawaitable(result) else result


def run_node(node_cls, hidden: dict | None = None, **inputs) -> NodeOutput:
    schema = node_cls.GET_SCHEMA()
    by_id = {i.id: i for i in schema.inputs}
    unknown = set(inputs) - set(by_id)
    if unknown and not schema.accept_all_inputs:
        raise TypeError(f"{node_cls.__name__}: unknown inputs {sorted(unknown)}")
    hidden = dict(hidden or {})
    hidden_values = {h: hidden.get(h, hidden.get(h.name, "1" if h is Hidden.unique_id else None))
                     for h in schema.hidden}
    v3_data = {"hidden_inputs": hidden_values}

    validate = node_cls.validate_inputs
    custom = validate.__func__ is not ComfyNode.validate_inputs.__func__
    spec = inspect.getfullargspec(validate) if custom else None
    checked_by_node = set(spec.args) if custom else set()
    has_kwargs = bool(custom and spec.varkw)

    errors, messages = [], []

    def fail(kind, details, message):
        errors.append((kind, details))
        messages.append(f"{kind}: {message}")

    for key, inp in by_id.items():
        if key not in inputs:
            if isinstance(inp, WidgetInput) and inp.default is not None:
                inputs[key] = inp.default
            elif not inp.optional:
                fail("required_input_missing", key, f"Required input is missing: {key}")
            continue
        if not isinstance(inp, WidgetInput):
            continue
        try:
            inputs[key] = value = _CONVERT.get(inp.io_type, lambda v: v)(inputs[key])
        except Exception as ex:  # the host catches every conversion error (int(inf) is an OverflowError)
            fail("invalid_input_type", f"{key}, {inputs[key]}, {ex}", f"{key}: cannot convert {inputs[key]!r}")
            continue
        if key in checked_by_node or has_kwargs:
            continue
        if getattr(inp, "min", None) is not None and value < inp.min:
            fail("value_smaller_than_min", key, f"{key}: Value {value} smaller than min of {inp.min}")
        elif getattr(inp, "max", None) is not None and value > inp.max:
            fail("value_bigger_than_max", key, f"{key}: Value {value} bigger than max of {inp.max}")
        elif inp.io_type == "COMBO" and value not in (inp.options or []):
            details = f"{key}: {value!r} not in {inp.options}"
            fail("value_not_in_list", details, details)

    if custom and not any(kind == "required_input_missing" for kind, _ in errors):
        seen = {k: (v if isinstance(by_id.get(k), WidgetInput) else None) for k, v in inputs.items()}
        args = seen if has_kwargs else {k: v for k, v in seen.items() if k in checked_by_node}
        ret = _run(node_cls.PREPARE_CLASS_CLONE(v3_data).validate_inputs(**args))
        if ret is not True:
            for k in args:
                errors.append(("custom_validation_failed", k if ret is False else f"{k} - {ret}"))
            messages.append(f"custom_validation_failed: {ret}")
    if errors or messages:
        raise NodeValidationError(errors, messages)

    clone = node_cls.PREPARE_CLASS_CLONE(v3_data)
    return _run(getattr(clone, node_cls.FUNCTION)(**inputs))
