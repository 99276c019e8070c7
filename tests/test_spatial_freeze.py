"""Spatial freeze: a fresh cache reproduces window attention; a stale one lags by a bounded amount."""

from __future__ import annotations

import pytest
import torch

import ltx2_efficient
from ltx2_efficient.torch_glue.spatial_freeze import SpatialFreeze

GRID = (5, 3, 7)
GLOBAL = 2
ARGS = {"grid": GRID, "window": 1, "global_tokens": GLOBAL, "anchor_frame": True, "far_field": 2}


def qkv(seed: int, dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, ...]:
    gen = torch.Generator().manual_seed(seed)
    return tuple(
        (torch.randn(2, 3, 5 * 21 + GLOBAL, 32, generator=gen) * s).to(dtype) for s in (1.5, 1.5, 1.0)
    )


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    assert not torch.isnan(a).any()
    return float((a.double() - b.double()).norm() / b.double().norm())


@pytest.mark.parametrize("backend", ["auto", "torch"])
def test_fresh_cache_equals_window_attention(backend, monkeypatch):
    monkeypatch.setenv("LTX2EFF_ATTENTION_BACKEND", backend)
    q, k, v = qkv(1)
    freeze = SpatialFreeze()
    freeze.begin_step(refresh=True)
    out = freeze.attention("layer0", q, k, v, **ARGS)
    assert rel(out, ltx2_efficient.window_attention(q, k, v, **ARGS)) <= 1e-5
    # A frozen step on unchanged inputs is the same computation.
    freeze.begin_step(refresh=False)
    again = freeze.attention("layer0", q, k, v, **ARGS)
    assert rel(again, out) <= 1e-6
    assert freeze.stats.full_calls == 1 and freeze.stats.reused_calls == 1
    assert freeze.stats.cached_bytes == q.numel() * 4 + q[..., 0].numel() * 4


def test_stale_cache_differs_by_a_bounded_amount():
    q, k, v = qkv(2)
    freeze = SpatialFreeze()
    freeze.begin_step(refresh=True)
    freeze.attention("layer0", q, k, v, **ARGS)
    # The next step's inputs drift by ~1%: the frozen intra-frame part is stale.
    noise = qkv(3)
    q2, k2, v2 = (t + 0.01 * n for t, n in zip((q, k, v), noise, strict=True))
    freeze.begin_step(refresh=False)
    frozen = freeze.attention("layer0", q2, k2, v2, **ARGS)
    exact = ltx2_efficient.window_attention(q2, k2, v2, **ARGS)
    previous = ltx2_efficient.window_attention(q, k, v, **ARGS)
    drift = rel(previous, exact)  # what reusing the whole attention output would cost
    error = rel(frozen, exact)
    assert 1e-4 < error < drift, (error, drift)
    assert freeze.stats.reused_calls == 1


def test_layers_are_cached_separately_and_mismatches_recompute():
    q, k, v = qkv(4, torch.bfloat16)
    freeze = SpatialFreeze()
    freeze.begin_step(refresh=False)  # nothing cached yet: computed, counted as a miss
    a = freeze.attention("a", q, k, v, **ARGS)
    b = freeze.attention("b", k, q, v, **ARGS)
    assert freeze.stats.stale_misses == 2 and freeze.stats.full_calls == 2
    assert rel(a, ltx2_efficient.window_attention(q, k, v, **ARGS)) <= 1e-2
    assert rel(b, ltx2_efficient.window_attention(k, q, v, **ARGS)) <= 1e-2
    freeze.clear()
    assert freeze.stats.cached_bytes == 0
