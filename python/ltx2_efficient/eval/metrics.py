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
- ``psnr_per_frame`` / ``ssim_per_frame``: the same two measures, one value per frame.

Audio metrics on waveforms ``[C, T]`` (or ``[T]``) at one sample rate:

- ``log_mel_spectrogram``: power spectrogram (Hann window) through a triangular mel filter bank
  (HTK mel scale), in dB.
- ``log_mel_distance``: mean absolute difference of two log-mel spectrograms in dB, both floored
  at ``LOG_MEL_RANGE_DB`` below the reference's peak (silence does not dominate).
- ``rms_ratio``: RMS level of a waveform over the reference's (1 = same loudness).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_K1 = 0.01
SSIM_K2 = 0.03
LOG_MEL_FFT = 1024
LOG_MEL_HOP = 256
LOG_MEL_BANDS = 64
LOG_MEL_RANGE_DB = 80.0


def psnr(video: np.ndarray, reference: np.ndarray, data_range: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB; ``inf`` for identical videos."""
    a, b = _pair(video, reference)
    mse = float(np.mean((a - b) ** 2))
    if mse == 0.0:
        return math.inf
    return 10.0 * math.log10(data_range * data_range / mse)


def psnr_per_frame(video: np.ndarray, reference: np.ndarray, data_range: float = 1.0) -> np.ndarray:
    """PSNR of every frame in dB ``[F]``; ``inf`` where a frame is identical."""
    a, b = _pair(video, reference)
    mse = np.mean((a - b) ** 2, axis=(1, 2, 3))
    with np.errstate(divide="ignore"):
        return np.where(
            mse == 0.0, np.inf, 10.0 * np.log10(data_range * data_range / np.maximum(mse, 1e-300))
        )


def ssim(video: np.ndarray, reference: np.ndarray, data_range: float = 1.0) -> float:
    """Mean structural similarity over frames and channels (1 for identical videos)."""
    return float(np.mean(ssim_per_frame(video, reference, data_range)))


def ssim_fits(video: np.ndarray) -> bool:
    """Whether frames are large enough for the SSIM window."""
    shape = np.shape(video)
    return len(shape) == 4 and shape[1] >= SSIM_WINDOW and shape[2] >= SSIM_WINDOW


def ssim_per_frame(video: np.ndarray, reference: np.ndarray, data_range: float = 1.0) -> np.ndarray:
    """Structural similarity of every frame ``[F]``, averaged over its channels."""
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
    return np.mean(index, axis=(1, 2, 3))


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


def mel_filter_bank(sample_rate: float, n_fft: int = LOG_MEL_FFT, bands: int = LOG_MEL_BANDS) -> np.ndarray:
    """Triangular filters ``[bands, n_fft // 2 + 1]`` evenly spaced on the HTK mel scale up to
    the Nyquist frequency, each peaking at 1."""
    if not sample_rate > 0 or not math.isfinite(sample_rate):
        raise ValueError(f"sample_rate must be a positive number, got {sample_rate!r}")
    if bands < 1 or n_fft < 2 * bands:
        raise ValueError(f"bands must be in [1, n_fft / 2], got {bands} for n_fft {n_fft}")
    mel_max = 2595.0 * math.log10(1.0 + sample_rate / 2.0 / 700.0)
    hz = 700.0 * (10.0 ** (np.linspace(0.0, mel_max, bands + 2) / 2595.0) - 1.0)
    bins = np.linspace(0.0, sample_rate / 2.0, n_fft // 2 + 1)
    lower, centre, upper = hz[:-2, None], hz[1:-1, None], hz[2:, None]
    rising = (bins[None] - lower) / np.maximum(centre - lower, 1e-12)
    falling = (upper - bins[None]) / np.maximum(upper - centre, 1e-12)
    return np.clip(np.minimum(rising, falling), 0.0, None)


def log_mel_spectrogram(
    wave: np.ndarray, sample_rate: float, n_fft: int = LOG_MEL_FFT, hop: int = LOG_MEL_HOP
) -> np.ndarray:
    """Log-mel power ``[C, frames, LOG_MEL_BANDS]`` in dB of a waveform ``[C, T]`` or ``[T]``
    (zero-padded to one window when shorter)."""
    x = _wave(wave)
    if x.shape[1] < n_fft:
        x = np.pad(x, ((0, 0), (0, n_fft - x.shape[1])))
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft, axis=1)[:, ::hop]
    power = np.abs(np.fft.rfft(frames * np.hanning(n_fft), axis=-1)) ** 2
    mel = power @ mel_filter_bank(sample_rate, n_fft).T
    return 10.0 * np.log10(np.maximum(mel, 1e-12))


def log_mel_distance(wave: np.ndarray, reference: np.ndarray, sample_rate: float) -> float:
    """Mean absolute log-mel difference in dB (0 for identical waveforms)."""
    a, b = _wave(wave), _wave(reference)
    if a.shape != b.shape:
        raise ValueError(f"audio and reference must have the same shape, got {a.shape} and {b.shape}")
    mel_a, mel_b = log_mel_spectrogram(a, sample_rate), log_mel_spectrogram(b, sample_rate)
    floor = float(mel_b.max()) - LOG_MEL_RANGE_DB
    return float(np.mean(np.abs(np.maximum(mel_a, floor) - np.maximum(mel_b, floor))))


def rms_ratio(wave: np.ndarray, reference: np.ndarray) -> float:
    """RMS of ``wave`` over the reference's (1 when both are silent, ``inf`` when only the
    reference is)."""
    a, b = _wave(wave), _wave(reference)
    rms_a, rms_b = math.sqrt(float(np.mean(a * a))), math.sqrt(float(np.mean(b * b)))
    if rms_b == 0.0:
        return 1.0 if rms_a == 0.0 else math.inf
    return rms_a / rms_b


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


def _wave(wave: np.ndarray) -> np.ndarray:
    x = np.asarray(wave, dtype=np.float64)
    if x.ndim == 1:
        x = x[None]
    if x.ndim != 2 or x.shape[1] == 0:
        raise ValueError(f"audio must be a waveform [C, T] or [T], got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("audio must hold finite values, got NaN or inf")
    return x


def _pair(video: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = _video(video), _video(reference)
    if a.shape != b.shape:
        raise ValueError(f"video and reference must have the same shape, got {a.shape} and {b.shape}")
    return a, b
