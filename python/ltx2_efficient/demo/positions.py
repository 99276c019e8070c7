"""LTX-2 positional coordinates of a latent grid, built the way ltx-core builds them.

The demo latent stands in for LTX-2's: one latent frame counts as ``PIXEL_FRAMES_PER_LATENT``
pixel frames and one token as a 32x32 pixel tile in the positions (ltx-core's default scale
factors, causal first frame), and the time axis is divided by the frame rate. So the demo model
is conditioned on frame rate exactly like LTX-2, and a sampler that builds LTX-2 positions for
``frame_rate / s`` drives it in distribution.
"""

from __future__ import annotations

import torch
from ltx_core.components.patchifiers import VideoLatentPatchifier, get_pixel_coords
from ltx_core.types import SpatioTemporalScaleFactors, VideoLatentShape

PIXEL_FRAMES_PER_LATENT = 8
SCALE_FACTORS = SpatioTemporalScaleFactors.default()


def latent_frame_times(frames: int, frame_rate: float) -> torch.Tensor:
    """Time in seconds at which each latent frame's content is rendered (its first pixel frame)."""
    _check_frame_rate(frame_rate)
    return torch.arange(frames, dtype=torch.float64) * PIXEL_FRAMES_PER_LATENT / frame_rate


def video_positions(
    batch: int,
    frames: int,
    height: int,
    width: int,
    frame_rate: float,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """Positions ``[batch, 3, frames*height*width, 2]`` (float32), time axis in seconds."""
    _check_frame_rate(frame_rate)
    shape = VideoLatentShape(batch=batch, channels=1, frames=frames, height=height, width=width)
    bounds = VideoLatentPatchifier(patch_size=1).get_patch_grid_bounds(shape, device=torch.device(device))
    positions = get_pixel_coords(bounds, SCALE_FACTORS, causal_fix=True).float()
    positions[:, 0] = positions[:, 0] / frame_rate
    return positions


def _check_frame_rate(frame_rate: float) -> None:
    if not 0.1 <= frame_rate <= 1000:
        raise ValueError(f"frame_rate must be in [0.1, 1000] frames per second, got {frame_rate}")
