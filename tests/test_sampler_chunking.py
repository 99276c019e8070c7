"""Activation budget: chunked feed-forward and attention equal the unchunked ones to rounding."""

from __future__ import annotations

import pytest
import torch

from ltx2_efficient.sampler.attention_patch import sdpa_attention
from ltx2_efficient.sampler.chunking import (
    ChunkedFeedForward,
    chunk_tokens_for_budget,
    chunked_attention,
    model_dims,
    predicted_peak,
)


def test_chunked_feed_forward_equals_unchunked():
    torch.manual_seed(0)
    ff = torch.nn.Sequential(
        torch.nn.Linear(32, 128), torch.nn.GELU(approximate="tanh"), torch.nn.Linear(128, 32)
    )
    x = torch.randn(2, 203, 32)
    full = ff(x)
    for chunk in (1, 16, 64, 202, 203, 1000):
        wrapped = ChunkedFeedForward(ff, chunk)
        out = wrapped(x)
        assert out.shape == full.shape
        assert torch.allclose(out, full, rtol=1e-5, atol=1e-6), chunk
    counted = ChunkedFeedForward(ff, 64)
    counted(x)
    assert counted.chunked_calls == 1  # 203 tokens over 64: chunked
    whole = ChunkedFeedForward(ff, 1000)
    whole(x)
    assert whole.chunked_calls == 0  # fits in one chunk: run whole
    with pytest.raises(ValueError, match="chunk_tokens must be an integer >= 1, got 0"):
        ChunkedFeedForward(ff, 0)


def test_chunked_attention_equals_unchunked_with_and_without_mask():
    torch.manual_seed(1)
    heads = 4
    q, k, v = (torch.randn(2, 150, heads * 16) for _ in range(3))
    full = sdpa_attention(q, k, v, heads)
    assert torch.allclose(chunked_attention(sdpa_attention, q, k, v, heads, 32), full, rtol=1e-5, atol=1e-6)
    mask = torch.randn(2, 1, 150, 150)  # additive bias per query row
    full_masked = sdpa_attention(q, k, v, heads, mask)
    chunked = chunked_attention(sdpa_attention, q, k, v, heads, 48, mask)
    assert torch.allclose(chunked, full_masked, rtol=1e-5, atol=1e-6)
    assert not torch.allclose(full_masked, full)


def test_chunk_size_comes_from_the_cost_model():
    dims = model_dims(blocks=48, heads=32, head_dim=128, context_dim=4096)
    grid = (16, 22, 40)  # 14,080 tokens: 1280x704, 121 frames
    assert chunk_tokens_for_budget(dims, grid, 0) == 14080
    generous = chunk_tokens_for_budget(dims, grid, 1 << 16)
    tight = chunk_tokens_for_budget(dims, grid, 1024)
    tighter = chunk_tokens_for_budget(dims, grid, 700)
    assert generous == 14080 and tighter < tight < 14080
    peak, met = predicted_peak(dims, grid, 1024)
    assert met and peak <= 1024 * 1024 * 1024
    unbounded_peak, _ = predicted_peak(dims, grid, 0)
    assert unbounded_peak > peak
    with pytest.raises(ValueError, match="activation_budget_mb must be an integer >= 0"):
        chunk_tokens_for_budget(dims, grid, -5)
