"""A small fake of ComfyUI 0.20.1's V3 node API (``comfy_api.latest``: ``io`` and
``ComfyExtension``), enough to define, list and run this pack's nodes without ComfyUI.

It follows ComfyUI's own serialisation: each input's ``as_dict()`` (``None`` fields pruned), V1
input dicts as ``(io_type, options)`` under "required"/"optional", ``GET_NODE_INFO_V1()`` with the
same keys as ComfyUI's ``NodeInfoV1``, and ``NodeOutput(*args, ui=...)``. With COMFYUI_DIR set,
tests/test_comfyui_v3_fake.py checks the node infos it gives against ComfyUI's real ``comfy_api``.

``install()`` puts ``comfy_api`` and ``comfy_api.latest`` into ``sys.modules`` unless a real
ComfyUI's are importable.
"""

from __future__ import annotations

import enum
import importlib.util
import sys
import types
from dataclasses import dataclass, field
from typing import Any


def prune_dict(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


class Input:
    io_type = ""

    def __init__(self, id: str, display_name=None, optional=False, tooltip=None, lazy=None, extra_dict=None,
                 raw_link=None, advanced=None):  # fmt: skip
        self.id = id
        self.display_name = display_name
        self.optional = optional
        self.tooltip = tooltip
        self.lazy = lazy
        self.extra_dict = extra_dict or {}
        self.raw_link = raw_link
        self.advanced = advanced

    def as_dict(self) -> dict[str, Any]:
        return prune_dict(
            {
                "display_name": self.display_name,
                "optional": self.optional,
                "tooltip": self.tooltip,
                "lazy": self.lazy,
                "rawLink": self.raw_link,
                "advanced": self.advanced,
            }
        ) | prune_dict(self.extra_dict)

    def get_io_type(self) -> str:
        return self.io_type


class WidgetInput(Input):
    def __init__(self, id: str, display_name=None, optional=False, tooltip=None, lazy=None, default=None,
                 socketless=None, widget_type=None, force_input=None, extra_dict=None, raw_link=None,
                 advanced=None):  # fmt: skip
        super().__init__(id, display_name, optional, tooltip, lazy, extra_dict, raw_link, advanced)
        self.default = default
        self.socketless = socketless
        self.widget_type = widget_type
        self.force_input = force_input

    def as_dict(self) -> dict[str, Any]:
        return super().as_dict() | prune_dict(
            {
                "default": self.default,
                "socketless": self.socketless,
                "widgetType": self.widget_type,
                "forceInput": self.force_input,
            }
        )


class Output:
    io_type = ""

    def __init__(self, id=None, display_name=None, tooltip=None, is_output_list=False):
        self.id = id
        self.display_name = display_name if display_name else id
        self.tooltip = tooltip
        self.is_output_list = is_output_list


def _socket_type(io_type: str) -> type:
    """A ComfyType with plain Input and Output classes (MODEL, LATENT, a custom type...)."""
    input_cls = type("Input", (Input,), {"io_type": io_type})
    output_cls = type("Output", (Output,), {"io_type": io_type})
    return type(io_type.title(), (), {"io_type": io_type, "Input": input_cls, "Output": output_cls})


class _NumberInput(WidgetInput):
    def __init__(self, id: str, display_name=None, optional=False, tooltip=None, lazy=None, default=None, min=None,
                 max=None, step=None, display_mode=None, socketless=None, force_input=None, extra_dict=None,
                 raw_link=None, advanced=None, **number_options: Any):  # fmt: skip
        super().__init__(id, display_name, optional, tooltip, lazy, default, socketless, None, force_input,
                         extra_dict, raw_link, advanced)  # fmt: skip
        self.min, self.max, self.step = min, max, step
        self.display_mode = display_mode
        self.number_options = number_options

    def as_dict(self) -> dict[str, Any]:
        return super().as_dict() | prune_dict(
            {
                "min": self.min,
                "max": self.max,
                "step": self.step,
                **self.number_options,
                "display": self.display_mode,
            }
        )


class Int:
    io_type = "INT"

    class Input(_NumberInput):
        io_type = "INT"

    class Output(Output):
        io_type = "INT"


class Float:
    io_type = "FLOAT"

    class Input(_NumberInput):
        io_type = "FLOAT"

    class Output(Output):
        io_type = "FLOAT"


class Boolean:
    io_type = "BOOLEAN"

    class Input(WidgetInput):
        io_type = "BOOLEAN"

    class Output(Output):
        io_type = "BOOLEAN"


class Combo:
    io_type = "COMBO"

    class Input(WidgetInput):
        io_type = "COMBO"

        def __init__(self, id: str, options=None, display_name=None, optional=False, tooltip=None, lazy=None,
                     default=None, control_after_generate=None, socketless=None, extra_dict=None, raw_link=None,
                     advanced=None):  # fmt: skip
            super().__init__(id, display_name, optional, tooltip, lazy, default, socketless, None, None, extra_dict,
                             raw_link, advanced)  # fmt: skip
            self.multiselect = False
            self.options = options
            self.control_after_generate = control_after_generate

        def as_dict(self) -> dict[str, Any]:
            return super().as_dict() | prune_dict(
                {
                    "multiselect": self.multiselect,
                    "options": self.options,
                    "control_after_generate": self.control_after_generate,
                }
            )

    class Output(Output):
        io_type = "COMBO"


def Custom(io_type: str) -> type:
    return _socket_type(io_type)


Model = _socket_type("MODEL")
Latent = _socket_type("LATENT")
Vae = _socket_type("VAE")
Noise = _socket_type("NOISE")
Guider = _socket_type("GUIDER")
Sampler = _socket_type("SAMPLER")
Sigmas = _socket_type("SIGMAS")
LatentUpscaleModel = _socket_type("LATENT_UPSCALE_MODEL")
Image = _socket_type("IMAGE")


class String:
    io_type = "STRING"

    class Input(WidgetInput):
        io_type = "STRING"

        def __init__(self, id: str, display_name=None, optional=False, tooltip=None, lazy=None, multiline=False,
                     placeholder=None, default=None, dynamic_prompts=None, socketless=None, force_input=None,
                     extra_dict=None, raw_link=None, advanced=None):  # fmt: skip
            super().__init__(id, display_name, optional, tooltip, lazy, default, socketless, None, force_input,
                             extra_dict, raw_link, advanced)  # fmt: skip
            self.multiline, self.placeholder, self.dynamic_prompts = multiline, placeholder, dynamic_prompts

        def as_dict(self) -> dict[str, Any]:
            return super().as_dict() | prune_dict(
                {
                    "multiline": self.multiline,
                    "placeholder": self.placeholder,
                    "dynamicPrompts": self.dynamic_prompts,
                }
            )

    class Output(Output):
        io_type = "STRING"


class Hidden(str, enum.Enum):
    """The hidden inputs ComfyUI passes to a node (the ones output nodes get)."""

    prompt = "PROMPT"
    extra_pnginfo = "EXTRA_PNGINFO"


def create_input_dict_v1(inputs: list[Input]) -> dict[str, Any]:
    out: dict[str, Any] = {"required": {}}
    for i in inputs:
        as_dict = i.as_dict()
        as_dict.pop("optional", None)
        out.setdefault("optional" if i.optional else "required", {})[i.id] = (i.get_io_type(), as_dict)
    return out


@dataclass
class Schema:
    node_id: str
    display_name: str | None = None
    category: str = "sd"
    inputs: list[Any] = field(default_factory=list)
    outputs: list[Any] = field(default_factory=list)
    hidden: list[Any] = field(default_factory=list)
    description: str = ""
    search_aliases: list[str] = field(default_factory=list)
    is_input_list: bool = False
    is_output_node: bool = False
    is_deprecated: bool = False
    is_experimental: bool = False
    is_dev_only: bool = False
    is_api_node: bool = False
    not_idempotent: bool = False
    essentials_category: str | None = None
    has_intermediate_output: bool = False

    def validate(self) -> None:
        ids = [i.id for i in self.inputs]
        if len(ids) != len(set(ids)):
            raise ValueError(f"Ids must be unique between inputs, got {ids}")

    def finalize(self) -> None:
        """Output nodes get the prompt and the workflow as hidden inputs, as in ComfyUI."""
        if self.is_output_node:
            self.hidden += [h for h in (Hidden.prompt, Hidden.extra_pnginfo) if h not in self.hidden]

    def get_v1_info(self, cls: type) -> dict[str, Any]:
        inputs = create_input_dict_v1(self.inputs)
        for hidden in self.hidden:
            inputs.setdefault("hidden", {})[hidden.name] = (hidden.value,)
        return {
            "input": inputs,
            "input_order": {key: list(value) for key, value in inputs.items()},
            "is_input_list": self.is_input_list,
            "output": [o.io_type for o in self.outputs],
            "output_is_list": [o.is_output_list for o in self.outputs],
            "output_name": [o.display_name if o.display_name else o.io_type for o in self.outputs],
            "output_tooltips": [o.tooltip if o.tooltip else None for o in self.outputs],
            "output_matchtypes": None,
            "name": self.node_id,
            "display_name": self.display_name,
            "description": self.description,
            "python_module": getattr(cls, "RELATIVE_PYTHON_MODULE", "nodes"),
            "category": self.category,
            "output_node": self.is_output_node,
            "deprecated": self.is_deprecated,
            "experimental": self.is_experimental,
            "dev_only": self.is_dev_only,
            "api_node": self.is_api_node,
            "price_badge": None,
            "search_aliases": self.search_aliases if self.search_aliases else None,
            "essentials_category": self.essentials_category,
            "has_intermediate_output": self.has_intermediate_output,
        }


class NodeOutput:
    def __init__(self, *args: Any, ui: Any = None, expand: Any = None, block_execution: Any = None) -> None:
        self.args = args
        self.ui = ui
        self.expand = expand
        self.block_execution = block_execution

    @property
    def result(self) -> tuple[Any, ...] | None:
        return self.args if len(self.args) > 0 else None

    def __getitem__(self, index: int) -> Any:
        return self.args[index]


class ComfyNode:
    RELATIVE_PYTHON_MODULE = None

    @classmethod
    def define_schema(cls) -> Schema:
        raise NotImplementedError

    @classmethod
    def execute(cls, **kwargs: Any) -> NodeOutput:
        raise NotImplementedError

    @classmethod
    def GET_SCHEMA(cls) -> Schema:
        schema = cls.define_schema()
        schema.finalize()
        schema.validate()
        return schema

    @classmethod
    def GET_NODE_INFO_V1(cls) -> dict[str, Any]:
        return cls.GET_SCHEMA().get_v1_info(cls)

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return cls.GET_SCHEMA().get_v1_info(cls)["input"]


class ComfyExtension:
    async def on_load(self) -> None:
        pass

    async def get_node_list(self) -> list[type[ComfyNode]]:
        raise NotImplementedError


def make_modules() -> dict[str, types.ModuleType]:
    io = types.ModuleType("comfy_api.latest.io")
    for name in ("Input", "WidgetInput", "Output", "Int", "Float", "Boolean", "Combo", "Custom", "Model", "Latent",
                 "Vae", "Noise", "Guider", "Sampler", "Sigmas", "LatentUpscaleModel", "Image", "String", "Hidden", "Schema",
                 "NodeOutput", "ComfyNode"):  # fmt: skip
        setattr(io, name, globals()[name])
    latest = types.ModuleType("comfy_api.latest")
    latest.io = io  # type: ignore[attr-defined]
    latest.ComfyExtension = ComfyExtension  # type: ignore[attr-defined]
    package = types.ModuleType("comfy_api")
    package.__path__ = []  # a package, for `import comfy_api.latest`
    package.latest = latest  # type: ignore[attr-defined]
    return {"comfy_api": package, "comfy_api.latest": latest, "comfy_api.latest.io": io}


def install() -> bool:
    """Install the fake unless a real ``comfy_api`` is importable; True when the fake is in use."""
    if "comfy_api.latest" in sys.modules:  # ComfyUI's comfy_api is a namespace package
        return getattr(sys.modules["comfy_api.latest"], "__file__", None) is None
    if importlib.util.find_spec("comfy_api") is not None:
        return False
    sys.modules.update(make_modules())
    return True
