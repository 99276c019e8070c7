"""An endless stream of training batches at random frame strides, rendered in worker processes.

Each batch has one frame stride ``s``: ``ceil((frames - 1) / s) + 1`` latent frames at
``frame_rate / s`` (times a small jitter), i.e. the clip length the sampler diffuses when it
keeps every s-th frame. The clip count per batch is scaled so that every batch holds about the
same number of tokens.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from ltx2_efficient.demo.clips import training_batch


@dataclass(frozen=True)
class StreamSpec:
    image_size: int
    patch: int
    frames: int  # full-rate clip length in latent frames
    frame_rate: float
    clips_per_batch: int  # at the full frame rate; shorter clips get proportionally more
    stride_weights: tuple[float, ...] = (0.45, 0.25, 0.1, 0.2)  # for strides 1, 2, 3, ...
    frame_rate_jitter: float = 0.1
    seed: int = 0


@dataclass(frozen=True)
class StreamBatch:
    pixels: torch.Tensor  # uint8 [B, F, S, S, 3]
    prompt_ids: torch.Tensor  # int64 [B, 4]
    frame_rate: float
    stride: int

    def pixels_on(self, device: torch.device | str) -> torch.Tensor:
        """Float pixels ``[B, F, S, S, 3]`` in [0, 1] on ``device``."""
        return self.pixels.to(device, non_blocking=True).float() / 255.0


def strided_frames(frames: int, stride: int) -> int:
    """Latent frames kept by keyframe diffusion with ``stride``: ceil((frames - 1) / stride) + 1."""
    return math.ceil((frames - 1) / stride) + 1


class ClipStream(torch.utils.data.IterableDataset):
    """Yields ``StreamBatch`` forever; each worker draws from its own seeded generator."""

    def __init__(self, spec: StreamSpec) -> None:
        super().__init__()
        self.spec = spec

    def __iter__(self) -> Iterator[StreamBatch]:
        info = torch.utils.data.get_worker_info()
        worker = 0 if info is None else info.id
        rng = np.random.default_rng([self.spec.seed, worker])
        weights = np.asarray(self.spec.stride_weights, dtype=np.float64)
        weights = weights / weights.sum()
        while True:
            yield next_batch(rng, self.spec, int(rng.choice(len(weights), p=weights)) + 1)


def next_batch(rng: np.random.Generator, spec: StreamSpec, stride: int) -> StreamBatch:
    frames = strided_frames(spec.frames, stride)
    jitter = 1.0 + spec.frame_rate_jitter * float(rng.uniform(-1.0, 1.0))
    frame_rate = spec.frame_rate / stride * jitter
    clips = max(1, round(spec.clips_per_batch * spec.frames / frames))
    pixels, ids = training_batch(rng, clips, frames, frame_rate, spec.image_size)
    quantised = np.clip(np.rint(pixels * 255.0), 0, 255).astype(np.uint8)
    return StreamBatch(torch.from_numpy(quantised), torch.from_numpy(ids), frame_rate, stride)
