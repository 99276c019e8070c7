"""Video metrics against values computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ltx2_efficient.eval.metrics import (
    gaussian_window,
    motion_error,
    motion_magnitude,
    object_track,
    psnr,
    ssim,
    temporal_flicker,
)


def _constant(value: float, frames: int = 3, size: int = 16) -> np.ndarray:
    return np.full((frames, size, size, 3), value)


def test_psnr_hand_values():
    assert psnr(_constant(0.1), _constant(0.0)) == pytest.approx(20.0, abs=1e-9)
    # MSE 0.25 -> 10 log10(4)
    assert psnr(_constant(0.5), _constant(0.0)) == pytest.approx(10 * math.log10(4), abs=1e-9)
    # Half the pixels off by 0.2: MSE 0.02 -> 16.9897 dB
    a = _constant(0.3)
    b = a.copy()
    b[:, :8] += 0.2
    assert psnr(a, b) == pytest.approx(10 * math.log10(50), abs=1e-9)
    assert psnr(a, a) == math.inf


def test_gaussian_window_taps():
    taps = gaussian_window()
    assert taps.shape == (11,)
    assert taps.sum() == pytest.approx(1.0)
    # exp(-k^2 / 4.5) for k = -5..5 sums to 3.7592328; the centre tap is its inverse.
    assert taps[5] == pytest.approx(1 / 3.7592328, rel=1e-7)
    assert np.allclose(taps, taps[::-1])


def test_ssim_of_constant_images_is_the_luminance_term():
    c1 = (0.01) ** 2
    expected = (2 * 0.2 * 0.6 + c1) / (0.2**2 + 0.6**2 + c1)
    assert ssim(_constant(0.2), _constant(0.6)) == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(0.600099975, rel=1e-8)


def test_ssim_single_window_against_explicit_weighted_sums():
    rng = np.random.default_rng(3)
    a = rng.random((1, 11, 11, 1))
    b = np.clip(a + 0.1 * rng.standard_normal(a.shape), 0, 1)
    w = np.outer(gaussian_window(), gaussian_window())
    x, y = a[0, :, :, 0], b[0, :, :, 0]
    mx, my = (w * x).sum(), (w * y).sum()
    vx = (w * x * x).sum() - mx * mx
    vy = (w * y * y).sum() - my * my
    cxy = (w * x * y).sum() - mx * my
    c1, c2 = 0.01**2, 0.03**2
    expected = (2 * mx * my + c1) * (2 * cxy + c2) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    assert ssim(a, b) == pytest.approx(expected, rel=1e-12)
    assert 0.0 < expected < 1.0


def test_ssim_identity_symmetry_and_degradation():
    rng = np.random.default_rng(0)
    video = rng.random((4, 24, 24, 3))
    assert ssim(video, video) == pytest.approx(1.0, abs=1e-12)
    noisy = np.clip(video + 0.05 * rng.standard_normal(video.shape), 0, 1)
    noisier = np.clip(video + 0.2 * rng.standard_normal(video.shape), 0, 1)
    assert ssim(video, noisy) == pytest.approx(ssim(noisy, video), rel=1e-12)
    assert 0 < ssim(video, noisier) < ssim(video, noisy) < 1


def test_motion_and_flicker_hand_values():
    ramp = np.stack([np.full((8, 8, 3), 0.1 * t) for t in range(5)])
    assert motion_magnitude(ramp) == pytest.approx(0.1)
    assert temporal_flicker(ramp) == pytest.approx(0.0, abs=1e-12)
    alternating = np.stack([np.full((8, 8, 3), float(t % 2)) for t in range(5)])
    assert motion_magnitude(alternating) == pytest.approx(1.0)
    assert temporal_flicker(alternating) == pytest.approx(2.0)
    frozen = np.repeat(ramp[:1], 5, axis=0)
    assert motion_magnitude(frozen) == 0.0
    assert motion_error(frozen, ramp) == pytest.approx(0.1)
    assert motion_error(ramp, ramp) == 0.0


def test_bad_inputs_raise_with_the_parameter_named():
    with pytest.raises(ValueError, match="same shape"):
        psnr(_constant(0.1, frames=2), _constant(0.1, frames=3))
    bad = _constant(0.1)
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        ssim(bad, _constant(0.1))
    with pytest.raises(ValueError, match="video must be"):
        motion_magnitude(np.zeros((4, 4, 3)))
    with pytest.raises(ValueError, match="at least 11x11"):
        ssim(np.zeros((1, 8, 8, 3)), np.zeros((1, 8, 8, 3)))


def _square_clip(positions: list[tuple[int, int] | None], size: int = 32, side: int = 4) -> np.ndarray:
    """A white square (top-left corner per frame; None: absent) on black."""
    clip = np.zeros((len(positions), size, size, 3))
    for f, pos in enumerate(positions):
        if pos is not None:
            clip[f, pos[1] : pos[1] + side, pos[0] : pos[0] + side] = 1.0
    return clip


def test_object_track_follows_a_moving_square_and_sees_it_jump_and_vanish():
    steady = object_track(_square_clip([(2 + 2 * f, 10) for f in range(8)]))
    np.testing.assert_allclose(steady.centroids[:, 0], [3.5 + 2 * f for f in range(8)])
    np.testing.assert_allclose(steady.centroids[:, 1], 11.5)
    assert steady.max_jump == pytest.approx(2.0)
    assert steady.vanished_frames == 0
    # Frame 4 teleports 16 pixels down and back; frame 6 loses the object.
    positions: list[tuple[int, int] | None] = [(2 + 2 * f, 10) for f in range(8)]
    positions[4] = (10, 26)
    positions[6] = None
    jumpy = object_track(_square_clip(positions))
    assert jumpy.max_jump == pytest.approx(math.hypot(2.0, 16.0))
    assert jumpy.vanished_frames == 1
    assert math.isnan(jumpy.centroids[6, 0])


def test_object_track_rejects_bad_threshold_and_still_clips_have_no_jumps():
    still = _square_clip([(5, 5)] * 4)
    assert object_track(still).max_jump == 0.0  # nothing differs from the median: no foreground
    with pytest.raises(ValueError, match="threshold"):
        object_track(still, threshold=0.0)
