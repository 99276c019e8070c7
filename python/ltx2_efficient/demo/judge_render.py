"""Rasterises judge scenes on any torch device: a batch of clips in one pass (GPU for training).

The same anti-aliased signed distances and two-tone shading as ``render`` (the numpy renderer of
the demo model's scenes), evaluated for every shape of every clip at once; landmarks are soft
discs a little brighter or darker than the background.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ltx2_efficient.demo.scene import SHADE_FACTOR

LANDMARK_SOFTNESS_PX = 1.5


def render_batch(arrays: dict[str, np.ndarray], image_size: int, device: torch.device | str) -> torch.Tensor:
    """Pixels ``[B, F, S, S, 3]`` float32 in [0, 1] from ``judge_scene.stack_arrays`` output."""
    if not 8 <= image_size <= 1024:
        raise ValueError(f"image_size must be in [8, 1024], got {image_size}")
    a = {k: torch.as_tensor(v, device=device) for k, v in arrays.items()}
    f32 = torch.float32
    centres = (torch.arange(image_size, device=device, dtype=f32) + 0.5) / image_size
    ys = centres.view(1, 1, image_size, 1)
    xs = centres.view(1, 1, 1, image_size)
    frames = _background(a, xs, ys)  # [B, 1 or F, S, S, 3] -> broadcast below
    b, n_shapes, f = a["x"].shape
    frames = frames.expand(b, f, image_size, image_size, 3).clone()
    frames = _landmarks(frames, a, xs, ys, image_size)
    for i in range(n_shapes):
        colour, coverage = _shape(a, i, xs, ys, image_size)
        frames = frames + coverage[..., None] * (colour - frames)
    return frames.clamp(0.0, 1.0)


def _background(a: dict[str, torch.Tensor], xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
    style = a["background"].view(-1, 1, 1, 1)
    radial = (torch.hypot(xs - 0.5, ys - 0.5) / 0.7071).clamp(0.0, 1.0)
    zero = torch.zeros_like(radial)
    weight = torch.where(
        style == 0,
        zero,
        torch.where(style == 1, ys + zero, torch.where(style == 2, xs + zero, radial)),
    )  # [B, 1, S, S]
    c = a["background_colours"].float()
    return c[:, None, None, None, 0] + weight[..., None] * (
        c[:, None, None, None, 1] - c[:, None, None, None, 0]
    )


def _landmarks(
    frames: torch.Tensor, a: dict[str, torch.Tensor], xs: torch.Tensor, ys: torch.Tensor, size: int
) -> torch.Tensor:
    xy = a["landmark_xy"].float()  # [B, L, F, 2]
    for j in range(xy.shape[1]):
        dx = xs - xy[:, j, :, 0, None, None]
        dy = ys - xy[:, j, :, 1, None, None]
        distance_px = (torch.hypot(dx, dy) - a["landmark_radius"][:, j, None, None, None].float()) * size
        coverage = (0.5 - distance_px / (2 * LANDMARK_SOFTNESS_PX)).clamp(0.0, 1.0)
        frames = frames + (coverage * a["landmark_offset"][:, j, None, None, None].float())[..., None]
    return frames


def _shape(
    a: dict[str, torch.Tensor], i: int, xs: torch.Tensor, ys: torch.Tensor, size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Colour ``[B, F, S, S, 3]`` and coverage ``[B, F, S, S]`` of shape ``i`` of every clip."""
    radius = a["radius"][:, i].float().view(-1, 1, 1, 1)
    present = radius > 0
    radius = torch.where(present, radius, torch.ones_like(radius))
    angle = a["angle"][:, i].float()[..., None, None]
    scale = a["scale"][:, i].float()[..., None, None]
    cos, sin = torch.cos(angle), torch.sin(angle)
    dx = xs - a["x"][:, i].float()[..., None, None]
    dy = ys - a["y"][:, i].float()[..., None, None]
    unit = radius * scale
    lx = (cos * dx + sin * dy) / unit
    ly = (-sin * dx + cos * dy) / unit
    distance = _signed_distance(a["kind"][:, i].view(-1, 1, 1, 1), lx, ly) * unit * size
    coverage = torch.where(present, (0.5 - distance).clamp(0.0, 1.0), torch.zeros_like(distance))
    light = (lx * unit * size + 0.5).clamp(0.0, 1.0)[..., None]
    bright = a["colour"][:, i].float()[:, None, None, None, :]
    return bright * (SHADE_FACTOR + (1.0 - SHADE_FACTOR) * light), coverage


def _signed_distance(kind: torch.Tensor, lx: torch.Tensor, ly: torch.Tensor) -> torch.Tensor:
    """Signed distance in shape-radius units for kinds circle, square, triangle, bar (SHAPES order)."""
    circle = torch.hypot(lx, ly) - 1.0
    square = _box(lx, ly, 0.85, 0.85)
    bar = _box(lx, ly, 1.35, 0.42)
    inradius = 1.15 / 2
    triangle = torch.full_like(lx, -math.inf)
    for k in range(3):
        t = math.pi / 2 + k * 2 * math.pi / 3
        triangle = torch.maximum(triangle, math.cos(t) * lx + math.sin(t) * ly - inradius)
    return torch.where(
        kind == 0, circle, torch.where(kind == 1, square, torch.where(kind == 2, triangle, bar))
    )


def _box(lx: torch.Tensor, ly: torch.Tensor, half_x: float, half_y: float) -> torch.Tensor:
    qx = lx.abs() - half_x
    qy = ly.abs() - half_y
    outside = torch.hypot(qx.clamp(min=0.0), qy.clamp(min=0.0))
    return outside + torch.maximum(qx, qy).clamp(max=0.0)
