"""Per-frame and audio metrics, and the comparison report every efficiency check builds from them."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from ltx2_efficient.eval.comparison import (
    compare_audio,
    compare_audio_latents,
    compare_latents,
    compare_videos,
    keyframe_mask,
)
from ltx2_efficient.eval.metrics import (
    log_mel_distance,
    log_mel_spectrogram,
    mel_filter_bank,
    psnr,
    psnr_per_frame,
    rms_ratio,
    ssim,
    ssim_per_frame,
)

RATE = 16000.0


def _video(seed: int, frames: int = 5, size: int = 16) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.0, 1.0, (frames, size, size, 3))


def test_per_frame_psnr_and_ssim_agree_with_the_clip_values():
    ref = _video(0)
    video = ref.copy()
    video[1] += 0.1  # MSE 0.01 on frame 1 only -> 20 dB there, identical elsewhere
    frames = psnr_per_frame(video, ref)
    assert frames[1] == pytest.approx(20.0, abs=1e-9)
    assert all(math.isinf(frames[i]) for i in (0, 2, 3, 4))
    assert psnr(video, ref) == pytest.approx(10 * math.log10(1 / (0.01 / 5)), abs=1e-9)
    per_frame = ssim_per_frame(video, ref)
    assert per_frame.shape == (5,) and per_frame[0] == pytest.approx(1.0) and per_frame[1] < 1.0
    assert ssim(video, ref) == pytest.approx(float(per_frame.mean()))


def test_log_mel_of_doubled_noise_is_six_decibels_up_and_rms_doubles():
    noise = np.random.default_rng(1).standard_normal((2, 8000))
    assert log_mel_distance(noise, noise, RATE) == 0.0
    assert log_mel_distance(2.0 * noise, noise, RATE) == pytest.approx(20 * math.log10(2), abs=1e-6)
    assert rms_ratio(2.0 * noise, noise) == pytest.approx(2.0)
    assert rms_ratio(np.zeros(10), np.zeros(10)) == 1.0
    assert rms_ratio(np.ones(10), np.zeros(10)) == math.inf


def test_a_tone_lands_in_the_mel_band_around_its_frequency():
    bank = mel_filter_bank(RATE)
    bins = np.linspace(0, RATE / 2, bank.shape[1])
    centres = bins[np.argmax(bank, axis=1)]
    assert np.all(np.diff(centres) >= 0) and bank.max() <= 1.0 + 1e-12
    t = np.arange(16000) / RATE
    mel = log_mel_spectrogram(np.sin(2 * math.pi * 1000.0 * t), RATE)
    loudest = int(np.argmax(mel[0].mean(axis=0)))
    assert abs(centres[loudest] - 1000.0) < 150.0
    # A different pitch is far away in log-mel terms; the same pitch 1% louder is not.
    tone = np.sin(2 * math.pi * 1000.0 * t)
    moved = log_mel_distance(np.sin(2 * math.pi * 3000.0 * t), tone, RATE)
    louder = log_mel_distance(1.01 * tone, tone, RATE)
    assert moved > 3.0 and moved > 20 * louder


def test_keyframe_mask_maps_latent_frames_to_decoded_frames():
    assert keyframe_mask([0, 2], 3, 3).tolist() == [True, False, True]
    mask = keyframe_mask([0, 2], 3, 17)  # LTX: 1 + 8 + 8 decoded frames
    assert mask.tolist() == [True] + [False] * 8 + [True] * 8
    assert keyframe_mask(None, 3, 17).all()
    with pytest.raises(ValueError, match="matches neither"):
        keyframe_mask([0], 3, 10)
    with pytest.raises(ValueError, match="outside"):
        keyframe_mask([5], 3, 3)


def test_compare_videos_splits_keyframes_from_interpolated_frames():
    ref = _video(2)
    video = ref.copy()
    video[[1, 3]] = np.clip(video[[1, 3]] + 0.05, 0, 1)  # only the in-between frames differ
    report = compare_videos(video, ref, np.array([True, False, True, False, True]))
    assert report["keyframes"]["frames"] == 3 and report["keyframes"]["identical_frames"] == 3
    assert report["keyframes"]["psnr_mean_db"] is None and report["keyframes"]["ssim_min"] == pytest.approx(
        1.0
    )
    assert report["interpolated"]["frames"] == 2 and report["interpolated"]["psnr_min_db"] > 20
    assert report["interpolated"]["ssim_min"] < 1.0
    assert not report["identical"] and report["psnr_db"] is not None
    json.dumps(report, allow_nan=False)  # JSON-clean: no inf/NaN
    same = compare_videos(ref, ref)
    assert same["identical"] and same["psnr_db"] is None and same["motion_ratio"] == 1.0


def test_compare_videos_motion_and_flicker():
    ref = np.zeros((4, 12, 12, 1))
    ref[:, :, :, 0] = np.arange(4)[:, None, None] * 0.1  # uniform change: no flicker
    frozen = np.repeat(ref[:1], 4, axis=0)
    report = compare_videos(frozen, ref)
    assert report["motion_ratio"] == 0.0 and report["reference_flicker"] == pytest.approx(0.0)


def test_compare_latents_small_frames_skip_ssim_and_use_the_reference_range():
    rng = np.random.default_rng(3)
    ref = rng.standard_normal((2, 4, 3, 2, 5))
    other = ref.copy()
    other[:, :, 1] += 0.5
    report = compare_latents(other, ref, keyframes=[0, 2])
    assert report["space"] == "latent" and report["ssim"] is None and report["ssim_per_frame"] is None
    assert report["frames"] == 6  # batch 2 x 3 frames
    assert report["keyframes"]["identical_frames"] == 4 and report["interpolated"]["frames"] == 2
    span = ref.max() - ref.min()
    assert report["interpolated"]["psnr_min_db"] == pytest.approx(10 * math.log10(span**2 / 0.25))
    assert report["max_abs_diff"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="same shape"):
        compare_latents(other[:, :, :2], ref)
    with pytest.raises(ValueError, match=r"\[B, C, F, H, W\]"):
        compare_latents(ref[0], ref[0])


def test_compare_audio_waveforms_and_latents():
    wave = np.random.default_rng(4).standard_normal((1, 2, 4000))
    report = compare_audio(0.5 * wave, wave, RATE)
    assert report["rms_ratio"] == pytest.approx(0.5)
    assert report["log_mel_distance_db"] == pytest.approx(20 * math.log10(2), abs=1e-6)
    silent = compare_audio(wave, np.zeros_like(wave), RATE)
    assert silent["rms_ratio"] is None  # infinite: not a JSON number
    latent = compare_audio_latents(wave * 1.1, wave)
    assert latent["relative_error"] == pytest.approx(0.1) and latent["rms_ratio"] == pytest.approx(1.1)
    with pytest.raises(ValueError, match="finite"):
        compare_audio(np.full(100, np.nan), np.zeros(100), RATE)
    with pytest.raises(ValueError, match="sample_rate"):
        compare_audio(wave, wave, 0.0)


def test_chunked_comparison_equals_the_whole_clip_metrics():
    from ltx2_efficient.eval import metrics

    ref = _video(5, frames=11)
    video = np.clip(ref + np.random.default_rng(6).normal(0, 0.05, ref.shape), 0, 1)
    for chunk in (1, 2, 3, 4, 11):
        report = compare_videos(video, ref, chunk=chunk)
        assert report["psnr_db"] == pytest.approx(metrics.psnr(video, ref), rel=1e-9)
        assert report["ssim"] == pytest.approx(metrics.ssim(video, ref), rel=1e-9)
        assert report["motion_magnitude"] == pytest.approx(metrics.motion_magnitude(video), rel=1e-9)
        assert report["motion_error"] == pytest.approx(metrics.motion_error(video, ref), rel=1e-9)
        assert report["flicker"] == pytest.approx(metrics.temporal_flicker(video), rel=1e-9)
        assert report["reference_flicker"] == pytest.approx(metrics.temporal_flicker(ref), rel=1e-9)
