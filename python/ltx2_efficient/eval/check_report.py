"""The efficiency check's report: one request run dense and with the settings, compared.

Every host builds the same JSON-ready report from the same parts (ComfyUI's node and
``hosts.ltx_core.efficiency_check``): :func:`check_report` holds the settings and each run's
timings, :func:`fidelity_section` the comparisons of :mod:`ltx2_efficient.eval.comparison` (video
latents always; decoded frames and audio waveforms when the host could decode them), and
:func:`summary_text` turns it into the few lines a node shows. :func:`side_by_side` lays the two
runs' frames out next to each other (and their difference).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from ltx2_efficient.eval.comparison import (
    compare_audio,
    compare_audio_latents,
    compare_latents,
    compare_videos,
    keyframe_mask,
)

LAYOUTS = ("dense | efficient | difference", "dense | efficient")
DIFFERENCE_GAIN = 4.0  # the difference panel shows |efficient - dense| x 4 (small errors visible)


def check_report(
    settings: Any, dense: dict[str, Any], efficient: dict[str, Any], steps: int, seed: Any
) -> dict[str, Any]:
    """The report's head: what was checked and each run's timings (``wall_s``, ``model_s``,
    ``model_calls``, ``peak_vram_mb`` or None, ``log_line``) with the speedups."""

    def ratio(a: float, b: float) -> float | None:
        return a / b if b > 0 else None

    return {
        "kind": "ltx2eff.efficiency_check",
        "settings": settings.describe(),
        "preset": settings.preset,
        "knobs": settings.to_dict(),
        "steps": steps,
        "seed": seed if isinstance(seed, int) and not isinstance(seed, bool) else None,
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "dense": dense,
        "efficient": efficient,
        "speedup_wall": ratio(dense["wall_s"], efficient["wall_s"]),
        "speedup_model": ratio(dense["model_s"], efficient["model_s"]),
        "notes": [],
    }


def fidelity_section(
    keyframes: Sequence[int] | None,
    dense_video: Any,
    efficient_video: Any,
    *,
    frames: tuple[np.ndarray, np.ndarray] | None = None,
    audio_latents: tuple[Any, Any] | None = None,
    waves: tuple[np.ndarray, np.ndarray] | None = None,
    sample_rate: float | None = None,
) -> dict[str, Any]:
    """The comparisons: video latents ``[B, C, F, H, W]`` always; ``frames`` (dense, efficient)
    decoded ``[B, F', H, W, 3]`` in [0, 1] when given; audio waveforms ``waves`` (dense,
    efficient) ``[B, C, T]`` at ``sample_rate`` when given, else the audio latents. ``frames``
    comes back under the same key for the comparison image (hosts pop it)."""
    out: dict[str, Any] = {
        "keyframes": None if keyframes is None else [int(f) for f in keyframes],
        "video_latent": compare_latents(efficient_video, dense_video, keyframes),
        "video": None,
        "audio": None,
        "frames": frames,
        "notes": [],
    }
    if frames is not None:
        reference, video = frames
        mask = np.tile(
            keyframe_mask(keyframes, int(dense_video.shape[2]), reference.shape[1]), reference.shape[0]
        )
        out["video"] = compare_videos(
            video.reshape(-1, *video.shape[2:]), reference.reshape(-1, *reference.shape[2:]), mask
        )
    if waves is not None:
        if sample_rate is None:
            raise ValueError("sample_rate is required with audio waveforms")
        out["audio"] = compare_audio(waves[1], waves[0], sample_rate)
    elif audio_latents is not None:
        out["audio"] = compare_audio_latents(audio_latents[1], audio_latents[0])
    return out


def side_by_side(dense: np.ndarray, efficient: np.ndarray, with_difference: bool = True) -> np.ndarray:
    """Frames ``[B, F, H, W, 3]`` of both runs as ``[B*F, H, 2W or 3W, 3]`` float32:
    dense | efficient (| difference x4)."""
    panels = [dense, efficient]
    if with_difference:
        panels.append(np.clip(np.abs(efficient - dense) * DIFFERENCE_GAIN, 0.0, 1.0))
    joined = np.concatenate(panels, axis=-2)
    return np.ascontiguousarray(joined.reshape(-1, *joined.shape[2:]), dtype=np.float32)


def summary_text(report: dict[str, Any]) -> str:
    """The report in a few lines, for the node and the log."""
    dense, eff = report["dense"], report["efficient"]

    def times(run: dict[str, Any]) -> str:
        vram = f", peak VRAM {run['peak_vram_mb'] / 1024:.2f} GB" if run["peak_vram_mb"] is not None else ""
        return f"{run['wall_s']:.2f} s (model {run['model_s']:.2f} s, {run['model_calls']} calls{vram})"

    speed = "; ".join(
        f"{value:.2f}x {name}"
        for name, value in (
            ("wall time", report["speedup_wall"]),
            ("model-call time", report["speedup_model"]),
        )
        if value is not None
    )
    lines = [
        f"checked: {report['settings']}",
        f"dense {times(dense)}; efficient {times(eff)}: speedup {speed or 'not measured'}",
        _video_line(report["video"] or report["video_latent"]),
    ]
    audio = report["audio"]
    if audio is not None:
        rms = f"{audio['rms_ratio']:.3f}x" if audio["rms_ratio"] is not None else "n/a (dense silent)"
        if audio["space"] == "waveform":
            lines.append(f"audio: log-mel distance {audio['log_mel_distance_db']:.2f} dB, RMS {rms}")
        else:
            lines.append(f"audio (latent): relative error {audio['relative_error']:.4f}, RMS {rms}")
    lines.append(f"efficient run: {eff['log_line']}")
    lines.extend(f"note: {note}" for note in report["notes"])
    return "\n".join(lines)


def _db(value: float | None) -> str:
    return "identical" if value is None else f"{value:.2f} dB"


def _video_line(video: dict[str, Any]) -> str:
    if video["identical"]:
        return f"video ({video['space']}): identical to dense in every frame"
    finite = [v for v in video["psnr_per_frame"] if v is not None]
    worst = f" (worst frame {min(finite):.2f} dB)" if finite else ""
    text = f"video ({video['space']}): PSNR {_db(video['psnr_db'])}{worst}"
    if video["ssim"] is not None:
        text += f", SSIM {video['ssim']:.4f} (worst frame {min(video['ssim_per_frame']):.4f})"
    key, inter = video["keyframes"], video["interpolated"]
    if inter["frames"]:
        text += f"; keyframes {_db(key.get('psnr_mean_db'))}, interpolated {_db(inter.get('psnr_mean_db'))}"
    text += f"; motion {video['motion_ratio']:.3f}x, flicker {video['flicker_ratio']:.3f}x"
    return text
