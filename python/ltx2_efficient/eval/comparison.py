"""Same-seed comparison of an efficient run against its dense reference, as JSON-ready dicts.

Every host's efficiency check and ``ltx2eff eval`` compare through these functions, and these
take every number from :mod:`ltx2_efficient.eval.metrics`:

- :func:`compare_videos`: PSNR and SSIM per frame and over the clip, with the keyframes (frames
  the efficient run diffused) and the interpolated frames reported apart; motion magnitude ratio,
  motion error and flicker of both.
- :func:`compare_latents`: the same on latents ``[B, C, F, H, W]`` when no decoder is at hand
  (PSNR over the reference's value range; SSIM where the latent frames fit the SSIM window).
- :func:`compare_audio`: log-mel distance and RMS ratio of two waveforms.
- :func:`keyframe_mask`: which decoded frames belong to diffused latent frames.

PSNR of identical content is infinite: it is reported as ``None`` with ``identical: true``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ltx2_efficient.eval import metrics

TEMPORAL_FACTOR = 8  # LTX pixel frames per latent frame (the first latent frame holds one)
CHUNK_FRAMES = 4  # frames compared at a time (a 1280x704 frame is 21 MB in float64)


def keyframe_mask(keyframes: Sequence[int] | None, latent_frames: int, video_frames: int) -> np.ndarray:
    """Per decoded frame: True where it comes from a diffused latent frame.

    ``keyframes`` None means every frame was diffused. Decoded clips have either one frame per
    latent frame or LTX's ``8 (F - 1) + 1`` (latent frame 0 holds one pixel frame, each later one 8).
    """
    if latent_frames < 1:
        raise ValueError(f"latent_frames must be at least 1, got {latent_frames}")
    latent = np.zeros(latent_frames, dtype=bool)
    if keyframes is None:
        latent[:] = True
    else:
        for f in keyframes:
            if not 0 <= int(f) < latent_frames:
                raise ValueError(f"keyframe {f} is outside the {latent_frames} latent frames")
            latent[int(f)] = True
    if video_frames == latent_frames:
        return latent
    if video_frames == TEMPORAL_FACTOR * (latent_frames - 1) + 1:
        return np.concatenate([latent[:1], np.repeat(latent[1:], TEMPORAL_FACTOR)])
    raise ValueError(
        f"a clip of {video_frames} frames matches neither {latent_frames} latent frames nor "
        f"{TEMPORAL_FACTOR * (latent_frames - 1) + 1} decoded frames"
    )


def compare_videos(
    video: np.ndarray,
    reference: np.ndarray,
    keyframes: np.ndarray | None = None,
    data_range: float = 1.0,
    space: str = "pixels",
    chunk: int = CHUNK_FRAMES,
) -> dict[str, Any]:
    """``video`` against ``reference`` (both ``[F, H, W, C]``); ``keyframes`` a per-frame bool
    mask (None = all keyframes). Frames too small for SSIM report ``ssim: None``.

    Works through ``chunk`` frames at a time (plus the one or two frames before a chunk that the
    temporal measures need), so a long full-resolution clip never exists in float64 at once.
    """
    if np.shape(video) != np.shape(reference):
        raise ValueError(
            f"video and reference must have the same shape, got {np.shape(video)} and {np.shape(reference)}"
        )
    if len(np.shape(video)) != 4 or np.shape(video)[0] == 0:
        raise ValueError(f"video must be [F, H, W, C] with at least one frame, got shape {np.shape(video)}")
    frames = int(np.shape(video)[0])
    mask = np.ones(frames, dtype=bool) if keyframes is None else np.asarray(keyframes, dtype=bool)
    if mask.shape != (frames,):
        raise ValueError(f"keyframes must hold one flag per frame ({frames}), got shape {mask.shape}")
    with_ssim = metrics.ssim_fits(video)
    psnr_frames, ssim_frames = [], []
    sums = dict.fromkeys(("motion", "reference_motion", "motion_error", "flicker", "reference_flicker"), 0.0)
    identical = True
    for start in range(0, frames, chunk):
        end = min(start + chunk, frames)
        a, b = np.asarray(video[start:end]), np.asarray(reference[start:end])
        identical = identical and bool(np.array_equal(a, b))
        psnr_frames.append(metrics.psnr_per_frame(a, b, data_range))
        if with_ssim:
            ssim_frames.append(metrics.ssim_per_frame(a, b, data_range))
        _add_temporal(sums, video, reference, start, end)
    psnr_all = np.concatenate(psnr_frames)
    ssim_all = np.concatenate(ssim_frames) if with_ssim else None
    pairs, triples = max(frames - 1, 1), max(frames - 2, 1)
    motion, reference_motion = sums["motion"] / pairs, sums["reference_motion"] / pairs
    flicker, reference_flicker = sums["flicker"] / triples, sums["reference_flicker"] / triples
    return {
        "space": space,
        "frames": frames,
        "identical": identical,
        "psnr_db": _clip_psnr(psnr_all, data_range),
        "ssim": None if ssim_all is None else float(np.mean(ssim_all)),
        "psnr_per_frame": [_finite(v) for v in psnr_all],
        "ssim_per_frame": None if ssim_all is None else [float(v) for v in ssim_all],
        "keyframes": _subset(psnr_all, ssim_all, mask, data_range),
        "interpolated": _subset(psnr_all, ssim_all, ~mask, data_range),
        "motion_magnitude": motion,
        "reference_motion_magnitude": reference_motion,
        "motion_ratio": motion / reference_motion if reference_motion > 0 else 1.0,
        "motion_error": sums["motion_error"] / pairs,
        "flicker": flicker,
        "reference_flicker": reference_flicker,
        "flicker_ratio": flicker / reference_flicker if reference_flicker > 0 else 1.0,
    }


def _add_temporal(sums: dict[str, float], video: Any, reference: Any, start: int, end: int) -> None:
    """Adds the frame pairs and triples ending in [start, end) to the temporal sums: each
    metric's mean over a window that reaches back 1 (pairs) or 2 (triples) frames, times the
    pairs or triples in it, so every pair and triple of the clip counts exactly once."""
    lo1, lo2 = max(start - 1, 0), max(start - 2, 0)
    a1, b1 = np.asarray(video[lo1:end]), np.asarray(reference[lo1:end])
    n1 = a1.shape[0] - 1
    if n1 > 0:
        sums["motion"] += metrics.motion_magnitude(a1) * n1
        sums["reference_motion"] += metrics.motion_magnitude(b1) * n1
        sums["motion_error"] += metrics.motion_error(a1, b1) * n1
    a2, b2 = np.asarray(video[lo2:end]), np.asarray(reference[lo2:end])
    n2 = a2.shape[0] - 2
    if n2 > 0:
        sums["flicker"] += metrics.temporal_flicker(a2) * n2
        sums["reference_flicker"] += metrics.temporal_flicker(b2) * n2


def _clip_psnr(psnr_frames: np.ndarray, data_range: float) -> float | None:
    """The whole clip's PSNR from the per-frame values (equal-sized frames: mean of their MSE)."""
    with np.errstate(over="ignore"):
        mse = np.where(np.isinf(psnr_frames), 0.0, data_range * data_range / 10.0 ** (psnr_frames / 10.0))
    value = float(np.mean(mse))
    return None if value == 0.0 else 10.0 * math.log10(data_range * data_range / value)


