"""Head-wise windows (window_head_recall): the sampled recall per head, the split, and the output
of the patched self-attention against a float64 reference written here from the semantics."""

from __future__ import annotations

import math

import pytest
import torch

from ltx2_efficient import _core
from ltx2_efficient.sampler.attention_patch import WindowedSelfAttention
from ltx2_efficient.sampler.settings import EfficientSettings
from ltx2_efficient.torch_glue.attention_call import AttentionCall
from ltx2_efficient.torch_glue.head_recall import head_recall, sampled_queries, split_heads, window_key_mask


def window_frames(f: int, frames: int, window: int) -> range:
    size = min(frames, 2 * window + 1)
    begin = min(max(f - window, 0), frames - size)
    return range(begin, begin + size)


def allowed_keys(grid: tuple[int, int, int], global_tokens: int, window: int, anchor: bool) -> torch.Tensor:
    """Bool [T, T]: the keys each query sees under the window (global queries see every key)."""
    frames, height, width = grid
    hw = height * width
    tokens = frames * hw + global_tokens
    allow = torch.zeros(tokens, tokens, dtype=torch.bool)
    for f in range(frames):
        for g in set(window_frames(f, frames, window)) | ({0} if anchor else set()):
            allow[f * hw : (f + 1) * hw, g * hw : (g + 1) * hw] = True
    allow[:, frames * hw :] = True
    allow[frames * hw :, :] = True
    return allow


def attention64(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, allow: torch.Tensor | None
) -> torch.Tensor:
    q64, k64, v64 = (t.double() for t in (q, k, v))
    logits = q64 @ k64.transpose(-1, -2) / math.sqrt(q.shape[-1])
    if allow is not None:
        logits = logits.masked_fill(~allow, -math.inf)
    return torch.softmax(logits, dim=-1) @ v64


def local_and_global_heads(grid, global_tokens, batch=2, d=16, seed=0):
    """[B, T, 3 * d]: head 0 attends to its own frame (a frame code in q and k), head 1 almost
    uniformly (small q), head 2 at random; fresh random values elsewhere."""
    frames, height, width = grid
    hw = height * width
    tokens = frames * hw + global_tokens
    gen = torch.Generator().manual_seed(seed)
    q, k, v = (torch.randn(batch, tokens, 3, d, generator=gen) for _ in range(3))
    code = torch.zeros(tokens, d)
    for f in range(frames):
        code[f * hw : (f + 1) * hw, f % d] = 4.0
    q[:, :, 0] = q[:, :, 0] * 0.1 + code
    k[:, :, 0] = k[:, :, 0] * 0.1 + code
    q[:, :, 1] *= 0.01
    return (t.reshape(batch, tokens, 3 * d) for t in (q, k, v))


def test_sampled_queries_spread_over_every_frame():
    # Up to 8 per frame, at most one in 16 of a frame's tokens, at least one.
    assert [_core.head_recall_samples(t) for t in (1, 16, 42, 64, 128, 880, 10**12)] == [1, 1, 2, 4, 8, 8, 8]
    per = _core.HEAD_RECALL_SAMPLES_PER_FRAME
    picked = sampled_queries((5, 12, 14))
    assert picked.numel() == 5 * per
    frame, within = picked // 168, picked % 168
    assert torch.equal(frame, torch.arange(5).repeat_interleave(per))
    assert within.unique().numel() == per and int(within.min()) < 168 // per
    assert int(within.max()) >= 168 - 168 // per
    assert torch.equal(sampled_queries((3, 1, 2)), torch.tensor([1, 3, 5]))  # one per small frame
    assert torch.equal(sampled_queries((2, 1, 2), per_frame=4), torch.tensor([0, 1, 2, 3]))  # a whole frame
    with pytest.raises(ValueError, match="per_frame must be >= 1"):
        sampled_queries((3, 2, 2), per_frame=0)


@pytest.mark.parametrize(
    ("window", "anchor", "global_tokens"), [(1, False, 0), (1, True, 3), (2, False, 2), (0, True, 0)]
)
def test_window_key_mask_is_the_windows_exact_keys(window, anchor, global_tokens):
    grid = (6, 2, 3)
    call = AttentionCall(grid, window, global_tokens, anchor, far_field=2)
    picked = sampled_queries(grid)
    assert torch.equal(
        window_key_mask(call, picked), allowed_keys(grid, global_tokens, window, anchor)[picked]
    )


