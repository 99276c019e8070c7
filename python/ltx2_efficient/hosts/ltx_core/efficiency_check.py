"""``efficiency_check`` and ``efficiency_sweep``: dense against efficient on the user's ltx-core model.

:func:`efficiency_check` runs :func:`efficient_denoise` twice on the same inputs and the same
seed, first with preset "off" (ltx-core's plain loop, to the bit) and then with the settings,
reporting both runs' wall and model-call time, peak CUDA memory and the comparison of
:mod:`ltx2_efficient.eval.check_report` (video latents always; decoded frames and audio
waveforms when decoders are given). One ``progress`` callback counts both runs; ``cancel``
stops either run and raises :class:`SamplingCancelled` without a report.

:func:`efficiency_sweep` checks several settings against one dense run within a time budget
and returns the Pareto table ``ltx2eff eval`` writes (the same rows and the same rendering).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ltx2_efficient.eval.check_report import check_report, fidelity_section, side_by_side, summary_text
from ltx2_efficient.hosts.ltx_core.call_timer import ModelCallTimer
from ltx2_efficient.hosts.ltx_core.denoise import DenoiseResult, efficient_denoise
from ltx2_efficient.sampler.keyframes import refine_schedule
from ltx2_efficient.sampler.settings import EfficientSettings

VideoDecoder = Callable[[torch.Tensor], Any]  # [B, C, F, H, W] -> frames [B, F', H, W, 3] in [0, 1]
AudioDecoder = Callable[[torch.Tensor], Any]  # [B, C, T, M] -> waveform [B, C, T']
ProgressFn = Callable[[int, int, str], None]
_RESERVED = ("generator", "progress", "cancel")


@dataclass
class EfficiencyCheck:
    """Both runs, their decoded frames (when a decoder was given) and the JSON-ready report."""

    dense: DenoiseResult
    efficient: DenoiseResult
    report: dict[str, Any]
    frames: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    def summary(self) -> str:
        return summary_text(self.report)

    def to_json(self) -> str:
        return json.dumps(self.report, indent=2, allow_nan=False)

    def comparison_frames(self, with_difference: bool = True) -> np.ndarray | None:
        """dense | efficient (| difference x4) frames ``[B*F, H, 2W or 3W, 3]``, or None
        without a video decoder."""
        return None if self.frames is None else side_by_side(*self.frames, with_difference=with_difference)


def _steps_of(settings: EfficientSettings, sigmas: torch.Tensor) -> int:
    """Steps a run will take (the keyframe phase plus refinement), for the shared progress total."""
    steps = int(sigmas.numel()) - 1
    if settings.keyframes_enabled and settings.refine_steps > 0:
        steps += len(refine_schedule(sigmas.cpu(), settings.refine_strength, settings.refine_steps)) - 1
    return steps


def _timed(
    model: torch.nn.Module,
    label: str,
    settings: EfficientSettings,
    seed: int,
    run: Callable[..., DenoiseResult],
) -> tuple[DenoiseResult, dict[str, Any]]:
    parameter = next(model.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    cuda = device.type == "cuda"
    if cuda:
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
    timer = ModelCallTimer(model)
    start = time.perf_counter()
    try:
        result = run(settings, torch.Generator(device=device).manual_seed(seed))
    finally:
        timer.remove()
    if cuda:
        torch.cuda.synchronize(device)
    timing = {
        "label": label,
        "settings": settings.describe(),
        "wall_s": time.perf_counter() - start,
        "model_s": timer.seconds,
        "model_calls": result.report.model_calls,
        "peak_vram_mb": torch.cuda.max_memory_allocated(device) / 2**20 if cuda else None,
        "log_line": result.report.log_line(),
        "report": result.report.to_dict(),
    }
    return result, timing


def _decode_frames(decode: VideoDecoder, latent: torch.Tensor) -> np.ndarray:
    frames = decode(latent)
    frames = frames.detach().float().cpu().numpy() if isinstance(frames, torch.Tensor) else np.asarray(frames)
    if frames.ndim == 4:
        frames = frames[None]
    if frames.ndim != 5 or frames.shape[-1] != 3:
        raise ValueError(f"decode_video must return frames [B, F, H, W, 3], got shape {frames.shape}")
    return np.clip(frames.astype(np.float32), 0.0, 1.0)


def _decode_wave(decode: AudioDecoder, latent: torch.Tensor) -> np.ndarray:
    wave = decode(latent)
    wave = wave.detach().float().cpu().numpy() if isinstance(wave, torch.Tensor) else np.asarray(wave)
    if wave.ndim not in (1, 2, 3):
        raise ValueError(f"decode_audio must return a waveform [B, C, T], got shape {wave.shape}")
    return wave


def efficiency_check(
    model: torch.nn.Module,
    video_latent: torch.Tensor,
    sigmas: torch.Tensor | Sequence[float],
    context: torch.Tensor,
    settings: EfficientSettings,
    frame_rate: float,
    *,
    seed: int = 0,
    decode_video: VideoDecoder | None = None,
    decode_audio: AudioDecoder | None = None,
    sample_rate: float | None = None,
    progress: ProgressFn | None = None,
    cancel: Callable[[], bool] | None = None,
    **denoise_kwargs: Any,
) -> EfficiencyCheck:
    """Checks ``settings`` against the dense run on the request :func:`efficient_denoise` takes.

    Args:
        model, video_latent, sigmas, context, settings, frame_rate: as for ``efficient_denoise``.
        seed: seeds the refinement's re-noising (the same generator state for both runs).
        decode_video: your VAE decoder, latent ``[B, C, F, H, W]`` -> frames ``[B, F', H, W, 3]``
            in [0, 1] (F' = F or LTX's 8 (F - 1) + 1); without it the latents are compared.
        decode_audio: latent -> waveform ``[B, C, T]``, with ``sample_rate`` (LTX-2 audio).
        progress: ``progress(done, total, phase)`` over both runs (phases "dense ..." and
            "efficient ...").
        cancel: checked before every step; True raises ``SamplingCancelled``.
        denoise_kwargs: the rest of ``efficient_denoise``'s keyword arguments (negative_context,
            cfg_scale, audio, denoise_mask, clean_latent, guides, upsampler, ...).

    Raises ValueError naming the bad argument (before anything runs).
    """
    reserved = [k for k in _RESERVED if k in denoise_kwargs]
    if reserved:
        raise ValueError(
            f"efficiency_check sets {', '.join(reserved)} itself (use seed=, progress=, cancel=)"
        )
    if not isinstance(settings, EfficientSettings):
        raise ValueError(f"settings must be an EfficientSettings, got {type(settings).__name__}")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise ValueError(f"seed must be an integer in [0, 2^63), got {seed!r}")
    if decode_audio is not None and (denoise_kwargs.get("audio") is None or sample_rate is None):
        raise ValueError("decode_audio needs an audio stream (audio=) and its sample_rate")
    for name, fn in (("decode_video", decode_video), ("decode_audio", decode_audio)):
        if fn is not None and not callable(fn):
            raise ValueError(f"{name} must be callable, got {type(fn).__name__}")
    sigmas_t = torch.as_tensor(sigmas, dtype=torch.float32).flatten()
    dense_steps = int(sigmas_t.numel()) - 1
    planned = dense_steps + _steps_of(settings, sigmas_t)

    def run_with(label: str, offset: int) -> Callable[[EfficientSettings, torch.Generator], DenoiseResult]:
        def report_step(done: int, total: int, phase: str) -> None:
            if progress is not None:
                progress(offset + done, max(planned, offset + total), f"{label} {phase}")

        def run(s: EfficientSettings, generator: torch.Generator) -> DenoiseResult:
            return efficient_denoise(
                model, video_latent, sigmas, context, s, frame_rate,
                generator=generator, progress=report_step, cancel=cancel, **denoise_kwargs,
            )  # fmt: skip

        return run

    dense, dense_time = _timed(model, "dense", EfficientSettings.off(), seed, run_with("dense", 0))
    efficient, eff_time = _timed(model, "efficient", settings, seed, run_with("efficient", dense_steps))
    report = check_report(settings, dense_time, eff_time, dense_steps, seed)
    frames = None
    if decode_video is not None:
        frames = (_decode_frames(decode_video, dense.video), _decode_frames(decode_video, efficient.video))
    else:
        report["notes"].append("no decode_video given: video compared in latent space only")
    audio_latents = (
        (dense.audio, efficient.audio) if dense.audio is not None and efficient.audio is not None else None
    )
    waves = None
    if decode_audio is not None and audio_latents is not None:
        waves = (_decode_wave(decode_audio, dense.audio), _decode_wave(decode_audio, efficient.audio))
    elif audio_latents is not None:
        report["notes"].append("no decode_audio given: audio compared in latent space (no log-mel distance)")
    section = fidelity_section(
        efficient.report.keyframes, dense.video, efficient.video,
        frames=frames, audio_latents=audio_latents, waves=waves, sample_rate=sample_rate,
    )  # fmt: skip
    section.pop("frames")
    report["notes"].extend(section.pop("notes"))
    report.update(section)
    return EfficiencyCheck(dense, efficient, report, frames)


@dataclass
class Sweep:
    """The rows of the settings that ran (``ltx2eff eval``'s row format, fronts marked), the
    rendered table, the checks themselves, and the labels left out when the budget ran out."""

    rows: list[dict[str, Any]]
    table: str
    checks: dict[str, EfficiencyCheck]
    skipped: list[str]


def efficiency_sweep(
    model: torch.nn.Module,
    video_latent: torch.Tensor,
    sigmas: torch.Tensor | Sequence[float],
    context: torch.Tensor,
    candidates: Mapping[str, EfficientSettings],
    frame_rate: float,
    *,
    time_budget_s: float,
    **check_kwargs: Any,
) -> Sweep:
    """Checks each of ``candidates`` (label -> settings, in order) until ``time_budget_s`` seconds
    are spent; a candidate starts only while the time so far plus the longest check so far fits.

    Returns the Pareto table of speedup against fidelity on this model and request.
    """
    from ltx2_efficient.eval.cli import aggregate, mark_fronts, render_table

    if not candidates:
        raise ValueError("candidates must name at least one setting")
    if (
        isinstance(time_budget_s, bool)
        or not isinstance(time_budget_s, (int, float))
        or not time_budget_s > 0
    ):
        raise ValueError(f"time_budget_s must be a positive number of seconds, got {time_budget_s!r}")
    start = time.perf_counter()
    longest = 0.0
    checks: dict[str, EfficiencyCheck] = {}
    skipped: list[str] = []
    for label, settings in candidates.items():
        spent = time.perf_counter() - start
        if checks and spent + longest > time_budget_s:
            skipped.append(label)
            continue
        began = time.perf_counter()
        checks[label] = efficiency_check(
            model, video_latent, sigmas, context, settings, frame_rate, **check_kwargs
        )
        longest = max(longest, time.perf_counter() - began)
    rows = [
        aggregate(label, candidates[label], [_row(check)], check.report["dense"]["model_s"])
        for label, check in checks.items()
    ]
    mark_fronts(rows)
    return Sweep(rows, render_table(rows), checks, skipped)


def _row(check: EfficiencyCheck) -> dict[str, Any]:
    """One check in the per-request shape ``ltx2eff eval`` aggregates."""
    video = check.report["video"] or check.report["video_latent"]
    if video["ssim"] is None:
        raise ValueError(
            "efficiency_sweep needs SSIM: give decode_video, or latents whose frames are at least 11x11"
        )
    report = check.efficient.report
    keyframed = check.report["keyframes"] is not None
    return {
        "psnr_db": video["psnr_db"],
        "psnr_keyframes_db": video["keyframes"].get("psnr_db") if keyframed else None,
        "psnr_interpolated_db": video["interpolated"].get("psnr_db") if keyframed else None,
        "ssim": video["ssim"],
        "motion_ratio": video["motion_ratio"],
        "motion_error": video["motion_error"],
        "flicker": video["flicker"],
        "model_s": check.report["efficient"]["model_s"],
        "work_fraction": report.work_fraction,
        "pair_fraction": report.pair_fraction,
        "steps_reused": report.steps_reused("video"),
        "frames_diffused": report.diffused_frames,
        "schedule": report.schedule,
    }
