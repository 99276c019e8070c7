"""The frame-batched path of window attention: its batching of the plan, and its results against
the float64 reference (CPU here; bench/attention_check.py runs the same on the GPU)."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest
import torch

import ltx2_efficient
from ltx2_efficient.torch_glue import attention as glue
from ltx2_efficient.torch_glue import attention_batched as batched

# The float64 reference and input helpers of the window-attention tests (one definition).
_spec = importlib.util.spec_from_file_location(
    "window_attention_reference", Path(__file__).with_name("test_window_attention.py")
)
assert _spec is not None and _spec.loader is not None
_ref = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_ref)
BOUND, random_qkv, reference = _ref.BOUND, _ref.random_qkv, _ref.reference
relative_error, window_frames = _ref.relative_error, _ref.window_frames


@pytest.mark.parametrize(
    ("frames", "window"), [(13, 1), (16, 2), (5, 1), (4, 1), (3, 1), (9, 0), (6, 5), (1, 2), (8, -1)]
)
def test_batches_cover_every_query_frame_once_with_its_window(frames, window):
    batches = batched.frame_batches((frames, 2, 3), window)
    seen: list[int] = []
    for fb in batches:
        for i in range(fb.count):
            keys = range(fb.k_first + i * fb.k_step, fb.k_first + i * fb.k_step + fb.k_frames)
            for f in range(fb.q_first + i * fb.q_step, fb.q_first + i * fb.q_step + fb.q_frames):
                seen.append(f)
                assert keys == window_frames(f, frames, window)
    assert sorted(seen) == list(range(frames))
    # Interior frames share one call, the two borders another: never one call per frame.
    assert len(batches) <= 2


def test_interior_frames_are_one_batch_of_overlapping_windows():
    batches = batched.frame_batches((13, 16, 28), 1)
    assert {(fb.count, fb.q_frames, fb.k_frames, fb.q_step, fb.k_step) for fb in batches} == {
        (9, 1, 3, 1, 1),  # frames 2..10, keys f-1..f+1: windows one frame apart
        (2, 2, 3, 11, 10),  # frames 0-1 (keys 0-2) and 11-12 (keys 10-12)
    }


CASES = [
    # grid, global tokens, window, anchor, head dim, dtype, batch, token-major
    ((7, 3, 5), 0, 1, False, 64, torch.float32, 1, False),
    ((7, 3, 5), 4, 1, True, 32, torch.float32, 2, True),
    ((9, 2, 3), 0, 2, True, 16, torch.bfloat16, 1, True),
    ((6, 4, 3), 3, 2, False, 24, torch.float16, 2, False),
    ((5, 3, 3), 2, 0, True, 8, torch.float32, 1, False),
    ((4, 2, 5), 1, 3, True, 32, torch.bfloat16, 1, False),  # window covers every frame: dense
    ((12, 1, 7), 0, 1, True, 128, torch.float32, 1, True),
]


@pytest.mark.parametrize(("grid", "g", "window", "anchor", "d", "dtype", "b", "token_major"), CASES)
@pytest.mark.parametrize("return_lse", [False, True])
def test_batched_matches_float64_reference(grid, g, window, anchor, d, dtype, b, token_major, return_lse):
    tokens = grid[0] * grid[1] * grid[2] + g
    q, k, v = random_qkv((b, 3, tokens, d), dtype, seed=tokens * 7 + d, token_major=token_major)
    result = ltx2_efficient.window_attention(
        q,
        k,
        v,
        grid=grid,
        window=window,
        global_tokens=g,
        anchor_frame=anchor,
        return_lse=return_lse,
        backend="batched",
    )
    assert glue.last_backend() == "batched"
    out, lse = result if return_lse else (result, None)
    assert out.dtype == dtype and out.shape == q.shape
    ref_out, ref_lse = reference(q, k, v, grid=grid, window=window, global_tokens=g, anchor_frame=anchor)
    assert relative_error(out, ref_out) <= BOUND[dtype]
    if lse is not None:
        assert lse.dtype == torch.float32 and lse.shape == q.shape[:3]
        assert float((lse.double() - ref_lse).abs().max()) <= 1e-4


def test_batched_output_is_fully_written(monkeypatch):
    """Every output element comes from a call: an output allocated as NaN comes back finite."""
    real_empty_like = torch.empty_like
    monkeypatch.setattr(torch, "empty_like", lambda t, **kw: real_empty_like(t, **kw).fill_(math.nan))
    q, k, v = random_qkv((1, 2, 11 * 6 + 2, 16), torch.float32, seed=3)
    out = glue.window_attention(
        q, k, v, grid=(11, 2, 3), window=1, global_tokens=2, anchor_frame=True, backend="batched"
    )
    assert torch.isfinite(out).all()
    ref, _ = reference(q, k, v, grid=(11, 2, 3), window=1, global_tokens=2, anchor_frame=True)
    assert relative_error(out, ref) <= 1e-5


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"far_field": 2}, "far field"), ({"far_field": 2, "precision": "fp8-far-field"}, "far field")],
)
def test_batched_refuses_what_it_does_not_compute(kwargs, match):
    q, k, v = random_qkv((1, 1, 5 * 4, 8), torch.float32, seed=4)
    with pytest.raises(ValueError, match=f"backend 'batched' cannot run this call: .*{match}"):
        ltx2_efficient.window_attention(q, k, v, grid=(5, 2, 2), window=1, backend="batched", **kwargs)
    with pytest.raises(ValueError, match="subset"):
        glue.window_attention_subset(
            q, k, v, glue.AttentionCall((5, 2, 2), 1), subset="own_frame", backend="batched"
        )


def test_attention_with_lse_returns_the_log_sum_exp():
    gen = torch.Generator().manual_seed(5)
    q, k, v = (torch.randn(2, 3, n, 16, generator=gen) for n in (9, 13, 13))
    out, lse = batched.attention_with_lse(q, k, v, 0.25)
    logits = q.double() @ k.double().transpose(-1, -2) * 0.25
    assert float((lse.double() - torch.logsumexp(logits, -1)).abs().max()) <= 1e-5
    want = torch.softmax(logits, -1) @ v.double()
    assert float((out.double() - want).abs().max()) <= 1e-5


def test_attention_with_lse_skips_ops_that_refuse_and_says_when_none_serves(monkeypatch):
    calls: list[str] = []

    def refuses(q, k, v, scale):
        calls.append("refuses")
        raise RuntimeError("not for these inputs")

    def works(q, k, v, scale):
        calls.append("works")
        return torch.zeros_like(q), torch.zeros(q.shape[:3])

    monkeypatch.setattr(batched, "_failed_ops", set())
    monkeypatch.setattr(batched, "_lse_ops", lambda device_type: [("a", refuses), ("b", works)])
    q = torch.randn(1, 2, 5, 8)
    batched.attention_with_lse(q, q, q, 1.0)
    batched.attention_with_lse(q, q, q, 1.0)
    assert calls == ["refuses", "works", "works"]  # a refusal is remembered for the dtype and head dim
    monkeypatch.setattr(batched, "_lse_ops", lambda device_type: [("c", refuses)])
    with pytest.raises(RuntimeError, match="no fused attention op with log-sum-exp"):
        batched.attention_with_lse(q, q, q, 1.0)


def _sdpa_into(calls: list[tuple[int, ...]]):
    """An in-place executor for the CPU: computes each batch with the float64 softmax and writes it
    into the views it is given (what cuDNN's graph does on a GPU), recording the output shapes."""

    def attend(q, k, v, out, lse, scale):
        logits = q.double() @ k.double().transpose(-1, -2) * scale
        out.copy_(torch.softmax(logits, -1) @ v.double())
        if lse is not None:
            lse.copy_(torch.logsumexp(logits, -1))
        calls.append(tuple(out.shape))
        return True

    return attend


@pytest.mark.parametrize("token_major", [False, True])
@pytest.mark.parametrize(("anchor", "g"), [(False, 0), (True, 3)])
def test_in_place_executor_writes_every_batch_into_the_result(token_major, anchor, g):
    grid = (9, 2, 3)
    q, k, v = random_qkv((2, 3, 9 * 6 + g, 16), torch.float32, seed=21, token_major=token_major)
    calls: list[tuple[int, ...]] = []
    call = glue.AttentionCall(grid, 1, g, anchor, need_lse=True)
    out, lse = batched.frame_batched_attention(q, k, v, call, in_place=_sdpa_into(calls))
    # Two batches (interior, borders) per batch element, each written in place: no ATen copy.
    assert sorted(calls) == sorted([(5, 3, 6, 16), (2, 3, 12, 16)] * 2)
    ref_out, ref_lse = reference(q, k, v, grid=grid, window=1, global_tokens=g, anchor_frame=anchor)
    assert lse is not None
    assert relative_error(out, ref_out) <= 1e-5
    assert float((lse.double() - ref_lse).abs().max()) <= 1e-5


@pytest.mark.parametrize("need_lse", [False, True])
def test_a_declining_in_place_executor_leaves_the_batch_to_aten(need_lse):
    grid = (7, 2, 2)
    q, k, v = random_qkv((1, 2, 7 * 4, 8), torch.float32, seed=22)
    declined: list[tuple[int, ...]] = []

    def decline(q_, k_, v_, out, lse, scale):
        declined.append(tuple(out.shape))
        out.fill_(math.nan)  # must not matter: a declining executor's views are overwritten
        if lse is not None:
            lse.fill_(math.nan)
        return False

    call = glue.AttentionCall(grid, 1, need_lse=need_lse)
    out, lse = batched.frame_batched_attention(q, k, v, call, in_place=decline)
    assert len(declined) == 2
    ref, ref_lse = reference(q, k, v, grid=grid, window=1, global_tokens=0, anchor_frame=False)
    assert relative_error(out, ref) <= 1e-5
    if need_lse:
        assert lse is not None
        assert float((lse.double() - ref_lse).abs().max()) <= 1e-5
