"""Spatial freeze (experimental, off by default): reuse the intra-frame part of window attention.

Window attention over a query's keys splits exactly into two partial attentions over disjoint key
sets, merged by log-sum-exp: the keys of the query's own frame ("intra-frame") and everything else
the plan gives it (the other frames of its window, the anchor frame, the global tokens and the
pooled far field: "cross-frame"). Late in sampling the spatial structure of each frame changes
slowly, so a :class:`SpatialFreeze` cache keeps, per attention layer, the intra-frame partial
(output and LSE) of the last full step and, on frozen steps, recomputes only the cross-frame part
and merges it with the cached one (``merge_attention``).

What it saves: the own frame's share of the exact pairs, 1 / (2K + 1) of a window of K (a third
at K = 1), minus the cost of the merge. What it costs: one output-sized tensor (q's dtype) plus a
float32 [B, heads, T] LSE per layer, kept between steps; and accuracy, since the cached part
lags the current q/k/v (``bench/attention_cpu.py`` and tests measure both). It is off unless a
host creates the cache; each call logs nothing, ``stats`` counts what was reused.

    freeze = SpatialFreeze()
    freeze.begin_step(refresh=True)    # a full step: intra-frame partials recomputed and kept
    out = freeze.attention("block.7", q, k, v, grid=(F, H, W), window=1)
    freeze.begin_step(refresh=False)   # a frozen step: cached intra-frame partials reused
"""

from __future__ import annotations

import logging
from collections.abc import Hashable
from dataclasses import dataclass

import torch

from ltx2_efficient.torch_glue.attention import merge_attention, window_attention_subset
from ltx2_efficient.torch_glue.attention_call import AttentionCall

log = logging.getLogger(__name__)


@dataclass
class SpatialFreezeStats:
    full_calls: int = 0  # calls that computed (and stored) the intra-frame partial
    reused_calls: int = 0  # calls that reused a cached intra-frame partial
    stale_misses: int = 0  # frozen-step calls that found no matching partial and recomputed it
    cached_bytes: int = 0  # memory held by the cache now


@dataclass
class _Entry:
    config: tuple[object, ...]
    out: torch.Tensor
    lse: torch.Tensor


class SpatialFreeze:
    """Per-layer cache of intra-frame partial attentions (see the module docstring)."""

    def __init__(self) -> None:
        self._entries: dict[Hashable, _Entry] = {}
        self._refresh = True
        self.stats = SpatialFreezeStats()

    def begin_step(self, *, refresh: bool) -> None:
        """Starts a model call: refresh=True recomputes and keeps every layer's intra-frame part,
        refresh=False reuses the kept ones."""
        self._refresh = bool(refresh)

    def clear(self) -> None:
        """Drops every cached partial (e.g. between generations)."""
        self._entries.clear()
        self.stats.cached_bytes = 0

    def attention(
        self,
        layer: Hashable,
        q: torch.Tensor,
        k: torch.Tensor,
        v: torch.Tensor,
        *,
        grid: tuple[int, int, int],
        window: int,
        global_tokens: int = 0,
        anchor_frame: bool = False,
        far_field: int = 0,
        precision: str = "auto",
        backend: str | None = None,
    ) -> torch.Tensor:
        """Window attention of [B, heads, T, D] tensors with the intra-frame part frozen.

        The arguments are window_attention's (backend too); the result has q's dtype."""
        call = AttentionCall(grid, window, global_tokens, anchor_frame, far_field, precision)
        # The intra-frame part depends on the layout, not on the window, anchor or far field.
        config = (tuple(q.shape), q.dtype, q.device, call.grid, call.global_tokens, call.precision)
        entry = self._entries.get(layer)
        if self._refresh or entry is None or entry.config != config:
            if not self._refresh:
                self.stats.stale_misses += 1
                log.info("spatial freeze: no cached intra-frame partial for %r; recomputing it", layer)
            own_out, own_lse = window_attention_subset(q, k, v, call, subset="own_frame", backend=backend)
            if entry is not None:
                self.stats.cached_bytes -= _bytes(entry)
            entry = _Entry(config, own_out, own_lse)
            self._entries[layer] = entry
            self.stats.cached_bytes += _bytes(entry)
            self.stats.full_calls += 1
        else:
            self.stats.reused_calls += 1
        cross_out, cross_lse = window_attention_subset(q, k, v, call, subset="other_frames", backend=backend)
        out, _ = merge_attention(entry.out, entry.lse, cross_out, cross_lse, backend=backend)
        return out


def _bytes(entry: _Entry) -> int:
    return entry.out.numel() * entry.out.element_size() + entry.lse.numel() * entry.lse.element_size()
