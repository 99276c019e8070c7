"""Judge clips and training batches: the poses are drawn on the CPU, the pixels on any device.

A worker process only draws scenes and evaluates their poses (a few hundred numbers a clip);
``JudgeBatch.pixels_on`` rasterises the whole batch where training runs, so 64x64 clips of
several shapes cost the CPU almost nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from ltx2_efficient.demo.clip_stream import StreamSpec, strided_frames
from ltx2_efficient.demo.clips import clip_duration, frame_times
from ltx2_efficient.demo.judge_render import render_batch
from ltx2_efficient.demo.judge_scene import JudgeScene, sample_judge_scene, scene_arrays, stack_arrays
from ltx2_efficient.demo.prompt import PROMPT_TOKENS, DemoPrompt, random_prompt


@dataclass(frozen=True)
class JudgeBatch:
    arrays: dict[str, np.ndarray]  # judge_scene.stack_arrays of the clips
    prompt_ids: torch.Tensor  # int64 [B, 4]
    frame_rate: float
    stride: int
    image_size: int

    def pixels_on(self, device: torch.device | str) -> torch.Tensor:
        """Float pixels ``[B, F, S, S, 3]`` in [0, 1], rendered on ``device``."""
        return render_batch(self.arrays, self.image_size, device)


def make_judge_clip(
    prompt: DemoPrompt, seed: int, frames: int, frame_rate: float, image_size: int
) -> tuple[JudgeScene, np.ndarray]:
    """A deterministic clip for ``(prompt, seed)``: pixels float32 ``[frames, S, S, 3]`` in [0, 1]."""
    if not 1 <= frames <= 512:
        raise ValueError(f"frames must be in [1, 512], got {frames}")
    rng = np.random.default_rng(seed)
    scene = sample_judge_scene(prompt, rng, clip_duration(max(frames, 2), frame_rate))
    arrays = stack_arrays([scene_arrays(scene, frame_times(frames, frame_rate))])
    return scene, render_batch(arrays, image_size, "cpu")[0].numpy()


def judge_batch(rng: np.random.Generator, spec: StreamSpec, stride: int) -> JudgeBatch:
    """One batch of random fully specified prompts at frame stride ``stride``."""
    frames = strided_frames(spec.frames, stride)
    jitter = 1.0 + spec.frame_rate_jitter * float(rng.uniform(-1.0, 1.0))
    frame_rate = spec.frame_rate / stride * jitter
    clips = max(1, round(spec.clips_per_batch * spec.frames / frames))
    duration = clip_duration(max(frames, 2), frame_rate)
    times = frame_times(frames, frame_rate)
    items, ids = [], np.empty((clips, PROMPT_TOKENS), dtype=np.int64)
    for i in range(clips):
        prompt = random_prompt(rng)
        items.append(scene_arrays(sample_judge_scene(prompt, rng, duration), times))
        ids[i] = prompt.token_ids()
    return JudgeBatch(stack_arrays(items), torch.from_numpy(ids), frame_rate, stride, spec.image_size)


class JudgeStream(torch.utils.data.IterableDataset):
    """Yields ``JudgeBatch`` forever at random strides; each worker has its own seeded generator."""

    def __init__(self, spec: StreamSpec) -> None:
        super().__init__()
        self.spec = spec

    def __iter__(self) -> Iterator[JudgeBatch]:
        info = torch.utils.data.get_worker_info()
        rng = np.random.default_rng([self.spec.seed, 0 if info is None else info.id, 17])
        weights = np.asarray(self.spec.stride_weights, dtype=np.float64)
        weights = weights / weights.sum()
        while True:
            yield judge_batch(rng, self.spec, int(rng.choice(len(weights), p=weights)) + 1)
