"""Clips and training batches: scenes rendered on a latent frame-time grid.

A clip of ``frames`` latent frames at ``frame_rate`` covers the same seconds as a clip of
``(frames - 1) * s + 1`` frames at ``frame_rate * s``: training on both teaches the model what a
lower frame rate looks like, so that keyframe diffusion at ``frame_rate / s`` stays in
distribution.
"""

from __future__ import annotations

import numpy as np

from ltx2_efficient.demo.positions import PIXEL_FRAMES_PER_LATENT
from ltx2_efficient.demo.prompt import PROMPT_TOKENS, DemoPrompt, random_prompt
from ltx2_efficient.demo.render import render_frames
from ltx2_efficient.demo.scene import Scene, sample_scene


def clip_duration(frames: int, frame_rate: float) -> float:
    """Seconds from the first to the last latent frame."""
    return (frames - 1) * PIXEL_FRAMES_PER_LATENT / frame_rate


def frame_times(frames: int, frame_rate: float) -> np.ndarray:
    return np.arange(frames, dtype=np.float64) * PIXEL_FRAMES_PER_LATENT / frame_rate


def render_clip(scene: Scene, frames: int, frame_rate: float, image_size: int) -> np.ndarray:
    """RGB float32 ``[frames, image_size, image_size, 3]`` in [0, 1]."""
    if frames < 1 or frames > 512:
        raise ValueError(f"frames must be in [1, 512], got {frames}")
    return render_frames(scene, frame_times(frames, frame_rate), image_size)


def make_clip(
    prompt: DemoPrompt, seed: int, frames: int, frame_rate: float, image_size: int
) -> tuple[Scene, np.ndarray]:
    """A deterministic clip for ``(prompt, seed)``: the same arguments give the same pixels."""
    rng = np.random.default_rng(seed)
    scene = sample_scene(prompt, rng, clip_duration(max(frames, 2), frame_rate))
    return scene, render_clip(scene, frames, frame_rate, image_size)


def training_batch(
    rng: np.random.Generator, batch: int, frames: int, frame_rate: float, image_size: int
) -> tuple[np.ndarray, np.ndarray]:
    """``batch`` random fully specified clips: pixels float32 ``[B, F, S, S, 3]``, prompt ids int64 ``[B, 4]``."""
    if batch < 1:
        raise ValueError(f"batch must be >= 1, got {batch}")
    pixels = np.empty((batch, frames, image_size, image_size, 3), dtype=np.float32)
    ids = np.empty((batch, PROMPT_TOKENS), dtype=np.int64)
    duration = clip_duration(max(frames, 2), frame_rate)
    for i in range(batch):
        prompt = random_prompt(rng)
        scene = sample_scene(prompt, rng, duration)
        pixels[i] = render_clip(scene, frames, frame_rate, image_size)
        ids[i] = prompt.token_ids()
    return pixels, ids