def compare_latents(latent: Any, reference: Any, keyframes: Sequence[int] | None = None) -> dict[str, Any]:
    """Latents ``[B, C, F, H, W]`` (torch or numpy) compared frame by frame over every batch
    item: channels play the role of colours, the PSNR peak is the reference's value range."""
    a, b = _latent_frames(latent), _latent_frames(reference)
    if a.shape != b.shape:
        raise ValueError(f"latents must have the same shape, got {a.shape} and {b.shape}")
    batch, frames = a.shape[0], a.shape[1]
    mask = np.tile(keyframe_mask(keyframes, frames, frames), batch)
    flat_a, flat_b = a.reshape(-1, *a.shape[2:]), b.reshape(-1, *b.shape[2:])
    span = float(flat_b.max() - flat_b.min())
    result = compare_videos(flat_a, flat_b, mask, data_range=span if span > 0 else 1.0, space="latent")
    result["max_abs_diff"] = float(np.max(np.abs(flat_a - flat_b)))
    return result


def compare_audio(wave: Any, reference: Any, sample_rate: float) -> dict[str, Any]:
    """Waveforms ``[B, C, T]``, ``[C, T]`` or ``[T]`` (torch or numpy) at ``sample_rate``."""
    a, b = _waveform(wave), _waveform(reference)
    return {
        "space": "waveform",
        "sample_rate": float(sample_rate),
        "identical": bool(np.array_equal(a, b)),
        "log_mel_distance_db": metrics.log_mel_distance(a, b, sample_rate),
        "rms_ratio": _finite(metrics.rms_ratio(a, b)),
    }


def compare_audio_latents(latent: Any, reference: Any) -> dict[str, Any]:
    """Audio latents (no decoder): relative L2 error and RMS ratio of the latent values."""
    a, b = _numpy(latent).ravel(), _numpy(reference).ravel()
    if a.shape != b.shape:
        raise ValueError(f"audio latents must have the same shape, got {a.shape} and {b.shape}")
    norm = float(np.linalg.norm(b))
    return {
        "space": "latent",
        "identical": bool(np.array_equal(a, b)),
        "relative_error": float(np.linalg.norm(a - b)) / norm if norm > 0 else float(np.linalg.norm(a)),
        "rms_ratio": _finite(metrics.rms_ratio(a, b)),
    }


def _subset(
    psnr_frames: np.ndarray, ssim_frames: np.ndarray | None, mask: np.ndarray, data_range: float
) -> dict[str, Any]:
    """PSNR of the frames ``mask`` selects taken together, their mean and worst per-frame PSNR
    and SSIM (identical frames counted apart)."""
    if not mask.any():
        return {"frames": 0}
    selected = psnr_frames[mask]
    finite = selected[np.isfinite(selected)]
    out: dict[str, Any] = {
        "frames": int(mask.sum()),
        "identical_frames": int(selected.size - finite.size),
        "psnr_db": _clip_psnr(selected, data_range),
        "psnr_mean_db": float(np.mean(finite)) if finite.size else None,
        "psnr_min_db": float(np.min(finite)) if finite.size else None,
    }
    if ssim_frames is not None:
        out["ssim_mean"] = float(np.mean(ssim_frames[mask]))
        out["ssim_min"] = float(np.min(ssim_frames[mask]))
    return out


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().float().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def _latent_frames(latent: Any) -> np.ndarray:
    """``[B, C, F, H, W]`` -> ``[B, F, H, W, C]``."""
    x = _numpy(latent)
    if x.ndim != 5:
        raise ValueError(f"latent must be [B, C, F, H, W], got shape {x.shape}")
    return np.moveaxis(x, 1, -1)


def _waveform(wave: Any) -> np.ndarray:
    """Batch items side by side as channels: ``[B, C, T]`` -> ``[B*C, T]``."""
    x = _numpy(wave)
    if x.ndim == 3:
        x = x.reshape(-1, x.shape[-1])
    return x
