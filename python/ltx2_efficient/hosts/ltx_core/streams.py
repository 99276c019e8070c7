"""Token layouts and per-modality state of the ltx-core sampling loop.

ltx-core's transformer takes tokens ``(B, T, C)``: the video grid ``[B, C, F, H, W]`` flattened in
frame-major order (plus appended guide tokens), the audio ``[B, C, T, M]`` as one token per time
step. A :class:`Stream` is one modality's state in those tokens: the current latent, its denoise
mask, the clean conditioning it keeps, positions and contexts, and its step-reuse controller.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from ltx2_efficient.hosts.ltx_core.positions import video_positions
from ltx2_efficient.sampler.reuse import StepReuse


def video_tokens(x: torch.Tensor) -> torch.Tensor:
    return x.flatten(2).transpose(1, 2)  # [B, C, F, H, W] -> (B, F*H*W, C)


def video_grid(tokens: torch.Tensor, grid: tuple[int, int, int]) -> torch.Tensor:
    """The first F*H*W tokens back to ``[B, C, F, H, W]`` (appended guide tokens dropped)."""
    b, _, c = tokens.shape
    return tokens[:, : math.prod(grid)].transpose(1, 2).reshape(b, c, *grid)


def audio_tokens(x: torch.Tensor) -> torch.Tensor:
    b, c, t, m = x.shape
    return x.permute(0, 2, 1, 3).reshape(b, t, c * m)


def audio_grid(tokens: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    b, c, t, m = shape
    return tokens.reshape(b, t, c, m).permute(0, 2, 1, 3)


def default_audio_positions(latent: torch.Tensor) -> torch.Tensor:
    from ltx_core.components.patchifiers import AudioPatchifier
    from ltx_core.types import AudioLatentShape

    b, c, t, m = latent.shape
    return AudioPatchifier(patch_size=1).get_patch_grid_bounds(
        AudioLatentShape(b, c, t, m), device=latent.device
    )


@dataclass
class Stream:
    """One modality's state, as tokens."""

    x: torch.Tensor  # (B, T, C) current latent
    mask: torch.Tensor  # (B, T, 1) float32 denoise mask
    clean: torch.Tensor  # (B, T, C)
    positions: torch.Tensor
    context: torch.Tensor
    negative_context: torch.Tensor | None
    reuse: StepReuse | None = None
    denoised: torch.Tensor | None = None  # the last step's denoised estimate (B, T, C)


@dataclass(frozen=True)
class GuideParts:
    """Appended guide tokens: clean latent, denoise mask and positions."""

    latent: torch.Tensor  # (B, G, C)
    mask: torch.Tensor  # (B, G, 1)
    positions: torch.Tensor  # (B, 3, G, 2)


def video_stream(
    latent: torch.Tensor,
    mask: torch.Tensor,
    clean: torch.Tensor,
    fps: float,
    context: torch.Tensor,
    negative_context: torch.Tensor | None,
    guides: GuideParts | None = None,
) -> Stream:
    """The video stream of ``latent`` ``[B, C, F, H, W]`` with positions at ``fps``."""
    b = latent.shape[0]
    grid = tuple(latent.shape[2:])
    x = video_tokens(latent)
    m = video_tokens(mask)
    c = video_tokens(clean.to(latent.dtype))
    pos = video_positions(b, grid, fps, device=latent.device, dtype=latent.dtype)
    if guides is not None:
        g = guides.latent.to(device=x.device, dtype=x.dtype)
        x = torch.cat([x, g], dim=1)
        m = torch.cat([m, guides.mask.to(m.device)], dim=1)
        c = torch.cat([c, g], dim=1)
        pos = torch.cat([pos, guides.positions.to(device=pos.device, dtype=pos.dtype)], dim=2)
    return Stream(x=x, mask=m, clean=c, positions=pos, context=context, negative_context=negative_context)


def audio_stream(audio: Any, latent: torch.Tensor, mask: torch.Tensor | None, clean: torch.Tensor) -> Stream:
    """The audio stream of ``latent`` ``[B, C, T, M]`` (``audio`` is the caller's AudioStream)."""
    b = latent.shape[0]
    x = audio_tokens(latent)
    if mask is None:
        m = torch.ones((b, x.shape[1], 1), dtype=torch.float32, device=x.device)
    else:
        m = mask.to(device=x.device, dtype=torch.float32).reshape(b, x.shape[1], 1)
    pos = audio.positions if audio.positions is not None else default_audio_positions(latent)
    return Stream(
        x=x,
        mask=m,
        clean=audio_tokens(clean.to(latent.dtype)),
        positions=pos.to(latent.device),
        context=audio.context,
        negative_context=audio.negative_context,
    )
