"""Activation budget: run the feed-forward and dense attention over token chunks.

Peak activation memory of a video block grows with the token count; the feed-forward's hidden
layer (4x the width) and a dense attention's score matrix dominate it. Both are independent per
token (per query row for attention), so running them over chunks of tokens gives the same result
to rounding while holding only one chunk's intermediates at a time.

The chunk size comes from the C++ cost model (:func:`chunk_tokens_for_budget`, which uses
``_core.model_call_cost(...).chunk_tokens``: the largest chunk whose predicted peak fits the
budget). The windowed attention kernels never materialise the score matrix, so they need no
chunking.

- :func:`chunk_tokens_for_budget` -> tokens per chunk for a model, grid and budget in MB;
- :class:`ChunkedFeedForward` wraps a feed-forward module (tokens on dim 1);
- :func:`chunked_attention` runs any per-query-row attention callable over query chunks.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ltx2_efficient import _core

AttentionFn = Callable[..., torch.Tensor]


def model_dims(
    *,
    blocks: int,
    heads: int,
    head_dim: int,
    ff_mult: int = 4,
    context_dim: int | None = None,
    in_channels: int = 128,
    text_tokens: int = 1024,
    dtype: torch.dtype = torch.bfloat16,
) -> _core.ModelDims:
    """``_core.ModelDims`` for a model's video stream (activation and weight bytes from dtype)."""
    dims = _core.ModelDims()
    dims.blocks = blocks
    dims.heads = heads
    dims.head_dim = head_dim
    dims.ff_mult = ff_mult
    dims.context_dim = context_dim if context_dim is not None else heads * head_dim
    dims.in_channels = in_channels
    dims.text_tokens = text_tokens
    size = torch.empty((), dtype=dtype).element_size()
    dims.activation_bytes = size
    dims.weight_bytes = size
    return dims


def chunk_tokens_for_budget(
    dims: _core.ModelDims,
    grid: tuple[int, int, int],
    budget_mb: int,
    *,
    global_tokens: int = 0,
    batch: int = 1,
    window: _core.WindowSpec | None = None,
) -> int:
    """Tokens per chunk that keep one block's predicted peak activations under ``budget_mb``.

    Returns the total token count when the budget is 0 (unbounded) or already met unchunked.
    The cost model never goes below its minimum chunk (256 tokens); ``budget_met`` of
    :func:`predicted_peak` says whether the budget can be met at all.
    """
    if isinstance(budget_mb, bool) or not isinstance(budget_mb, int) or budget_mb < 0:
        raise ValueError(f"activation_budget_mb must be an integer >= 0, got {budget_mb!r}")
    plan = _core.WindowPlan(_core.LatentShape(*grid), global_tokens, window or _core.WindowSpec())
    return int(_core.model_call_cost(dims, plan, batch, budget_mb).chunk_tokens)


def predicted_peak(
    dims: _core.ModelDims,
    grid: tuple[int, int, int],
    budget_mb: int,
    *,
    global_tokens: int = 0,
    batch: int = 1,
) -> tuple[float, bool]:
    """(predicted peak activation bytes of one block, whether the budget is met)."""
    plan = _core.WindowPlan(_core.LatentShape(*grid), global_tokens, _core.WindowSpec())
    cost = _core.model_call_cost(dims, plan, batch, budget_mb)
    return float(cost.peak_activation_bytes), bool(cost.budget_met)


def _check_chunk(chunk_tokens: int) -> None:
    if isinstance(chunk_tokens, bool) or not isinstance(chunk_tokens, int) or chunk_tokens < 1:
        raise ValueError(f"chunk_tokens must be an integer >= 1, got {chunk_tokens!r}")


class ChunkedFeedForward(torch.nn.Module):
    """Runs ``inner`` over chunks of ``chunk_tokens`` tokens along dim 1 of ``[B, T, D]``.

    ``chunk_tokens`` may be changed between calls (the grid, and so the chunk, changes per
    phase). Inputs of at most ``chunk_tokens`` tokens go straight through.
    """

    def __init__(self, inner: torch.nn.Module, chunk_tokens: int) -> None:
        super().__init__()
        _check_chunk(chunk_tokens)
        self.inner = inner
        self.chunk_tokens = chunk_tokens
        self.chunked_calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = x.shape[1]
        if tokens <= self.chunk_tokens:
            return self.inner(x)
        self.chunked_calls += 1
        first = self.inner(x[:, : self.chunk_tokens])
        out = first.new_empty((x.shape[0], tokens, *first.shape[2:]))
        out[:, : self.chunk_tokens] = first
        del first
        for start in range(self.chunk_tokens, tokens, self.chunk_tokens):
            end = min(start + self.chunk_tokens, tokens)
            out[:, start:end] = self.inner(x[:, start:end])
        return out


def chunked_attention(
    attention: AttentionFn,
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    heads: int,
    chunk_tokens: int,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """``attention(q, k, v, heads, mask)`` over query chunks of ``chunk_tokens`` rows.

    For callables whose output rows depend only on their own query row (dense attention, with
    or without a mask); q, k, v are ``[B, T, heads * D]``. A mask whose query dimension equals
    the query length is sliced with the queries.
    """
    _check_chunk(chunk_tokens)
    tokens = q.shape[1]
    if tokens <= chunk_tokens:
        return attention(q, k, v, heads, mask)
    parts = []
    for start in range(0, tokens, chunk_tokens):
        end = min(start + chunk_tokens, tokens)
        part_mask = mask
        if mask is not None and mask.dim() >= 2 and mask.shape[-2] == tokens:
            part_mask = mask[..., start:end, :]
        parts.append(attention(q[:, start:end], k, v, heads, part_mask))
    return torch.cat(parts, dim=1)
