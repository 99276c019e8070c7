"""The arguments of one LTX transformer call, as a ``DIFFUSION_MODEL`` wrapper receives them.

ComfyUI's ``LTXBaseModel.forward`` runs its wrappers as
``executor(x, timestep, context, attention_mask, frame_rate, transformer_options, keyframe_idxs,
denoise_mask=..., **kwargs)``: ``x`` is the video latent ``[B, C, F(+G), H, W]`` for LTXV, or the
list ``[video, audio]`` for LTX-2 (audio ``[B, 8, T, 16]``); ``G`` keyframe-guide frames may be
appended after the ``F`` grid frames, their token positions in ``keyframe_idxs``
``[B, 3, G*H*W, 2]`` (pixel-space t, y, x; start and end). ``DiffusionCall`` reads and rewrites
these by name whether they came positionally or as keywords, and ``CallGeometry`` derives the
token layout the attention override needs (which ComfyUI does not pass to attention).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ltx2_efficient.hosts.comfyui.ltx_model import LtxModelInfo

# Positional order of LTXBaseModel.forward's call into its DIFFUSION_MODEL wrappers.
POSITIONS: dict[str, int] = {
    "x": 0,
    "timestep": 1,
    "context": 2,
    "attention_mask": 3,
    "frame_rate": 4,
    "transformer_options": 5,
    "keyframe_idxs": 6,
}
DEFAULT_FRAME_RATE = 25.0  # LTXBaseModel.forward's default


class DiffusionCall:
    """Mutable view of one wrapper call's ``(args, kwargs)``."""

    def __init__(self, args: tuple[Any, ...] | list[Any], kwargs: dict[str, Any]) -> None:
        self.args = list(args)
        self.kwargs = dict(kwargs)

    def has(self, name: str) -> bool:
        return name in self.kwargs or POSITIONS.get(name, len(self.args)) < len(self.args)

    def get(self, name: str, default: Any = None) -> Any:
        if name in self.kwargs:
            return self.kwargs[name]
        index = POSITIONS.get(name)
        if index is not None and index < len(self.args):
            return self.args[index]
        return default

    def set(self, name: str, value: Any) -> None:
        index = POSITIONS.get(name)
        if name not in self.kwargs and index is not None and index < len(self.args):
            self.args[index] = value
        else:
            self.kwargs[name] = value

    @property
    def transformer_options(self) -> dict[str, Any]:
        options = self.get("transformer_options")
        if not isinstance(options, dict):
            raise TypeError(
                "the LTX DIFFUSION_MODEL call carries no transformer_options dict at position "
                f"{POSITIONS['transformer_options']}; this ComfyUI version is not supported"
            )
        return options

    @property
    def video(self) -> torch.Tensor:
        x = self.get("x")
        return x[0] if isinstance(x, (list, tuple)) else x

    @property
    def audio(self) -> torch.Tensor | None:
        x = self.get("x")
        if isinstance(x, (list, tuple)) and len(x) > 1:
            return x[1]
        return None

    @property
    def frame_rate(self) -> float:
        value = self.get("frame_rate", DEFAULT_FRAME_RATE)
        return float(value) if value is not None else DEFAULT_FRAME_RATE


@dataclass(frozen=True)
class CallGeometry:
    """Token layout of one call's video self-attention.

    ``grid`` is (F, H, W) of the video grid tokens, which come first in the sequence;
    ``global_tokens`` are the appended keyframe-guide tokens that survive ComfyUI's grid mask.
    ``windowable`` is False (with ``reason``) when the sequence cannot be told apart from
    another attention of the same call, or does not follow the grid layout.
    """

    grid: tuple[int, int, int]
    global_tokens: int
    video_tokens: int
    audio_tokens: int
    text_tokens: int
    appended_frames: int
    windowable: bool
    reason: str = ""

    @property
    def grid_tokens(self) -> int:
        f, h, w = self.grid
        return f * h * w


def _text_tokens(context: Any) -> int:
    if isinstance(context, torch.Tensor) and context.dim() >= 2:
        return int(context.shape[-2])
    return 0


def _audio_tokens(audio: torch.Tensor | None, call: DiffusionCall) -> int:
    if audio is None or audio.numel() == 0:
        return 0
    tokens = int(audio.shape[2]) if audio.dim() >= 3 else 0
    reference = call.get("ref_audio")  # ID-LoRA reference tokens are prepended to the audio
    if isinstance(reference, dict) and isinstance(reference.get("tokens"), torch.Tensor):
        tokens += int(reference["tokens"].shape[1])
    return tokens


def call_geometry(call: DiffusionCall, model: LtxModelInfo) -> CallGeometry:
    """The video token layout of ``call`` (see :class:`CallGeometry`)."""
    video = call.video
    if not isinstance(video, torch.Tensor) or video.dim() != 5:
        shape = tuple(video.shape) if isinstance(video, torch.Tensor) else type(video).__name__
        raise ValueError(f"the LTX video latent must be [B, C, F, H, W], got {shape}")
    total_frames, height, width = (int(d) for d in video.shape[2:])
    plane = height * width
    keyframe_idxs = call.get("keyframe_idxs")
    guide_tokens = int(keyframe_idxs.shape[2]) if isinstance(keyframe_idxs, torch.Tensor) else 0
    appended = guide_tokens // plane if plane else 0
    frames = total_frames - appended
    text = _text_tokens(call.get("context"))
    audio = _audio_tokens(call.audio, call)

    def result(windowable: bool, reason: str, kept_guides: int) -> CallGeometry:
        return CallGeometry(
            grid=(max(frames, 0), height, width),
            global_tokens=kept_guides,
            video_tokens=max(frames, 0) * plane + kept_guides,
            audio_tokens=audio,
            text_tokens=text,
            appended_frames=appended,
            windowable=windowable,
            reason=reason,
        )

    if guide_tokens % max(plane, 1) != 0 or frames < 1:
        return result(False, "keyframe guide tokens do not fill whole latent frames", guide_tokens)

    # ComfyUI drops tokens whose denoise mask is negative (see LTXVModel._process_input).
    kept_guides = guide_tokens
    mask = call.get("denoise_mask")
    if guide_tokens and isinstance(mask, torch.Tensor) and mask.dim() == 5:
        first = mask[0, 0].expand(total_frames, height, width) if mask.shape[2] in (1, total_frames) else None
        if first is None:
            return result(False, "the denoise mask does not match the latent frames", guide_tokens)
        if bool((first[:frames] < 0).any()):
            return result(False, "grid tokens are masked out of the sequence", guide_tokens)
        kept_guides = int((first[frames:] >= 0).sum())
    geometry = result(True, "", kept_guides)
    tokens = geometry.video_tokens
    if text == tokens:
        return result(False, "text and video sequences have the same length", kept_guides)
    if (
        model.audio_video
        and audio == tokens
        and model.audio_heads == model.video_heads
        and model.audio_width == model.video_width
    ):
        return result(False, "audio and video sequences have the same length and width", kept_guides)
    return geometry
