"""Adversarial calls of the compiled core from Python: outputs that overlap themselves or their
inputs, scales that make every result non-finite, impossible device profiles. Each is a
ValueError naming the parameter and its range, never a racy or NaN result."""

from __future__ import annotations

import math

import pytest
import torch

from ltx2_efficient import _core


def _qkv(grid=(3, 2, 2), heads=2, d=8):
    tokens = grid[0] * grid[1] * grid[2]
    return [torch.randn(1, heads, tokens, d) for _ in range(3)]


def test_window_attention_rejects_an_output_with_stride_zero_or_shifted_rows():
    q, k, v = _qkv()
    out = torch.empty_like(q)
    assert _core.window_attention(q, k, v, out, grid=(3, 2, 2), window=1) == "cpu"
    storage = torch.empty(q.numel())
    zero = torch.as_strided(storage, q.shape, (q.shape[1] * q.shape[2] * 8, q.shape[2] * 8, 0, 1))
    shifted = torch.as_strided(storage, q.shape, (q.shape[1] * q.shape[2] * 4, q.shape[2] * 4, 4, 1))
    for bad in (zero, shifted):
        with pytest.raises(ValueError, match=r"^out must not overlap itself"):
            _core.window_attention(q, k, v, bad, grid=(3, 2, 2), window=1)
    with pytest.raises(ValueError, match="out must not overlap q, k or v"):
        _core.window_attention(q, k, v, q, grid=(3, 2, 2), window=1)
    lse = torch.empty(1, 2, 12)
    with pytest.raises(ValueError, match="lse must not overlap"):
        _core.window_attention(q, k, v, out, lse=q.view(-1)[:24].view(1, 2, 12), grid=(3, 2, 2), window=1)
    assert lse.shape == (1, 2, 12)


@pytest.mark.parametrize("scale", [1e308, 1e4, -0.5, 5e-324, math.inf, math.nan])
def test_window_attention_rejects_scales_outside_their_range(scale):
    q, k, v = _qkv()
    with pytest.raises(ValueError, match=r"scale must be 0 \(meaning 1/sqrt\(D\)\) or in \[1e-12, 1000\]"):
        _core.window_attention(q, k, v, torch.empty_like(q), grid=(3, 2, 2), window=1, scale=scale)


def test_merge_attention_rejects_overlapping_outputs_but_allows_exactly_in_place():
    out_a, out_b = torch.randn(1, 2, 6, 4), torch.randn(1, 2, 6, 4)
    lse_a, lse_b = torch.randn(1, 2, 6), torch.randn(1, 2, 6)
    _core.merge_attention(out_a, lse_a, out_b, lse_b, out_a, lse_a)  # in place: fine
    with pytest.raises(ValueError, match="out must not overlap itself"):
        _core.merge_attention(out_a, lse_a, out_b, lse_b, torch.empty(1, 2, 1, 4).expand(1, 2, 6, 4), lse_b)
    wide = torch.randn(1, 2, 7, 4)
    with pytest.raises(ValueError, match="out must be out_a or out_b exactly"):
        _core.merge_attention(wide[:, :, :6], lse_a, out_b, lse_b, wide[:, :, 1:], torch.empty(1, 2, 6))


def test_interpolate_frames_rejects_an_output_that_overlaps_itself():
    plan = _core.make_keyframe_plan(9, 4, 24.0)
    keyframes = torch.randn(1, 2, plan.diffused_frames, 3, 4)
    out = torch.empty(1, 2, 9, 3, 4)
    _core.interpolate_frames(keyframes, plan, out)
    frame = torch.empty(1, 2, 1, 3, 4).expand(1, 2, 9, 3, 4)
    with pytest.raises(ValueError, match="out must not overlap itself"):
        _core.interpolate_frames(keyframes, plan, frame)


@pytest.mark.parametrize(
    "field",
    [
        "linear_flops_per_s",
        "attention_flops_per_s",
        "window_efficiency",
        "memory_bytes_per_s",
        "offload_bytes_per_s",
        "per_block_overhead_s",
        "per_call_overhead_s",
        "sustained_fraction",
    ],
)
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, -1.0, 5e-324, 1e300])
def test_device_profile_rejects_impossible_values_naming_the_field(field, value):
    profile = _core.DeviceProfile()
    before = getattr(profile, field)
    with pytest.raises(ValueError, match=rf"^DeviceProfile\.{field} must be .*in \[.*\], got"):
        setattr(profile, field, value)
    assert getattr(profile, field) == before


def test_device_profile_zero_means_none_where_documented():
    profile = _core.DeviceProfile()
    profile.offload_bytes_per_s = 0.0
    profile.per_block_overhead_s = 0.0
    profile.per_call_overhead_s = 0.0
    plan = _core.make_plan(
        _core.PixelShape(896, 512, 97, 24.0), _core.resolve_preset("balanced"), device=profile
    )
    assert math.isfinite(plan.plan_seconds) and plan.plan_seconds > 0
    assert plan.predicted_speedup > 1.0


@pytest.mark.parametrize("backend", ["cpu", "torch", "batched"])
@pytest.mark.parametrize("scale", [5000.0, 1e-13])
def test_every_backend_takes_the_same_scale_range(backend, scale):
    """The Python glue checks the scale against the core's range, so no backend accepts a scale
    another refuses."""
    from ltx2_efficient.torch_glue import attention as glue

    q, k, v = _qkv()
    message = rf"scale must be a number in \[{_core.MIN_ATTENTION_SCALE:g}, {_core.MAX_ATTENTION_SCALE:g}\]"
    with pytest.raises(ValueError, match=message):
        glue.window_attention(q, k, v, grid=(3, 2, 2), window=1, scale=scale, backend=backend)
    out = glue.window_attention(
        q, k, v, grid=(3, 2, 2), window=1, scale=_core.MAX_ATTENTION_SCALE, backend=backend
    )
    assert out.shape == q.shape
