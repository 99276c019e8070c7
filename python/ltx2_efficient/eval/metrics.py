"""Video fidelity metrics on RGB frames ``[F, H, W, C]`` with values in [0, 1] (numpy, float64).

- ``psnr``: 10 log10(1 / MSE) over the whole clip.
- ``ssim``: Wang et al. 2004 with an 11-tap Gaussian window (sigma 1.5) over the valid region,
  per channel, averaged over channels and frames.
- ``temporal_flicker``: mean |x[t+1] - 2 x[t] + x[t-1]|, the temporal second difference: zero
  for still or uniformly moving content, large when frames jitter.
- ``motion_magnitude``: mean |x[t+1] - x[t]|, how much the video changes per frame; caching
  shortcuts that freeze motion lower it.
- ``motion_error``: mean |(x[t+1] - x[t]) - (r[t+1] - r[t])| against a reference video.
- ``object_track``: for clips of one moving object on a still background, the object's centroid
  per frame and how far it jumps between frames, and the frames where it all but vanishes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_K1 = 0.01
SSIM_K2 = 0.03


def psnr(video: np.ndarray, reference: np.ndarray, data_range: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB; ``inf`` for identical videos."""
    a, b = _pair(video, reference)
    mse = float(np.mean((a - b) ** 2))
    if mse == 0.0:
        return math.inf
    return 10.0 * math.log10(data_range * data_range / mse)


def ssim(video: np.ndarray, reference: np.ndarray, data_range: float = 1.0) -> float:
    """Mean structural similarity over frames and channels (1 for identical videos)."""
    a, b = _pair(video, reference)
    if a.shape[1] < SSIM_WINDOW or a.shape[2] < SSIM_WINDOW:
        raise ValueError(
            f"frames must be at least {SSIM_WINDOW}x{SSIM_WINDOW} for SSIM, got {a.shape[1]}x{a.shape[2]}"
        )
    c1 = (SSIM_K1 * data_range) ** 2
    c2 = (SSIM_K2 * data_range) ** 2
    mu_a, mu_b = _blur(a), _blur(b)
    var_a = _blur(a * a) - mu_a**2
    var_b = _blur(b * b) - mu_b**2
    cov = _blur(a * b) - mu_a * mu_b
    index = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return float(np.mean(index))


def temporal_flicker(video: np.ndarray) -> float:
    """Mean absolute temporal second difference (0 for clips shorter than 3 frames)."""
    x = _video(video)
    if x.shape[0] < 3:
        return 0.0
    return float(np.mean(np.abs(x[2:] - 2.0 * x[1:-1] + x[:-2])))


def motion_magnitude(video: np.ndarray) -> float:
    """Mean absolute difference between consecutive frames (0 for a single frame)."""
    x = _video(video)
    if x.shape[0] < 2:
        return 0.0
    return float(np.mean(np.abs(np.diff(x, axis=0))))


def motion_error(video: np.ndarray, reference: np.ndarray) -> float:
    """Mean absolute difference of the frame-to-frame changes of two videos."""
    a, b = _pair(video, reference)
    if a.shape[0] < 2:
        return 0.0
    return float(np.mean(np.abs(np.diff(a, axis=0) - np.diff(b, axis=0))))


@dataclass(frozen=True)
class ObjectTrack:
    """Where the moving content of a clip is, frame by frame (pixels; NaN where nothing moves)."""

    centroids: np.ndarray  # [F, 2] (x, y)
    areas: np.ndarray  # [F] foreground pixels

    @property
    def max_jump(self) -> float:
        """Largest centroid displacement between consecutive frames (0 when it never moves)."""
        jumps = np.linalg.norm(np.diff(self.centroids, axis=0), axis=1)
        return float(np.nanmax(jumps)) if np.isfinite(jumps).any() else 0.0

    @property
    def vanished_frames(self) -> int:
        """Frames whose foreground shrinks below a third of the clip's median (the object fades)."""
        return int(np.sum(self.areas < np.median(self.areas) / 3.0))


def object_track(video: np.ndarray, threshold: float = 0.15) -> ObjectTrack:
    """Foreground = pixels more than ``threshold`` (any channel) from the per-pixel temporal
    median, which is the background when the object moves: a stationary object (rotation, zoom)
    counts only where it changes."""
    x = _video(video)
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must be in (0, 1), got {threshold}")
    mask = np.abs(x - np.median(x, axis=0)).max(axis=-1) > threshold
    ys, xs = np.mgrid[: x.shape[1], : x.shape[2]]
    areas = mask.reshape(x.shape[0], -1).sum(axis=1).astype(np.float64)
    centroids = np.full((x.shape[0], 2), np.nan)
    for f, m in enumerate(mask):
        if m.sum() >= 3:  # a few stray pixels are not an object
            centroids[f] = (xs[m].mean(), ys[m].mean())
    return ObjectTrack(centroids, areas)


def gaussian_window(size: int = SSIM_WINDOW, sigma: float = SSIM_SIGMA) -> np.ndarray:
    """Normalised 1-D Gaussian taps."""
    offsets = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    taps = np.exp(-(offsets**2) / (2.0 * sigma * sigma))
    return taps / taps.sum()


def _blur(x: np.ndarray) -> np.ndarray:
    """Separable Gaussian filter over H and W, valid region only: [F, H-10, W-10, C]."""
    taps = gaussian_window()
    n = taps.size
    rows = sum(taps[k] * x[:, k : x.shape[1] - n + 1 + k] for k in range(n))
    return sum(taps[k] * rows[:, :, k : x.shape[2] - n + 1 + k] for k in range(n))


def _video(video: np.ndarray) -> np.ndarray:
    x = np.asarray(video, dtype=np.float64)
    if x.ndim != 4:
        raise ValueError(f"video must be [F, H, W, C], got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("video must hold finite values, got NaN or inf")
    return x


def _pair(video: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = _video(video), _video(reference)
    if a.shape != b.shape:
        raise ValueError(f"video and reference must have the same shape, got {a.shape} and {b.shape}")
    return a, b
