"""Which video tokens a rank holds: its own frames of the grid, then every global token."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import torch

from ltx2_efficient import _core


@dataclass(frozen=True)
class RankLayout:
    """One rank's view of a frame split: ``tokens`` (frame-major grid tokens of its own frames,
    then the ``global_tokens`` appended conditioning tokens, held by every rank)."""

    split: _core.FrameSplit
    rank: int

    @property
    def grid(self) -> tuple[int, int, int]:
        g = self.split.grid
        return (g.frames, g.height, g.width)

    @property
    def tokens_per_frame(self) -> int:
        return self.split.grid.height * self.split.grid.width

    @property
    def global_tokens(self) -> int:
        return int(self.split.global_tokens)

    @property
    def owned(self) -> tuple[int, int]:
        r = self.split.ranks[self.rank].owned
        return (r.begin, r.end)

    @property
    def keys(self) -> tuple[int, int]:
        r = self.split.ranks[self.rank].keys
        return (r.begin, r.end)

    @property
    def local_tokens(self) -> int:
        begin, end = self.owned
        return (end - begin) * self.tokens_per_frame + self.global_tokens

    def token_index(self, device: torch.device | str | None = None) -> torch.Tensor:
        """Indices of this rank's tokens in the full sequence (grid tokens, then globals)."""
        begin, end = self.owned
        hw = self.tokens_per_frame
        total_grid = self.grid[0] * hw
        own = torch.arange(begin * hw, end * hw, device=device)
        glob = torch.arange(total_grid, total_grid + self.global_tokens, device=device)
        return torch.cat((own, glob))


@lru_cache(maxsize=32)
def _split(
    grid: tuple[int, int, int], global_tokens: int, window: int, anchor: bool, ranks: int
) -> _core.FrameSplit:
    shape = _core.LatentShape(*grid)
    return _core.make_frame_split(shape, global_tokens, _core.WindowSpec(window, anchor, 0), ranks)


def rank_layout(
    grid: tuple[int, int, int], global_tokens: int, *, window: int, anchor_frame: bool, ranks: int, rank: int
) -> RankLayout:
    """The layout of ``rank`` among ``ranks`` (the split is cached per grid and window)."""
    if not 0 <= rank < ranks:
        raise ValueError(f"rank must be in [0, {ranks - 1}], got {rank}")
    return RankLayout(
        _split(tuple(grid), int(global_tokens), int(window), bool(anchor_frame), int(ranks)), rank
    )
