"""A small fake of ComfyUI 0.20.1's V3 node API (``comfy_api.latest.io``) for tests without ComfyUI.

The constructors take the keyword arguments the real ones take (a misspelt option fails here as
it would in ComfyUI), inputs and outputs keep them as attributes, and ``Schema``, ``ComfyNode``
and ``NodeOutput`` behave as the real ones do for a node's ``define_schema`` / ``execute``.
tests/test_comfyui_integration.py checks the same node against the real API.
"""

from __future__ import annotations

import types
from dataclasses import dataclass, field
from typing import Any


class Input:
    io_type = "*"

    def __init__(self, id, display_name=None, optional=False, tooltip=None, lazy=None, extra_dict=None,
                 raw_link=None, advanced=None):  # fmt: skip
        self.id, self.display_name, self.optional, self.tooltip = id, display_name, optional, tooltip


class WidgetInput(Input):
    def __init__(self, id, display_name=None, optional=False, tooltip=None, lazy=None, default=None,
                 socketless=None, widget_type=None, force_input=None, extra_dict=None, raw_link=None,
                 advanced=None):  # fmt: skip
        super().__init__(id, display_name, optional, tooltip)
        self.default = default


class Output:
    io_type = "*"

    def __init__(self, id=None, display_name=None, tooltip=None, is_output_list=False):
        self.id, self.display_name, self.tooltip = id, display_name or id, tooltip


def _comfytype(io_type, input_class=Input):
    class In(input_class):
        pass

    class Out(Output):
        pass

    In.io_type = Out.io_type = io_type
    return type(io_type, (), {"io_type": io_type, "Input": In, "Output": Out})


class _IntInput(WidgetInput):
    def __init__(self, id, display_name=None, optional=False, tooltip=None, lazy=None, default=None, min=None,
                 max=None, step=None, control_after_generate=None, display_mode=None, socketless=None,
                 force_input=None, extra_dict=None, raw_link=None, advanced=None):  # fmt: skip
        super().__init__(id, display_name, optional, tooltip, default=default)
        self.min, self.max, self.step = min, max, step


class _FloatInput(WidgetInput):
    def __init__(self, id, display_name=None, optional=False, tooltip=None, lazy=None, default=None, min=None,
                 max=None, step=None, round=None, display_mode=None, gradient_stops=None, socketless=None, force_input=None,
                 extra_dict=None, raw_link=None, advanced=None):  # fmt: skip
        super().__init__(id, display_name, optional, tooltip, default=default)
        self.min, self.max, self.step = min, max, step


class _ComboInput(WidgetInput):
    def __init__(self, id, options=None, display_name=None, optional=False, tooltip=None, lazy=None,
                 default=None, control_after_generate=None, upload=None, image_folder=None, remote=None,
                 socketless=None, extra_dict=None, raw_link=None, advanced=None):  # fmt: skip
        super().__init__(id, display_name, optional, tooltip, default=default)
        self.options = list(options or [])


class _BooleanInput(WidgetInput):
    def __init__(self, id, display_name=None, optional=False, tooltip=None, lazy=None, default=None,
                 label_on=None, label_off=None, socketless=None, force_input=None, extra_dict=None,
                 raw_link=None, advanced=None):  # fmt: skip
        super().__init__(id, display_name, optional, tooltip, default=default)


@dataclass
class Schema:
    node_id: str
    display_name: str | None = None
    category: str = "sd"
    inputs: list[Any] = field(default_factory=list)
    outputs: list[Any] = field(default_factory=list)
    hidden: list[Any] = field(default_factory=list)
    description: str = ""
    is_output_node: bool = False

    def validate(self):
        ids = [i.id for i in self.inputs]
        if len(ids) != len(set(ids)):
            raise ValueError(f"duplicate input ids in {self.node_id}")
        out_ids = [o.id for o in self.outputs if o.id is not None]
        if len(out_ids) != len(set(out_ids)):
            raise ValueError(f"duplicate output ids in {self.node_id}")


class ComfyNode:
    @classmethod
    def define_schema(cls):
        raise NotImplementedError

    @classmethod
    def execute(cls, **kwargs):
        raise NotImplementedError

    @classmethod
    def GET_SCHEMA(cls):
        schema = cls.define_schema()
        schema.validate()
        return schema

    @classmethod
    def INPUT_TYPES(cls):
        """The classic view ComfyUI derives from the schema: {"required": {id: (type, options)}}."""
        out = {"required": {}, "optional": {}}
        for i in cls.GET_SCHEMA().inputs:
            options = {k: getattr(i, k) for k in ("default", "min", "max", "step", "tooltip")}
            kind = i.options if isinstance(i, _ComboInput) else i.io_type
            out["optional" if i.optional else "required"][i.id] = (
                kind,
                {k: v for k, v in options.items() if v is not None},
            )
        return out


class NodeOutput:
    def __init__(self, *args, ui=None, expand=None, block_execution=None):
        self.args, self.ui = args, ui

    @property
    def result(self):
        return self.args if self.args else None

    def __getitem__(self, index):
        return self.args[index]


def Custom(io_type):
    return _comfytype(io_type)


def make_io():
    io = types.ModuleType("comfy_api.latest.io")
    io.__dict__.update(
        Input=Input, WidgetInput=WidgetInput, Output=Output, Schema=Schema, ComfyNode=ComfyNode,
        NodeOutput=NodeOutput, Custom=Custom,
        Int=_comfytype("INT", _IntInput), Float=_comfytype("FLOAT", _FloatInput),
        Combo=_comfytype("COMBO", _ComboInput), Boolean=_comfytype("BOOLEAN", _BooleanInput),
        String=_comfytype("STRING", WidgetInput),
    )  # fmt: skip
    for name, io_type in (
        ("Noise", "NOISE"), ("Guider", "GUIDER"), ("Sampler", "SAMPLER"), ("Sigmas", "SIGMAS"),
        ("Latent", "LATENT"), ("Vae", "VAE"), ("Image", "IMAGE"), ("Model", "MODEL"),
        ("LatentUpscaleModel", "LATENT_UPSCALE_MODEL"),
    ):  # fmt: skip
        setattr(io, name, _comfytype(io_type))
    return io


def api_modules():
    """``comfy_api`` and ``comfy_api.latest`` (holding ``io``), by name, for ``sys.modules``."""
    io = make_io()
    latest = types.ModuleType("comfy_api.latest")
    latest.io = io
    latest.__path__ = []
    package = types.ModuleType("comfy_api")
    package.latest = latest
    package.__path__ = []
    return {"comfy_api": package, "comfy_api.latest": latest, "comfy_api.latest.io": io}
