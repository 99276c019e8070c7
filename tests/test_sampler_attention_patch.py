"""WindowedSelfAttention: the video self-attention callable hosts install."""

from __future__ import annotations

import pytest
import torch

from ltx2_efficient import _core
from ltx2_efficient.sampler.attention_patch import AttentionStats, WindowedSelfAttention, sdpa_attention
from ltx2_efficient.sampler.settings import EfficientSettings


def _masked_reference(q, k, v, heads, grid, window, global_tokens, anchor):
    """float64 dense attention restricted to the window (no far field)."""
    f_count, h, w = grid
    hw = h * w
    t = q.shape[1]
    allow = torch.zeros(t, t, dtype=torch.bool)
    for f in range(f_count):
        r = _core.window_range(f, f_count, window)
        allow[f * hw : (f + 1) * hw, r.begin * hw : r.end * hw] = True
        if anchor:
            allow[f * hw : (f + 1) * hw, :hw] = True
    allow[:, f_count * hw :] = True
    allow[f_count * hw :, :] = True
    b, _, width = q.shape
    d = width // heads
    qh, kh, vh = (x.double().view(b, t, heads, d).transpose(1, 2) for x in (q, k, v))
    scores = (qh @ kh.transpose(-1, -2)) / d**0.5
    scores = scores.masked_fill(~allow, float("-inf"))
    out = torch.softmax(scores, dim=-1) @ vh
    return out.transpose(1, 2).reshape(b, t, width)


def _qkv(grid, global_tokens, heads=2, d=16, batch=2, seed=0):
    gen = torch.Generator().manual_seed(seed)
    t = grid[0] * grid[1] * grid[2] + global_tokens
    return [torch.randn(batch, t, heads * d, generator=gen) for _ in range(3)]


def test_window_off_is_the_dense_callable_itself():
    grid = (5, 3, 4)
    q, k, v = _qkv(grid, 0)
    calls = []

    def dense(q, k, v, heads, mask=None):
        calls.append(mask)
        return sdpa_attention(q, k, v, heads, mask)

    attn = WindowedSelfAttention(EfficientSettings.off(), grid=grid, dense=dense)
    assert torch.equal(attn(q, k, v, 2), sdpa_attention(q, k, v, 2))
    assert len(calls) == 1 and attn.stats.dense_calls == 1 and attn.stats.pair_fraction == 1.0


@pytest.mark.parametrize("global_tokens", [0, 7])
def test_window_covering_every_frame_reproduces_dense(global_tokens):
    grid = (5, 3, 4)
    q, k, v = _qkv(grid, global_tokens)
    settings = EfficientSettings.from_preset("off", window=4)
    attn = WindowedSelfAttention(settings, grid=grid, global_tokens=global_tokens)
    out = attn(q, k, v, 2)
    ref = sdpa_attention(q, k, v, 2)
    assert float((out - ref).norm() / ref.norm()) < 1e-5
    assert attn.stats.windowed_calls == 1 and attn.stats.pair_fraction == pytest.approx(1.0)


@pytest.mark.parametrize(("window", "anchor"), [(1, False), (1, True), (2, False)])
def test_narrow_window_matches_masked_reference(window, anchor):
    grid, global_tokens = (6, 2, 3), 4
    q, k, v = _qkv(grid, global_tokens, seed=window)
    settings = EfficientSettings.from_preset("off", window=window, anchor_frame=anchor)
    attn = WindowedSelfAttention(settings, grid=grid, global_tokens=global_tokens)
    out = attn(q, k, v, 2)
    ref = _masked_reference(q, k, v, 2, grid, window, global_tokens, anchor)
    assert float((out.double() - ref).norm() / ref.norm()) < 1e-5
    plan = _core.WindowPlan(_core.LatentShape(*grid), global_tokens, settings.window_spec)
    assert attn.stats.pair_fraction == pytest.approx(plan.pairs().total_fraction)
    assert attn.stats.pair_fraction < 1.0
    assert attn.stats.backends and "dense" not in attn.stats.backends


def test_mask_falls_back_to_dense_and_is_counted(techniques):
    grid = (4, 2, 2)
    q, k, v = _qkv(grid, 0)
    mask = torch.zeros(2, 1, 16, 16)
    mask[..., 3] = -1e9
    attn = WindowedSelfAttention(techniques("aggressive"), grid=grid)
    out = attn(q, k, v, 2, mask)
    assert torch.allclose(out, sdpa_attention(q, k, v, 2, mask))
    assert attn.stats.masked_dense_calls == 1 and attn.stats.windowed_calls == 0


def test_grid_errors(techniques):
    attn = WindowedSelfAttention(techniques("aggressive"))
    q, k, v = _qkv((4, 2, 2), 0)
    with pytest.raises(ValueError, match="grid must be set"):
        attn(q, k, v, 2)
    attn.set_grid((4, 2, 3))
    with pytest.raises(ValueError, match="video self-attention got 16 query and 16 key tokens, but the grid"):
        attn(q, k, v, 2)
    with pytest.raises(ValueError, match="grid must be three integers"):
        attn.set_grid((4, 0, 2))
    with pytest.raises(ValueError, match="settings must be an EfficientSettings"):
        WindowedSelfAttention({"window": 2})  # type: ignore[arg-type]


def test_stats_merge():
    a = AttentionStats(calls=2, pairs=10, dense_pairs=20, backends={"cpu"})
    b = AttentionStats(calls=1, pairs=5, dense_pairs=20, backends={"dense"})
    a.merge(b)
    assert a.calls == 3 and a.pair_fraction == pytest.approx(15 / 40) and a.backends == {"cpu", "dense"}