@pytest.fixture(params=[64 << 20, 1], ids=["all-heads-at-once", "one-head-at-a-time"])
def score_bytes(request, monkeypatch):
    from ltx2_efficient.torch_glue import head_recall as module

    monkeypatch.setattr(module, "_SCORE_BYTES", request.param)


def test_head_recall_matches_float64_softmax_mass(score_bytes):
    grid, global_tokens = (5, 3, 4), 2
    q, k, _ = local_and_global_heads(grid, global_tokens)
    qh, kh = (t.view(2, -1, 3, 16).transpose(1, 2) for t in (q, k))
    call = AttentionCall(grid, 1, global_tokens)
    picked = sampled_queries(grid)
    mask = window_key_mask(call, picked)
    got = head_recall(qh, kh, picked, mask)
    logits = qh.double()[:, :, picked] @ kh.double().transpose(-1, -2) / 4.0
    want = (torch.softmax(logits, -1) * mask).sum(-1).mean(dim=(0, 2))
    assert torch.allclose(got.double(), want, atol=1e-5)
    assert got[0] > 0.95 and got[1] < 0.7  # the local head and the near-uniform one
    split = split_heads(qh, kh, call, 0.9)
    assert split.windowed.tolist() == [0] and split.dense.tolist() == [1, 2] and split.heads == 3


@pytest.mark.parametrize(("window", "anchor", "global_tokens"), [(1, False, 0), (1, True, 5), (2, False, 3)])
def test_headwise_window_matches_float64_reference(window, anchor, global_tokens):
    grid = (6, 3, 4)
    q, k, v = local_and_global_heads(grid, global_tokens, seed=window)
    settings = EfficientSettings.from_preset(
        "off", window=window, anchor_frame=anchor, window_head_recall=0.9
    )
    attn = WindowedSelfAttention(settings, grid=grid, global_tokens=global_tokens)
    out = attn(q, k, v, 3).view(2, -1, 3, 16).transpose(1, 2)
    qh, kh, vh = (t.view(2, -1, 3, 16).transpose(1, 2) for t in (q, k, v))
    allow = allowed_keys(grid, global_tokens, window, anchor)
    windowed = attention64(qh[:, :1], kh[:, :1], vh[:, :1], allow)
    dense = attention64(qh[:, 1:], kh[:, 1:], vh[:, 1:], None)
    assert (out[:, :1].double() - windowed).abs().max() < 1e-5
    assert (out[:, 1:].double() - dense).abs().max() < 1e-5
    assert attn.stats.heads_windowed == 1 and attn.stats.heads_measured == 3
    # Pairs: one head of three windowed, the others dense, plus the sampled rows over every key.
    tokens = q.shape[1]
    plan = _core.WindowPlan(
        _core.LatentShape(*grid), global_tokens, _core.WindowSpec(window, anchor, 0)
    ).pairs()
    sampled = 6 * _core.head_recall_samples(12)
    want = (plan.exact / 3 + 2 * tokens * tokens / 3 + sampled * tokens) / (tokens * tokens)
    assert attn.stats.pair_fraction == pytest.approx(want)


def test_every_head_or_none_windows_as_the_plain_paths():
    grid = (5, 2, 3)
    q, k, v = local_and_global_heads(grid, 0)
    qh, kh, vh = (t.view(2, -1, 3, 16).transpose(1, 2) for t in (q, k, v))
    plain = WindowedSelfAttention(EfficientSettings.from_preset("off", window=1), grid=grid)(q, k, v, 3)
    low = WindowedSelfAttention(
        EfficientSettings.from_preset("off", window=1, window_head_recall=0.05), grid=grid
    )
    assert torch.allclose(low(q, k, v, 3), plain, atol=1e-6) and low.stats.heads_windowed == 3
    strict = WindowedSelfAttention(
        EfficientSettings.from_preset("off", window=1, window_head_recall=1.0), grid=grid
    )
    out = strict(q, k, v, 3).view(2, -1, 3, 16).transpose(1, 2)
    assert strict.stats.heads_windowed == 0
    assert (out.double() - attention64(qh, kh, vh, None)).abs().max() < 1e-5


def test_head_recall_knob_is_checked_and_described():
    with pytest.raises(ValueError, match=r"window_head_recall.*\[0, 1\].*1\.5"):
        EfficientSettings.from_preset("off", window=1, window_head_recall=1.5)
    settings = EfficientSettings.from_preset("off", window=1, window_head_recall=0.9, window_start=0.5)
    assert "heads keeping 90%" in settings.step_schedule(20).summary()
    assert "heads keeping 90%" in settings.describe()
