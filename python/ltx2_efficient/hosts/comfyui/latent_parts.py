"""Splitting ComfyUI LATENT samples into video and audio and reading the guides of a guider.

LTX-2 latents are ``comfy.nested_tensor.NestedTensor((video, audio))`` (video ``[B, 128, F, H, W]``,
audio ``[B, 8, T, 16]``) with an optional nested noise mask; LTXV latents are a plain video
tensor. Keyframe guides (``LTXVAddGuide``) append ``G`` latent frames after the ``F`` grid frames
and store their token positions as ``keyframe_idxs`` ``[B, 3, G*H*W, 2]`` (pixel t, y, x) in the
conditioning.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

TEMPORAL_FACTOR = 8  # pixel frames per latent frame (the first latent frame holds one)
DEFAULT_FRAME_RATE = 25.0  # LTXV's default when no LTXVConditioning sets one


def is_nested(x: Any) -> bool:
    return bool(getattr(x, "is_nested", False))


def split_av(x: Any) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(video, audio or None) of a LATENT's samples or noise."""
    if is_nested(x):
        parts = x.unbind()
        return parts[0], (parts[1] if len(parts) > 1 else None)
    return x, None


def join_av(video: torch.Tensor, audio: torch.Tensor | None) -> Any:
    """The inverse of :func:`split_av` (a NestedTensor when there is audio)."""
    if audio is None:
        return video
    import comfy.nested_tensor

    return comfy.nested_tensor.NestedTensor((video, audio))


def video_mask_of(noise_mask: Any, video: torch.Tensor) -> torch.Tensor | None:
    """The video part of a noise mask, reshaped to the video latent's shape (None = no mask)."""
    if noise_mask is None:
        return None
    mask, _ = split_av(noise_mask)
    if mask is None:
        return None
    import comfy.utils

    return comfy.utils.reshape_mask(mask.to(video.device).float(), video.shape)


def audio_mask_of(noise_mask: Any, audio: torch.Tensor) -> torch.Tensor:
    """The audio part of a noise mask, or ones (fully denoised)."""
    if is_nested(noise_mask):
        parts = noise_mask.unbind()
        if len(parts) > 1 and parts[1] is not None:
            return parts[1]
    return torch.ones_like(audio)


@dataclass(frozen=True)
class GuideInfo:
    """Keyframe guides found in a guider's conditioning."""

    appended_frames: int = 0  # G latent frames appended after the grid frames
    target_frames: tuple[int, ...] = ()  # grid latent frames the guides sit on
    frame_rate: float = DEFAULT_FRAME_RATE


def _conditioning_entries(guider: Any) -> list[dict[str, Any]]:
    conds = getattr(guider, "original_conds", None)
    entries: list[dict[str, Any]] = []
    if isinstance(conds, dict):
        for value in conds.values():
            if isinstance(value, list):
                entries.extend(c for c in value if isinstance(c, dict))
    return entries


def guide_info(guider: Any, latent_frames: int, plane: int) -> GuideInfo:
    """Guides and frame rate from ``guider.original_conds`` (ComfyUI's CFGGuider and subclasses).

    ``latent_frames`` is the video latent's frame count including appended guide frames and
    ``plane`` its H * W.
    """
    keyframe_idxs = None
    frame_rate = DEFAULT_FRAME_RATE
    for entry in _conditioning_entries(guider):
        if keyframe_idxs is None and isinstance(entry.get("keyframe_idxs"), torch.Tensor):
            keyframe_idxs = entry["keyframe_idxs"]
        rate = entry.get("frame_rate")
        if isinstance(rate, (int, float)) and not isinstance(rate, bool) and rate > 0:
            frame_rate = float(rate)
    if keyframe_idxs is None or plane <= 0:
        return GuideInfo(frame_rate=frame_rate)
    tokens = int(keyframe_idxs.shape[2])
    if tokens % plane != 0 or tokens // plane >= latent_frames:
        raise ValueError(
            f"latent_image: the keyframe guides of the conditioning hold {tokens} tokens, which do not "
            f"fill whole frames of the {latent_frames}-frame latent (H*W = {plane})"
        )
    appended = tokens // plane
    grid_frames = latent_frames - appended
    starts = torch.unique(keyframe_idxs[:, 0, :, 0].float()).tolist()
    targets = sorted(
        {min(max(int(p + TEMPORAL_FACTOR - 1) // TEMPORAL_FACTOR, 0), grid_frames - 1) for p in starts}
    )
    return GuideInfo(appended_frames=appended, target_frames=tuple(targets), frame_rate=frame_rate)
