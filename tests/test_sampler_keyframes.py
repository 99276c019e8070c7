"""Keyframe selection, expansion (torch glue over the C++ kernels), re-noising and refine schedule."""

from __future__ import annotations

import pytest
import torch

from ltx2_efficient import _core
from ltx2_efficient.sampler.keyframes import pinned_frames, plan_keyframes, refine_schedule, renoise
from ltx2_efficient.torch_glue.interpolation import interpolate_latent


def _reference(keyframes: torch.Tensor, plan: _core.KeyframePlan, method: str) -> torch.Tensor:
    """float64 lerp / slerp (direction on the arc, norm interpolated linearly) per token."""
    k = keyframes.double()
    frames = []
    for src in plan.map:
        a, b = k[:, :, src.left], k[:, :, src.right]
        t = 0.0 if src.left == src.right else src.t
        if method == "slerp" and 0 < t < 1:
            na, nb = a.norm(dim=1, keepdim=True), b.norm(dim=1, keepdim=True)
            cos = ((a * b).sum(dim=1, keepdim=True) / (na * nb)).clamp(-1, 1)
            omega = torch.acos(cos)
            norm = (1 - t) * na + t * nb
            frames.append(
                norm
                * (torch.sin((1 - t) * omega) * a / na + torch.sin(t * omega) * b / nb)
                / torch.sin(omega)
            )
        else:
            frames.append((1 - t) * a + t * b)
    return torch.stack(frames, dim=2)


def _rel(out: torch.Tensor, ref: torch.Tensor) -> float:
    assert not torch.isnan(out).any()
    return float((out.double() - ref).norm() / ref.norm())


@pytest.mark.parametrize(
    "dtype,bound", [(torch.float32, 2e-6), (torch.float16, 1e-3), (torch.bfloat16, 8e-3)]
)
@pytest.mark.parametrize("method", ["lerp", "slerp"])
def test_interpolate_latent_matches_float64_reference(dtype, bound, method):
    gen = torch.Generator().manual_seed(5)
    plan = _core.make_keyframe_plan(13, 3, 24.0)
    keys = torch.randn(2, 16, plan.diffused_frames, 4, 5, generator=gen).to(dtype)
    out = interpolate_latent(keys, plan, method)
    assert out.dtype == dtype and out.shape == (2, 16, 13, 4, 5)
    assert _rel(out, _reference(keys, plan, method)) < bound
    for slot, f in enumerate(plan.diffused):
        assert torch.equal(out[:, :, f], keys[:, :, slot])


def test_interpolate_latent_non_contiguous_and_float64_inputs():
    plan = _core.make_keyframe_plan(9, 4, 24.0)
    base = torch.randn(1, 6, 5, 4, plan.diffused_frames, dtype=torch.float64)
    keys = base.permute(0, 1, 4, 2, 3)  # a non-contiguous view
    out = interpolate_latent(keys, plan, "motion")
    assert out.dtype == torch.float64 and out.shape == (1, 6, 9, 5, 4)
    for slot, f in enumerate(plan.diffused):
        assert torch.allclose(out[:, :, f], keys[:, :, slot].float().double())


def test_motion_interpolation_follows_a_translation():
    # A smooth field moving 2 tokens to the right between keyframes 2 latent frames apart.
    plan = _core.make_keyframe_plan(3, 2, 24.0)
    y = torch.arange(12, dtype=torch.float64).view(12, 1)
    x = torch.arange(16, dtype=torch.float64).view(1, 16)
    c = torch.arange(8, dtype=torch.float64).view(8, 1, 1)

    def field(shift: float) -> torch.Tensor:
        return torch.sin(0.55 * (x - shift) + c) * torch.cos(0.4 * y + 0.3 * c)

    keys = torch.stack([field(0.0), field(2.0)], dim=1).unsqueeze(0).float()
    truth = field(1.0).float()
    inner = (slice(None), slice(2, -2), slice(3, -3))
    errors = {}
    for method in ("lerp", "motion"):
        mid = interpolate_latent(keys, plan, method)[0, :, 1]
        errors[method] = float((mid[inner] - truth[inner]).norm() / truth[inner].norm())
    assert errors["motion"] < 0.3 * errors["lerp"], errors


