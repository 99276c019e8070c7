"""Which heads keep their attention inside the window: head-wise windows.

Heads of a video transformer attend differently: some mostly within their own and nearby frames,
others across the whole clip. ``window_head_recall = r`` windows only the heads whose softmax
keeps at least a share ``r`` of its mass on the window's exact keys, and lets the rest attend
densely. Each windowed call measures it afresh (the pattern changes with the step and the block):
a few queries per latent frame (``_core.head_recall_samples``: up to 8, at most one in 16 of the
frame's tokens, spread evenly over the frame) get their exact softmax rows over every key, and a
head's recall is the mean over those rows and the batch of the mass on keys of the query's window
(its frames, the anchor frame when on, the global tokens). Pooled far-field keys count as outside: the measure is conservative.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ltx2_efficient import _core
from ltx2_efficient.torch_glue.attention_call import AttentionCall

# The float32 scores of the sampled rows ([B, heads, S, T]) are made a few heads at a time, each
# chunk at most this large (a small share of the activation budgets that low-VRAM runs set).
_SCORE_BYTES = 64 << 20


def sampled_queries(grid: tuple[int, int, int], per_frame: int | None = None) -> torch.Tensor:
    """Token indices of the sampled queries: ``per_frame`` (default: the core's count for the
    frame size) evenly spread positions of every frame (all of them when a frame has fewer),
    frame-major."""
    frames, height, width = grid
    hw = height * width
    count = _core.head_recall_samples(hw) if per_frame is None else per_frame
    if count < 1:
        raise ValueError(f"per_frame must be >= 1, got {count}")
    taken = min(count, hw)
    within = torch.tensor([int((j + 0.5) * hw / taken) for j in range(taken)], dtype=torch.long)
    return (torch.arange(frames, dtype=torch.long)[:, None] * hw + within[None, :]).reshape(-1)


def window_key_mask(call: AttentionCall, queries: torch.Tensor) -> torch.Tensor:
    """Bool ``[S, T]``: the exact keys of each sampled query's window (the core's window plan:
    its frames, the anchor frame, every global key)."""
    frames, height, width = call.grid
    hw = height * width
    plan = _core.WindowPlan(
        _core.LatentShape(*call.grid),
        call.global_tokens,
        _core.WindowSpec(call.window, call.anchor_frame, call.far_field),
    )
    seen = torch.zeros(frames, call.tokens, dtype=torch.bool)
    seen[:, frames * hw :] = True
    for f in range(frames):
        frame = plan.frame(f)
        seen[f, frame.near.begin * hw : frame.near.end * hw] = True
        if frame.anchor:
            seen[f, :hw] = True
    return seen[queries // hw]


def head_recall(
    q: torch.Tensor, k: torch.Tensor, queries: torch.Tensor, mask: torch.Tensor, scale: float | None = None
) -> torch.Tensor:
    """Float32 ``[heads]``: each head's mean softmax mass on ``mask``'s keys over the sampled
    ``queries`` of ``q`` ``[B, heads, T, D]`` and over the batch."""
    b, heads, _, d = q.shape
    scale = 1.0 / math.sqrt(d) if scale is None else scale
    rows = q.index_select(2, queries.to(q.device))
    # Summed outside the window: a window holding every key gives a recall of exactly 1.
    outside = (~mask).to(q.device)
    recall = torch.empty(heads, dtype=torch.float32, device=q.device)
    per_chunk = max(1, _SCORE_BYTES // (4 * b * queries.numel() * k.shape[2]))
    for h0 in range(0, heads, per_chunk):
        h1 = min(heads, h0 + per_chunk)
        logits = torch.matmul(rows[:, h0:h1].float(), k[:, h0:h1].float().transpose(-1, -2)) * scale
        probs = torch.softmax(logits, dim=-1)
        recall[h0:h1] = 1.0 - (probs * outside).sum(-1).mean(dim=(0, 2))
    return recall


@dataclass(frozen=True)
class HeadSplit:
    """The heads a call windows and the heads it leaves dense (index tensors on q's device)."""

    windowed: torch.Tensor
    dense: torch.Tensor
    recall: torch.Tensor  # float32 [heads]
    sampled_queries: int

    @property
    def heads(self) -> int:
        return int(self.windowed.numel() + self.dense.numel())


def split_heads(
    q: torch.Tensor,
    k: torch.Tensor,
    call: AttentionCall,
    threshold: float,
    mask_cache: dict[tuple[object, ...], tuple[torch.Tensor, torch.Tensor]] | None = None,
) -> HeadSplit:
    """Measures every head's recall of ``call``'s window and splits the heads at ``threshold``."""
    key = (call.grid, call.global_tokens, call.window, call.anchor_frame, call.far_field)
    cached = mask_cache.get(key) if mask_cache is not None else None
    if cached is None:
        queries = sampled_queries(call.grid)
        cached = (queries, window_key_mask(call, queries))
        if mask_cache is not None:
            mask_cache[key] = cached
    queries, mask = cached
    recall = head_recall(q, k, queries, mask, call.scale)
    windowed = recall >= threshold
    return HeadSplit(
        torch.nonzero(windowed).flatten(), torch.nonzero(~windowed).flatten(), recall, int(queries.numel())
    )
