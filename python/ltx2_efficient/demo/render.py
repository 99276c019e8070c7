"""Rasterises a scene at given times: anti-aliased signed-distance shapes, numpy only."""

from __future__ import annotations

import numpy as np

from ltx2_efficient.demo.scene import SHADE_FACTOR, Scene, ShapeTrack


def render_frames(scene: Scene, times: np.ndarray, image_size: int) -> np.ndarray:
    """RGB frames in [0, 1], float32 ``[F, image_size, image_size, 3]``, one per time (seconds)."""
    if image_size < 8 or image_size > 1024:
        raise ValueError(f"image_size must be in [8, 1024], got {image_size}")
    t = np.asarray(times, dtype=np.float64).reshape(-1)
    centres = (np.arange(image_size, dtype=np.float32) + 0.5) / image_size
    ys, xs = np.meshgrid(centres, centres, indexing="ij")
    frames = np.broadcast_to(_background(scene, xs, ys), (t.size, image_size, image_size, 3)).copy()
    for track in scene.tracks:
        colour, coverage = _shape_layer(track, t, xs, ys, image_size)
        frames += coverage[..., None] * (colour - frames)
    return frames


def _background(scene: Scene, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    a = np.asarray(scene.background_colours[0], dtype=np.float32)
    b = np.asarray(scene.background_colours[1], dtype=np.float32)
    if scene.background == "plain":
        weight = np.zeros_like(xs)
    elif scene.background == "vertical-gradient":
        weight = ys
    elif scene.background == "horizontal-gradient":
        weight = xs
    elif scene.background == "radial-gradient":
        weight = np.clip(np.hypot(xs - 0.5, ys - 0.5) / 0.7071, 0.0, 1.0)
    else:
        raise ValueError(f"background must be a prompt background, got '{scene.background}'")
    return a + weight[..., None] * (b - a)


def _shape_layer(
    track: ShapeTrack, times: np.ndarray, xs: np.ndarray, ys: np.ndarray, image_size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel colour ``[F, H, W, 3]`` and coverage ``[F, H, W]`` of one shape."""
    pose = track.pose(times)
    cos = np.cos(pose.angle).astype(np.float32)[:, None, None]
    sin = np.sin(pose.angle).astype(np.float32)[:, None, None]
    dx = xs[None] - pose.x.astype(np.float32)[:, None, None]
    dy = ys[None] - pose.y.astype(np.float32)[:, None, None]
    scale = pose.scale.astype(np.float32)[:, None, None]
    # Shape-local coordinates (rotated by -angle, in units of the shape's radius).
    lx = (cos * dx + sin * dy) / (track.radius * scale)
    ly = (-sin * dx + cos * dy) / (track.radius * scale)
    distance = _signed_distance(track.kind, lx, ly) * track.radius * scale * image_size
    coverage = np.clip(0.5 - distance, 0.0, 1.0)
    # Two tones split along the local y axis, blended over one pixel.
    pixel_in_local = 1.0 / (track.radius * scale * image_size)
    light = np.clip(lx / pixel_in_local + 0.5, 0.0, 1.0)[..., None]
    bright = np.asarray(track.colour, dtype=np.float32)
    colour = bright * (SHADE_FACTOR + (1.0 - SHADE_FACTOR) * light)
    return colour, coverage


def _signed_distance(kind: str, lx: np.ndarray, ly: np.ndarray) -> np.ndarray:
    """Signed distance in shape-radius units (negative inside)."""
    if kind == "circle":
        return np.hypot(lx, ly) - 1.0
    if kind == "square":
        return _box(lx, ly, 0.85, 0.85)
    if kind == "bar":
        return _box(lx, ly, 1.35, 0.42)
    if kind == "triangle":
        # Equilateral, circumradius 1.15: the max over the three edge half-planes.
        inradius = 1.15 / 2
        d = np.full_like(lx, -np.inf)
        for k in range(3):
            a = np.pi / 2 + k * 2 * np.pi / 3
            d = np.maximum(d, np.cos(a) * lx + np.sin(a) * ly - inradius)
        return d
    raise ValueError(f"shape must be a prompt shape, got '{kind}'")


def _box(lx: np.ndarray, ly: np.ndarray, half_x: float, half_y: float) -> np.ndarray:
    qx = np.abs(lx) - half_x
    qy = np.abs(ly) - half_y
    outside = np.hypot(np.maximum(qx, 0.0), np.maximum(qy, 0.0))
    return outside + np.minimum(np.maximum(qx, qy), 0.0)
