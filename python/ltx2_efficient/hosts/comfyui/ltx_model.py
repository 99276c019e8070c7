"""Recognising ComfyUI's LTX models and reading the shapes the patch needs.

ComfyUI runs LTX-Video as ``comfy.ldm.lightricks.model.LTXVModel`` and LTX-2 (audio + video) as
``comfy.ldm.lightricks.av_model.LTXAVModel``, both subclasses of ``LTXBaseModel``, wrapped in a
``BaseModel`` (``model_patcher.model``) whose ``diffusion_model`` attribute is the transformer.
The classes are recognised by name along the method resolution order, so this module needs no
ComfyUI import and subclasses from other node packs are accepted too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

LTX_BASE_CLASS = "LTXBaseModel"
LTX_VIDEO_CLASS = "LTXVModel"
LTX_AUDIO_VIDEO_CLASS = "LTXAVModel"


@dataclass(frozen=True)
class LtxModelInfo:
    """What the patch needs to know about an LTX transformer."""

    class_name: str
    audio_video: bool
    video_heads: int
    video_head_dim: int
    audio_heads: int = 0
    audio_head_dim: int = 0
    layers: int = 0

    @property
    def video_width(self) -> int:
        """Width of the video attention inputs: heads x head dim."""
        return self.video_heads * self.video_head_dim

    @property
    def audio_width(self) -> int:
        return self.audio_heads * self.audio_head_dim

    def describe(self) -> str:
        kind = "LTX-2 audio-video" if self.audio_video else "LTX-Video"
        return f"{kind} ({self.class_name}, {self.layers} blocks, {self.video_heads}x{self.video_head_dim} video heads)"


def _class_names(obj: object) -> list[str]:
    return [cls.__name__ for cls in type(obj).__mro__]


def is_ltx_diffusion_model(diffusion_model: object) -> bool:
    names = _class_names(diffusion_model)
    return LTX_BASE_CLASS in names or LTX_VIDEO_CLASS in names


def _int_attr(obj: object, name: str) -> int:
    value = getattr(obj, name, None)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            f"model: {type(obj).__name__}.{name} must be a positive integer, got {value!r}; "
            "this ComfyUI version's LTX model is not supported"
        )
    return value


def inspect_diffusion_model(diffusion_model: object, owner: str = "model") -> LtxModelInfo:
    """Reads heads and widths from an LTX transformer; raises ValueError for anything else."""
    if not is_ltx_diffusion_model(diffusion_model):
        raise ValueError(
            f"{owner} must be an LTX-Video or LTX-2 model (ComfyUI's {LTX_VIDEO_CLASS} or "
            f"{LTX_AUDIO_VIDEO_CLASS}), got {type(diffusion_model).__name__}"
        )
    audio_video = LTX_AUDIO_VIDEO_CLASS in _class_names(diffusion_model)
    blocks = getattr(diffusion_model, "transformer_blocks", None)
    layers = len(blocks) if blocks is not None and hasattr(blocks, "__len__") else 0
    return LtxModelInfo(
        class_name=type(diffusion_model).__name__,
        audio_video=audio_video,
        video_heads=_int_attr(diffusion_model, "num_attention_heads"),
        video_head_dim=_int_attr(diffusion_model, "attention_head_dim"),
        audio_heads=_int_attr(diffusion_model, "audio_num_attention_heads") if audio_video else 0,
        audio_head_dim=_int_attr(diffusion_model, "audio_attention_head_dim") if audio_video else 0,
        layers=layers,
    )


def inspect_model_patcher(model_patcher: Any, owner: str = "model") -> LtxModelInfo:
    """The LTX transformer behind a ComfyUI ``ModelPatcher``; ValueError naming the class otherwise."""
    base_model = getattr(model_patcher, "model", None)
    if base_model is None:
        raise ValueError(
            f"{owner} must be a ComfyUI MODEL (a ModelPatcher), got {type(model_patcher).__name__}"
        )
    diffusion_model = getattr(base_model, "diffusion_model", None)
    if diffusion_model is None:
        raise ValueError(
            f"{owner} must be an LTX-Video or LTX-2 model, got {type(base_model).__name__} "
            "without a diffusion_model"
        )
    if not is_ltx_diffusion_model(diffusion_model):
        raise ValueError(
            f"{owner} must be an LTX-Video or LTX-2 model (ComfyUI's {LTX_VIDEO_CLASS} or "
            f"{LTX_AUDIO_VIDEO_CLASS}), got {type(base_model).__name__} with diffusion model "
            f"{type(diffusion_model).__name__}"
        )
    return inspect_diffusion_model(diffusion_model, owner)