def _upsampler_midpoints(x: torch.Tensor) -> torch.Tensor:
    """A stand-in for LTX-2's temporal upsampler: F -> 2F - 1 by midpoints, keyframes slightly off."""
    mids = 0.5 * (x[:, :, :-1] + x[:, :, 1:])
    out = torch.stack([x[:, :, :-1] * 1.01, mids], dim=3).flatten(2, 3)
    return torch.cat([out, x[:, :, -1:]], dim=2)


@pytest.mark.parametrize("stride", [2, 3, 4])
def test_upsampler_method_resamples_to_the_plan_and_keeps_keyframes(stride):
    plan = _core.make_keyframe_plan(13, stride, 24.0)
    keys = torch.randn(1, 4, plan.diffused_frames, 3, 3)
    out = interpolate_latent(keys, plan, "upsampler", _upsampler_midpoints)
    lerp = interpolate_latent(keys, plan, "lerp")
    # Midpoint upsampling is linear: between keyframes it equals lerp (up to the 1% keyframe
    # error the stand-in makes), and the keyframes come back exactly.
    for slot, f in enumerate(plan.diffused):
        assert torch.equal(out[:, :, f], keys[:, :, slot])
    assert _rel(out, lerp.double()) < 0.02


def test_interpolate_latent_bad_inputs():
    plan = _core.make_keyframe_plan(9, 2, 24.0)
    keys = torch.randn(1, 4, plan.diffused_frames, 2, 2)
    with pytest.raises(ValueError, match="method must be one of lerp slerp motion upsampler, got 'cubic'"):
        interpolate_latent(keys, plan, "cubic")
    with pytest.raises(ValueError, match="keyframes must have 5 frames"):
        interpolate_latent(keys[:, :, :4], plan)
    with pytest.raises(ValueError, match="keyframes must be \\[B, C, F', H, W\\]"):
        interpolate_latent(keys[0], plan)
    with pytest.raises(ValueError, match="upsampler must be a callable"):
        interpolate_latent(keys, plan, "upsampler")
    with pytest.raises(ValueError, match="upsampler must return shape"):
        interpolate_latent(keys, plan, "upsampler", lambda x: x)
    with pytest.raises(ValueError, match="upsampler is only used with method 'upsampler'"):
        interpolate_latent(keys, plan, "lerp", _upsampler_midpoints)
    with pytest.raises(ValueError, match="motion.search_radius must be in \\[0, 16\\], got 40"):
        interpolate_latent(keys, plan, "motion", search_radius=40)
    with pytest.raises(ValueError, match="keyframes must be a floating-point tensor"):
        interpolate_latent(keys.to(torch.int32), plan)


def test_pinned_frames_from_noise_mask_and_guides():
    mask = torch.ones(2, 1, 9, 1, 1)
    mask[:, :, 0] = 0.0  # image-to-video first frame
    mask[1, :, 5] = 0.7  # partly kept in one batch item
    assert pinned_frames(mask, 9) == [0, 5]
    assert pinned_frames(mask, 9, guide_frames=[8, 3]) == [0, 3, 5, 8]
    assert pinned_frames(None, 9) == []
    assert pinned_frames(torch.ones(1, 1, 1, 1, 1), 9) == []
    assert pinned_frames(torch.full((1, 1, 1, 1, 1), 0.5), 4) == [0, 1, 2, 3]  # uniform partial: all
    with pytest.raises(ValueError, match="guide_frames must hold frame indices in \\[0, 8\\], got 9"):
        pinned_frames(None, 9, guide_frames=[9])
    with pytest.raises(ValueError, match="noise_mask must have 1 or at least 9 frames, got 4"):
        pinned_frames(torch.ones(1, 1, 4, 1, 1), 9)


