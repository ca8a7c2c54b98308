"""V3 node schema API (``comfy_api.latest.io``): types with Input/Output, Schema, ComfyNode.

Reproduced host behaviour: the input signatures (``id`` first, then ``display_name, optional, tooltip,
lazy``, type-specific keywords, ``extra_dict, raw_link, advanced``); ``INPUT_TYPES()`` in the V1 form
``{"required"|"optional": {id: (IO_TYPE, options)}, "hidden": {NAME: (VALUE,)}}`` with ``None``
options pruned and Combo as ``("COMBO", {"options": [...], "multiselect": False, ...})``;
``cls.hidden`` is None until ``PREPARE_CLASS_CLONE(v3_data)`` gives a clone with a hidden holder.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class NumberDisplay(str, Enum):
    number = "number"
    slider = "slider"
    gradient_slider = "gradientslider"


def _pruned(d: dict) -> dict:
    return {k: v for k, v in d.items() if v is not None}


class Input:
    io_type: str = "*"

    def __init__(self, id: str, display_name: str = None, optional=False, tooltip: str = None, lazy: bool = None,
                 extra_dict=None, raw_link: bool = None, advanced: bool = None):
        self.id, self.display_name, self.optional, self.tooltip, self.lazy = id, display_name, optional, tooltip, lazy
        self.extra_dict, self.raw_link, self.advanced = extra_dict or {}, raw_link, advanced

    def as_dict(self) -> dict:
        return _pruned({"display_name": self.display_name, "tooltip": self.tooltip, "lazy": self.lazy,
                        "rawLink": self.raw_link, "advanced": self.advanced}) | _pruned(self.extra_dict)

    def get_io_type(self) -> str:
        return self.io_type


class WidgetInput(Input):
    """An input with a widget: has a default and optional socketless/force_input flags."""

    def __init__(self, id: str, display_name: str = None, optional=False, tooltip: str = None, lazy: bool = None,
                 default: Any = None, socketless: bool = None, widget_type: str = None, force_input: bool = None,
                 extra_dict=None, raw_link: bool = None, advanced: bool = None):
        super().__init__(id, display_name, optional, tooltip, lazy, extra_dict, raw_link, advanced)
        self.default, self.socketless, self.force_input = default, socketless, force_input
        self.widget_type = widget_type

    def as_dict(self) -> dict:
        return super().as_dict() | _pruned({"default": self.default, "socketless": self.socketless,
                                            "widgetType": self.widget_type, "forceInput": self.force_input})


class Output:
    io_type: str = "*"

    def __init__(self, id: str = None, display_name: str = None, tooltip: str = None, is_output_list=False):
        self.id, self.display_name, self.tooltip, self.is_output_list = id, display_name or id, tooltip, is_output_list


def _comfytype(io_type: str):
    """Give a type class ``io_type`` plus Input/Output subclasses bound to it (host: ``@comfytype``)."""

    def deco(cls):
        cls.io_type = io_type
        for name, base in (("Input", Input), ("Output", Output)):
            own = cls.__dict__.get(name)
            attrs = {"io_type": io_type, "__qualname__": f"{cls.__name__}.{name}"}
            setattr(cls, name, type(name, (own or base,), attrs))
        return cls

    return deco


@_comfytype("BOOLEAN")
class Boolean:
    class Input(WidgetInput):
        def __init__(self, id: str, display_name: str = None, optional=False, tooltip: str = None, lazy: bool = None,
                     default: bool = None, label_on: str = None, label_off: str = None, socketless: bool = None,
                     force_input: bool = None, extra_dict=None, raw_link: bool = None, advanced: bool = None):
            super().__init__(id, display_name, optional, tooltip, lazy, default, socketless, None, force_input,
                             extra_dict, raw_link, advanced)
            self.label_on, self.label_off = label_on, label_off

        def as_dict(self):
            return super().as_dict() | _pruned({"label_on": self.label_on, "label_off": self.label_off})


@_comfytype("INT")
class Int:
    class Input(WidgetInput):
        def __init__(self, id: str, display_name: str = None, optional=False, tooltip: str = None, lazy: bool = None,
                     default: int = None, min: int = None, max: int = None, step: int = None,
                     control_after_generate=None, display_mode=None, socketless: bool = None,
                     force_input: bool = None, extra_dict=None, raw_link: bool = None, advanced: bool = None):
            super().__init__(id, display_name, optional, tooltip, lazy, default, socketless, None, force_input,
                             extra_dict, raw_link, advanced)
            self.min, self.max, self.step = min, max, step
            self.control_after_generate, self.display_mode = control_after_generate, display_mode

        def as_dict(self):
            return super().as_dict() | _pruned({"min": self.min, "max": self.max, "step": self.step,
                                                "control_after_generate": self.control_after_generate,
                                                "display": getattr(self.display_mode, "value", self.display_mode)})


@_comfytype("FLOAT")
class Float:
    class Input(WidgetInput):
        def __init__(self, id: str, display_name: str = None, optional=False, tooltip: str = None, lazy: bool = None,
                     default: float = None, min: float = None, max: float = None, step: float = None,
                     round: float = None, display_mode=None, gradient_stops: list = None, socketless: bool = None,
                     force_input: bool = None, extra_dict=None, raw_link: bool = None, advanced: bool = None):
            super().__init__(id, display_name, optional, tooltip, lazy, default, socketless, None, force_input,
                             extra_dict, raw_link, advanced)
            self.min, self.max, self.step, self.round = min, max, step, round
            self.display_mode, self.gradient_stops = display_mode, gradient_stops

        def as_dict(self):
            return super().as_dict() | _pruned({"min": self.min, "max": self.max, "step": self.step,
                                                "round": self.round, "display": self.display_mode,
                                                "gradient_stops": self.gradient_stops})


@_comfytype("STRING")
class String:
    class Input(WidgetInput):
        def __init__(self, id: str, display_name: str = None, optional=False, tooltip: str = None, lazy: bool = None,
                     multiline=False, placeholder: str = None, default: str = None, dynamic_prompts: bool = None,
                     socketless: bool = None, force_input: bool = None, extra_dict=None, raw_link: bool = None,
                     advanced: bool = None):
            super().__init__(id, display_name, optional, tooltip, lazy, default, socketless, None, force_input,
                             extra_dict, raw_link, advanced)
            self.multiline, self.placeholder, self.dynamic_prompts = multiline, placeholder, dynamic_prompts

        def as_dict(self):
            return super().as_dict() | _pruned({"multiline": self.multiline, "placeholder": self.placeholder,
                                                "dynamicPrompts": self.dynamic_prompts})


@_comfytype("COMBO")
class Combo:
    class Input(WidgetInput):
        def __init__(self, id: str, options: list | type[Enum] = None, display_name: str = None, optional=False,
                     tooltip: str = None, lazy: bool = None, default=None, control_after_generate=None, upload=None,
                     image_folder=None, remote=None, socketless: bool = None, extra_dict=None, raw_link: bool = None,
                     advanced: bool = None):
            if isinstance(options, type) and issubclass(options, Enum):
                options = [o.value for o in options]
            default = default.value if isinstance(default, Enum) else default
            super().__init__(id, display_name, optional, tooltip, lazy, default, socketless, None, None, extra_dict,
                             raw_link, advanced)
            self.options, self.multiselect, self.control_after_generate = options, False, control_after_generate

        def as_dict(self):
            return super().as_dict() | _pruned({"multiselect": self.multiselect, "options": self.options,
                                                "control_after_generate": self.control_after_generate})


def _plain(io_type: str):
    return _comfytype(io_type)(type(io_type.title(), (), {}))


Model, Latent, Sigmas, Image, Mask = (_plain(t) for t in ("MODEL", "LATENT", "SIGMAS", "IMAGE", "MASK"))
Conditioning, Sampler, Guider, Noise, Vae, Clip = (
    _plain(t) for t in ("CONDITIONING", "SAMPLER", "GUIDER", "NOISE", "VAE", "CLIP"))


class Hidden(str, Enum):
    unique_id = "UNIQUE_ID"
    prompt = "PROMPT"
    extra_pnginfo = "EXTRA_PNGINFO"
    dynprompt = "DYNPROMPT"
    auth_token_comfy_org = "AUTH_TOKEN_COMFY_ORG"
    api_key_comfy_org = "API_KEY_COMFY_ORG"
    comfy_usage_source = "COMFY_USAGE_SOURCE"


class HiddenHolder:
    """``cls.hidden`` during execution: one attribute per Hidden member, None when not supplied."""

    def __init__(self, values: dict):
        for member in Hidden:
            setattr(self, member.name, values.get(member, values.get(member.name)))


@dataclass
class Schema:
    node_id: str
    display_name: str = None
    category: str = "sd"
    inputs: list = field(default_factory=list)
    outputs: list = field(default_factory=list)
    hidden: list = field(default_factory=list)
    description: str = ""
    search_aliases: list = field(default_factory=list)
    is_input_list: bool = False
    is_output_node: bool = False
    is_deprecated: bool = False
    is_experimental: bool = False
    is_dev_only: bool = False
    is_api_node: bool = False
    price_badge: Any = None
    not_idempotent: bool = False
    enable_expand: bool = False
    accept_all_inputs: bool = False
    essentials_category: str | None = None
    has_intermediate_output: bool = False

    def validate(self):
        """Only duplicate input/output ids are rejected, like the host."""
        for kind, ids in (("Input", [i.id for i in self.inputs]), ("Output", [o.id for o in self.outputs])):
            dupes = sorted({x for x in ids if ids.count(x) > 1 and x is not None})
            if dupes:
                raise ValueError(f"{kind} ids must be unique, but {dupes} are not.")

    def finalize(self):
        if self.is_output_node:
            self.hidden += [h for h in (Hidden.prompt, Hidden.extra_pnginfo) if h not in self.hidden]
        for i, out in enumerate(self.outputs):
            if out.id is None:
                out.id = f"_{i}_{out.io_type}_"


class NodeOutput:
    def __init__(self, *args: Any, ui=None, expand: dict = None, block_execution: str = None):
        self.args, self.ui, self.expand, self.block_execution = args, ui, expand, block_execution

    @property
    def result(self):
        return self.args if self.args else None

    def __getitem__(self, index):
        return self.args[index]


class _ClassProperty:
    def __init__(self, fn):
        self.fn = fn

    def __get__(self, obj, owner):
        return self.fn(owner)


class ComfyNode:
    """Base of V3 nodes. Subclasses define the classmethods ``define_schema`` and ``execute``."""

    hidden: HiddenHolder = None
    SCHEMA: Schema = None

    @classmethod
    def define_schema(cls) -> Schema:
        raise NotImplementedError

    @classmethod
    def execute(cls, **kwargs) -> NodeOutput:
        raise NotImplementedError

    @classmethod
    def validate_inputs(cls, **kwargs) -> bool | str:
        raise NotImplementedError

    @classmethod
    def fingerprint_inputs(cls, **kwargs) -> Any:
        raise NotImplementedError

    @classmethod
    def GET_SCHEMA(cls) -> Schema:
        schema = cls.define_schema()
        schema.finalize()
        schema.validate()
        cls.SCHEMA = schema
        return schema

    @classmethod
    def INPUT_TYPES(cls) -> dict:
        schema = cls.define_schema()
        schema.finalize()
        out = {"required": {}}
        for i in schema.inputs:
            out.setdefault("optional" if i.optional else "required", {})[i.id] = (i.get_io_type(), i.as_dict())
        if schema.hidden:
            out["hidden"] = {h.name: (h.value,) for h in schema.hidden}
        return out

    RETURN_TYPES = _ClassProperty(lambda cls: [o.io_type for o in cls.GET_SCHEMA().outputs])
    RETURN_NAMES = _ClassProperty(lambda cls: [o.display_name or o.io_type for o in cls.GET_SCHEMA().outputs])
    CATEGORY = _ClassProperty(lambda cls: cls.GET_SCHEMA().category)
    DESCRIPTION = _ClassProperty(lambda cls: cls.GET_SCHEMA().description)
    FUNCTION = _ClassProperty(
        lambda cls: "EXECUTE_NORMALIZED_ASYNC" if inspect.iscoroutinefunction(cls.execute) else "EXECUTE_NORMALIZED")

    @classmethod
    def PREPARE_CLASS_CLONE(cls, v3_data: dict | None) -> type[ComfyNode]:
        """A throwaway subclass carrying ``hidden`` (the host clones the class the same way)."""
        clone = type(cls.__name__, (cls,), {"__module__": cls.__module__})
        clone.hidden = HiddenHolder((v3_data or {}).get("hidden_inputs", {}) or {})
        return clone

    @classmethod
    def _normalize(cls, ret) -> NodeOutput:
        if ret is None:
            return NodeOutput()
        if isinstance(ret, tuple):
            return NodeOutput(*ret)
        if isinstance(ret, dict):
            return NodeOutput(*ret.get("result", ()), ui=ret.get("ui"), expand=ret.get("expand"))
        if not isinstance(ret, NodeOutput):
            raise Exception(f"Invalid return type from node: {type(ret)}")
        return ret

    @classmethod
    def EXECUTE_NORMALIZED(cls, *args, **kwargs) -> NodeOutput:
        return cls._normalize(cls.execute(*args, **kwargs))

    @classmethod
    async def EXECUTE_NORMALIZED_ASYNC(cls, *args, **kwargs) -> NodeOutput:
        return cls._normalize(await cls.execute(*args, **kwargs))
