"""Where a demo model's self-attention goes: mass by frame distance and by spatial distance.

During a dense reference run, every block's self-attention is observed on a fixed sample of
query tokens (the rest of the computation is untouched): their softmax rows over all keys are
binned by the frame distance ``|f_q - f_k|`` and by the spatial Chebyshev distance
``max(|y_q - y_k|, |x_q - x_k|)`` in latent tokens. The joint histogram is kept per step, block
and head, so every question a window pattern raises (how much mass lies within +-K frames, how
far a head reaches in space, which heads look only at their own frame and which along time, at
which steps) is a sum over it. Uniform attention's histogram (the share of keys in each bin) is
kept beside it: a share means little without the share the same bins hold by chance.

Only the conditional half of a CFG batch is observed (batch entry 0).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch


@dataclass(frozen=True)
class TokenGrid:
    """The latent grid a call's tokens come from, in ltx-core's (frame, row, column) order."""

    frames: int
    height: int
    width: int

    @property
    def tokens(self) -> int:
        return self.frames * self.height * self.width

    @property
    def spatial_bins(self) -> int:
        return max(self.height, self.width)

    def coordinates(self) -> torch.Tensor:
        """``[tokens, 3]`` int64 (frame, row, column) of every token."""
        f, y, x = torch.meshgrid(
            torch.arange(self.frames), torch.arange(self.height), torch.arange(self.width), indexing="ij"
        )
        return torch.stack([f.reshape(-1), y.reshape(-1), x.reshape(-1)], dim=1)


def sample_queries(grid: TokenGrid, per_frame: int, seed: int = 0) -> torch.Tensor:
    """The observed query tokens: ``per_frame`` random positions in every frame (sorted)."""
    spatial = grid.height * grid.width
    if not 1 <= per_frame <= spatial:
        raise ValueError(f"per_frame must be in [1, {spatial}], got {per_frame}")
    generator = torch.Generator().manual_seed(seed)
    picks = [
        f * spatial + torch.randperm(spatial, generator=generator)[:per_frame] for f in range(grid.frames)
    ]
    return torch.sort(torch.cat(picks)).values


def bin_index(grid: TokenGrid, queries: torch.Tensor) -> torch.Tensor:
    """``[Q, tokens]`` int64: the joint bin ``df * spatial_bins + r`` of every (query, key) pair."""
    coords = grid.coordinates()
    q = coords[queries]
    df = (q[:, None, 0] - coords[None, :, 0]).abs()
    r = torch.maximum((q[:, None, 1] - coords[None, :, 1]).abs(), (q[:, None, 2] - coords[None, :, 2]).abs())
    return df * grid.spatial_bins + r


class LocalityRecorder:
    """Accumulates the joint (frame distance, spatial distance) attention mass of every block.

    ``mass[step, block, head, df, r]`` sums the observed queries' attention probabilities that
    fall in the bin, divided by the number of queries (so every (step, block, head) sums to 1
    over its bins); ``uniform[df, r]`` is the same for attention spread evenly over all keys.
    """

    def __init__(self, grid: TokenGrid, blocks: int, heads: int, steps: int, per_frame: int, seed: int = 0):
        self.grid = grid
        self.queries = sample_queries(grid, per_frame, seed)
        self.bins = bin_index(grid, self.queries)
        bins_total = grid.frames * grid.spatial_bins
        counts = torch.zeros(bins_total, dtype=torch.float64)
        counts.scatter_add_(0, self.bins.reshape(-1), torch.ones(self.bins.numel(), dtype=torch.float64))
        self.uniform = (counts / (self.queries.numel() * grid.tokens)).reshape(grid.frames, grid.spatial_bins)
        self.mass = torch.zeros(steps, blocks, heads, bins_total, dtype=torch.float64)
        self.step = 0

    def observe(self, block: int, q: torch.Tensor, k: torch.Tensor, heads: int) -> None:
        """q, k ``[B, tokens, heads * d]`` after RoPE, as ltx-core hands them to attention."""
        if q.shape[1] != self.grid.tokens:
            raise ValueError(f"attention saw {q.shape[1]} tokens, the grid has {self.grid.tokens}")
        d = q.shape[-1] // heads
        qh = q[0, self.queries.to(q.device)].float().reshape(-1, heads, d).transpose(0, 1)
        kh = k[0].float().reshape(-1, heads, d).transpose(0, 1)
        probs = torch.softmax(qh @ kh.transpose(1, 2) * d**-0.5, dim=-1).double().cpu()  # [H, Q, N]
        binned = torch.zeros(heads, self.mass.shape[-1], dtype=torch.float64)
        binned.scatter_add_(1, self.bins.reshape(1, -1).expand(heads, -1), probs.reshape(heads, -1))
        self.mass[self.step, block] += binned / self.queries.numel()

    def result(self, steps_run: int) -> LocalityResult:
        g = self.grid
        mass = self.mass[:steps_run].reshape(steps_run, *self.mass.shape[1:3], g.frames, g.spatial_bins)
        return LocalityResult(mass.numpy(), self.uniform.numpy())


class _ObservedAttention:
    """Stands in for a block's attention function: reports q and k, then runs the original."""

    def __init__(self, original: Any, block: int, recorder: LocalityRecorder):
        self.original = original
        self.block = block
        self.recorder = recorder

    def __call__(
        self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        self.recorder.observe(self.block, q, k, heads)
        return self.original(q, k, v, heads, mask)


@contextmanager
def observing(transformer: torch.nn.Module, recorder: LocalityRecorder) -> Iterator[None]:
    """Observes every block's self-attention (``attn1``) of an ltx-core ``LTXModel``."""
    blocks = list(transformer.transformer_blocks)
    originals = [block.attn1.attention_function for block in blocks]
    try:
        for i, block in enumerate(blocks):
            block.attn1.attention_function = _ObservedAttention(originals[i], i, recorder)
        yield
    finally:
        for block, original in zip(blocks, originals, strict=True):
            block.attn1.attention_function = original


@dataclass
class LocalityResult:
    """``mass [steps, blocks, heads, frame distance, spatial distance]`` and ``uniform [df, r]``."""

    mass: np.ndarray
    uniform: np.ndarray

    @staticmethod
    def mean(results: list[LocalityResult]) -> LocalityResult:
        """The mean of results of the same shape (e.g. several requests)."""
        if not results:
            raise ValueError("results must hold at least one LocalityResult")
        return LocalityResult(
            np.mean([r.mass for r in results], axis=0), np.mean([r.uniform for r in results], axis=0)
        )

    def frame_mass(self) -> np.ndarray:
        """``[steps, blocks, heads, df]``: the mass at each frame distance."""
        return self.mass.sum(axis=-1)

    def within_frames(self, k: int) -> np.ndarray:
        """``[steps, blocks, heads]``: the share of attention within +-``k`` frames."""
        return self.frame_mass()[..., : k + 1].sum(axis=-1)

    def uniform_within_frames(self, k: int) -> float:
        return float(self.uniform.sum(axis=-1)[: k + 1].sum())

    def within_space(self, r: int) -> np.ndarray:
        """``[steps, blocks, heads]``: the share within spatial (Chebyshev) distance ``r``, any frame."""
        return self.mass[..., : r + 1].sum(axis=(-1, -2))

    def uniform_within_space(self, r: int) -> float:
        return float(self.uniform[:, : r + 1].sum())

    def within_tile(self, k: int, r: int) -> np.ndarray:
        """``[steps, blocks, heads]``: the share inside a +-k frame, +-r token 3D window (STA-like)."""
        return self.mass[..., : k + 1, : r + 1].sum(axis=(-1, -2))

    def uniform_within_tile(self, k: int, r: int) -> float:
        return float(self.uniform[: k + 1, : r + 1].sum())

    def same_position_other_frames(self) -> np.ndarray:
        """``[steps, blocks, heads]``: mass on the query's own position in other frames (temporal)."""
        return self.mass[..., 1:, 0].sum(axis=-1)

    def frames_for_share(self, share: float) -> np.ndarray:
        """``[steps, blocks, heads]``: the smallest K whose +-K frames hold ``share`` of the mass."""
        cumulative = np.cumsum(self.frame_mass(), axis=-1)
        return (cumulative < share - 1e-12).sum(axis=-1)

    def to_json(self) -> dict[str, Any]:
        return {"mass": self.mass.round(7).tolist(), "uniform": self.uniform.round(7).tolist()}

    @staticmethod
    def from_json(data: dict[str, Any]) -> LocalityResult:
        return LocalityResult(np.asarray(data["mass"]), np.asarray(data["uniform"]))