def test_layout_selects_and_expands_with_appended_guide_frames():
    mask = torch.ones(1, 1, 11, 1, 1)
    mask[:, :, 0] = 0.0
    layout = plan_keyframes(9, 4, 24.0, noise_mask=mask, guide_frames=[5], appended_frames=2)
    assert list(layout.plan.diffused) == [0, 4, 5, 8]
    assert list(layout.plan.pinned) == [0, 5]
    assert layout.effective_fps == pytest.approx(6.0)
    latent = torch.randn(1, 3, 11, 2, 2)
    keys = layout.select(latent)
    assert keys.shape[2] == 6
    assert torch.equal(keys[:, :, 4:], latent[:, :, 9:])  # appended frames ride along
    assert torch.equal(layout.select(mask), mask[:, :, [0, 4, 5, 8, 9, 10]])
    assert layout.select(torch.ones(1, 1, 1, 2, 2)).shape[2] == 1  # broadcast masks pass through
    full = layout.expand(keys, "lerp")
    assert full.shape == latent.shape
    for f in (0, 4, 5, 8, 9, 10):
        assert torch.equal(full[:, :, f], latent[:, :, f])
    assert torch.allclose(full[:, :, 2], 0.5 * (latent[:, :, 0] + latent[:, :, 4]))
    back = layout.scatter(torch.zeros_like(latent), keys)
    assert torch.equal(back[:, :, [0, 4, 5, 8, 9, 10]], keys)
    with pytest.raises(ValueError, match="x must have 11 frames along dim 2, got 9"):
        layout.select(latent[:, :, :9])
    with pytest.raises(ValueError, match="appended_frames must be an integer >= 0"):
        plan_keyframes(9, 2, 24.0, appended_frames=-1)


def test_renoise_is_flow_matching_and_keeps_conditioning_clean():
    x0 = torch.randn(1, 4, 3, 2, 2)
    noise = torch.randn_like(x0)
    out = renoise(x0, noise, 0.35)
    assert torch.allclose(out, 0.65 * x0 + 0.35 * noise)
    mask = torch.ones(1, 1, 3, 1, 1)
    mask[:, :, 0] = 0.0
    kept = renoise(x0, noise, 0.35, mask)
    assert torch.equal(kept[:, :, 0], x0[:, :, 0])
    assert torch.allclose(kept[:, :, 1:], out[:, :, 1:])
    assert renoise(x0.bfloat16(), noise, 1.0).dtype == torch.bfloat16
    with pytest.raises(ValueError, match="sigma must be in \\[0, 1\\], got 1.5"):
        renoise(x0, noise, 1.5)
    with pytest.raises(ValueError, match="noise must have the shape of x0"):
        renoise(x0, noise[:, :2], 0.5)


def test_refine_schedule_is_the_tail_of_the_schedule():
    linear = torch.linspace(1.0, 0.0, 31)
    tail = refine_schedule(linear, 0.35, 3)
    assert torch.allclose(tail, torch.tensor([0.35, 0.35 * 2 / 3, 0.35 / 3, 0.0]), atol=1e-6)
    # A shifted schedule keeps its shape: the refine sigmas lie on it.
    shifted = torch.tensor([1.0, 0.95, 0.88, 0.75, 0.55, 0.3, 0.1, 0.0])
    tail = refine_schedule(shifted, 0.6, 4)
    assert float(tail[0]) == pytest.approx(0.6) and float(tail[-1]) == 0.0
    assert bool((tail[1:] < tail[:-1]).all())
    assert refine_schedule(shifted, 1.0, 2)[0] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="refine_steps must be an integer >= 1, got 0"):
        refine_schedule(linear, 0.3, 0)
    with pytest.raises(ValueError, match="refine_strength must be above 0 for a refine phase, got 0"):
        refine_schedule(linear, 0.0, 2)
    with pytest.raises(ValueError, match="sigmas must be non-increasing"):
        refine_schedule(torch.tensor([0.1, 0.5, 0.0]), 0.3, 2)


def test_refine_strength_at_or_below_the_last_sigma_is_an_error():
    with pytest.raises(
        ValueError, match="refine_strength must be above the schedule's last sigma 0.1, got 0.05"
    ):
        refine_schedule([1.0, 0.6, 0.3, 0.1], 0.05, 3)
    tail = refine_schedule([1.0, 0.6, 0.3, 0.1], 0.2, 3)
    assert bool((tail[1:] <= tail[:-1]).all()) and float(tail[0]) == pytest.approx(0.2)
