"""``efficiency_check`` and ``efficiency_sweep``: dense against efficient on the user's ltx-core model.

:func:`efficiency_check` runs :func:`efficient_denoise` twice on the same inputs and the same
seed, first with preset "off" (ltx-core's plain loop, to the bit) and then with the settings,
reporting both runs' wall and model-call time, peak CUDA memory and the comparison of
:mod:`ltx2_efficient.eval.check_report` (video latents always; decoded frames and audio
waveforms when decoders are given). One ``progress`` callback counts both runs; ``cancel``
stops either run and raises :class:`SamplingCancelled` without a report.

The dense run is a :class:`DenseReference` (:func:`dense_reference`): pass one as ``dense=`` and
the check runs only the efficient side against it. Before the dense run, one untimed dense step
warms the model up (CUDA context, kernel selection, allocator growth, lazily loaded weights), so
that neither timed run pays for what only the first call costs; the report gives its time apart.

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

from ltx2_efficient.eval.check_report import (
    SweepBudget,
    check_report,
    device_label,
    fidelity_section,
    pareto_rows,
    positive_seconds,
    predicted_speedup,
    side_by_side,
    summary_text,
)
from ltx2_efficient.hosts.ltx_core.call_timer import ModelCallTimer
from ltx2_efficient.hosts.ltx_core.denoise import DenoiseResult, efficient_denoise
from ltx2_efficient.sampler.keyframes import refine_schedule
from ltx2_efficient.sampler.settings import EfficientSettings

VideoDecoder = Callable[[torch.Tensor], Any]  # [B, C, F, H, W] -> frames [B, F', H, W, 3] in [0, 1]
AudioDecoder = Callable[[torch.Tensor], Any]  # [B, C, T, M] -> waveform [B, C, T']
ProgressFn = Callable[[int, int, str], None]
StepFn = Callable[[int, int, str], None]
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


@dataclass
class DenseReference:
    """The dense run of one request, timed and decoded once, for any number of checks against it.

    ``timing`` is the run's report entry (wall and model-call time, calls, peak memory);
    ``frames`` and ``wave`` its decoded video and audio (None without the decoder);
    ``decode_s`` what decoding it took (a check spends about as much on its own run);
    ``warmup_s`` the untimed warm-up before it (None when it was skipped).
    """

    result: DenoiseResult
    timing: dict[str, Any]
    seed: int
    steps: int
    frames: np.ndarray | None = field(default=None, repr=False)
    wave: np.ndarray | None = field(default=None, repr=False)
    decode_video: VideoDecoder | None = field(default=None, repr=False)
    decode_audio: AudioDecoder | None = field(default=None, repr=False)
    sample_rate: float | None = None
    decode_s: float = 0.0
    warmup_s: float | None = None


@dataclass
class _Request:
    """What every run of a check shares: the model, the request and the rest of
    ``efficient_denoise``'s arguments."""

    model: torch.nn.Module
    video_latent: torch.Tensor
    sigmas: torch.Tensor | Sequence[float]
    context: torch.Tensor
    frame_rate: float
    kwargs: dict[str, Any]
    cancel: Callable[[], bool] | None

    @property
    def schedule(self) -> torch.Tensor:
        return torch.as_tensor(self.sigmas, dtype=torch.float32).flatten()

    @property
    def steps(self) -> int:
        return int(self.schedule.numel()) - 1

    @property
    def device(self) -> torch.device:
        parameter = next(self.model.parameters(), None)
        return parameter.device if parameter is not None else torch.device("cpu")

    def run(
        self,
        settings: EfficientSettings,
        seed: int,
        report_step: StepFn | None = None,
        sigmas: torch.Tensor | Sequence[float] | None = None,
    ) -> DenoiseResult:
        return efficient_denoise(
            self.model, self.video_latent, self.sigmas if sigmas is None else sigmas, self.context,
            settings, self.frame_rate, generator=torch.Generator(device=self.device).manual_seed(seed),
            progress=report_step, cancel=self.cancel, **self.kwargs,
        )  # fmt: skip

    def synchronize(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)


def _steps_of(settings: EfficientSettings, sigmas: torch.Tensor) -> int:
    """Steps a run will take (the keyframe phase plus refinement), for the shared progress total."""
    steps = int(sigmas.numel()) - 1
    if settings.keyframes_enabled and settings.refine_steps > 0:
        steps += len(refine_schedule(sigmas.cpu(), settings.refine_strength, settings.refine_steps)) - 1
    return steps


def _step_reporter(progress: ProgressFn | None, label: str, offset: int, planned: int) -> StepFn | None:
    """A run's ``progress`` callback, counting on from ``offset`` of the check's ``planned`` steps."""
    if progress is None:
        return None

    def report_step(done: int, total: int, phase: str) -> None:
        progress(offset + done, max(planned, offset + total), f"{label} {phase}")

    return report_step


def _timed(
    request: _Request, label: str, settings: EfficientSettings, seed: int, report_step: StepFn | None
) -> tuple[DenoiseResult, dict[str, Any]]:
    device = request.device
    cuda = device.type == "cuda"
    request.synchronize()
    if cuda:
        torch.cuda.reset_peak_memory_stats(device)
    timer = ModelCallTimer(request.model)
    start = time.perf_counter()
    try:
        result = request.run(settings, seed, report_step)
    finally:
        timer.remove()
    request.synchronize()
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


def _warm_up(request: _Request, seed: int) -> float:
    """One untimed dense step (the schedule's first), so that the first timed run does not pay
    the costs only a first call has; returns its seconds."""
    start = time.perf_counter()
    request.run(EfficientSettings.off(), seed, sigmas=request.schedule[:2])
    request.synchronize()
    return time.perf_counter() - start


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


def _validate(
    seed: Any,
    decode_video: Any,
    decode_audio: Any,
    sample_rate: Any,
    warmup: Any,
    denoise_kwargs: Mapping[str, Any],
) -> None:
    """Raises ValueError naming the bad argument, before anything runs."""
    reserved = [k for k in _RESERVED if k in denoise_kwargs]
    if reserved:
        raise ValueError(
            f"efficiency_check sets {', '.join(reserved)} itself (use seed=, progress=, cancel=)"
        )
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise ValueError(f"seed must be an integer in [0, 2^63), got {seed!r}")
    if not isinstance(warmup, bool):
        raise ValueError(f"warmup must be True or False, got {warmup!r}")
    if decode_audio is not None and (denoise_kwargs.get("audio") is None or sample_rate is None):
        raise ValueError("decode_audio needs an audio stream (audio=) and its sample_rate")
    for name, fn in (("decode_video", decode_video), ("decode_audio", decode_audio)):
        if fn is not None and not callable(fn):
            raise ValueError(f"{name} must be callable, got {type(fn).__name__}")


def _run_dense(
    request: _Request,
    seed: int,
    decoders: tuple[VideoDecoder | None, AudioDecoder | None, float | None],
    warmup: bool,
    report_step: StepFn | None,
) -> DenseReference:
    """Warm-up (untimed), the timed dense run, and its decoding."""
    warmup_s = _warm_up(request, seed) if warmup else None
    result, timing = _timed(request, "dense", EfficientSettings.off(), seed, report_step)
    decode_video, decode_audio, sample_rate = decoders
    start = time.perf_counter()
    frames = _decode_frames(decode_video, result.video) if decode_video is not None else None
    wave = (
        _decode_wave(decode_audio, result.audio)
        if decode_audio is not None and result.audio is not None
        else None
    )
    return DenseReference(
        result, timing, seed, request.steps, frames, wave, decode_video, decode_audio, sample_rate,
        time.perf_counter() - start, warmup_s,
    )  # fmt: skip


def _check_reference(
    dense: Any, request: _Request, seed: int, decode_video: Any, decode_audio: Any
) -> DenseReference:
    """``dense=`` must be the reference of this very request (seed, schedule, latent, decoders)."""
    if not isinstance(dense, DenseReference):
        raise ValueError(f"dense must be a DenseReference (from dense_reference), got {type(dense).__name__}")
    if dense.seed != seed:
        raise ValueError(f"dense was run with seed {dense.seed}, this check has seed {seed}")
    if dense.steps != request.steps or tuple(dense.result.video.shape) != tuple(request.video_latent.shape):
        raise ValueError(
            f"dense is the reference of another request ({dense.steps} steps, video latent "
            f"{tuple(dense.result.video.shape)}; here {request.steps} steps, {tuple(request.video_latent.shape)})"
        )
    for name, given, used in (
        ("decode_video", decode_video, dense.decode_video),
        ("decode_audio", decode_audio, dense.decode_audio),
    ):
        if given is not None and given is not used:
            raise ValueError(
                f"{name} differs from the one dense was decoded with: pass it to dense_reference"
            )
    return dense


def _compare(
    dense: DenseReference, efficient: DenoiseResult, settings: EfficientSettings, timing: dict[str, Any]
) -> tuple[dict[str, Any], tuple[np.ndarray, np.ndarray] | None]:
    """The report of ``efficient`` against the dense reference, and both runs' decoded frames."""
    report = check_report(settings, dense.timing, timing, dense.steps, dense.seed, dense.warmup_s)
    frames = None
    if dense.frames is not None and dense.decode_video is not None:
        frames = (dense.frames, _decode_frames(dense.decode_video, efficient.video))
    else:
        report["notes"].append("no decode_video given: video compared in latent space only")
    dense_audio = dense.result.audio
    audio_latents = (
        (dense_audio, efficient.audio) if dense_audio is not None and efficient.audio is not None else None
    )
    waves = None
    if dense.wave is not None and dense.decode_audio is not None and audio_latents is not None:
        waves = (dense.wave, _decode_wave(dense.decode_audio, efficient.audio))
    elif audio_latents is not None:
        report["notes"].append("no decode_audio given: audio compared in latent space (no log-mel distance)")
    section = fidelity_section(
        efficient.report.keyframes, dense.result.video, efficient.video,
        frames=frames, audio_latents=audio_latents, waves=waves, sample_rate=dense.sample_rate,
    )  # fmt: skip
    section.pop("frames")
    report["notes"].extend(section.pop("notes"))
    report.update(section)
    return report, frames


def dense_reference(
    model: torch.nn.Module,
    video_latent: torch.Tensor,
    sigmas: torch.Tensor | Sequence[float],
    context: torch.Tensor,
    frame_rate: float,
    *,
    seed: int = 0,
    decode_video: VideoDecoder | None = None,
    decode_audio: AudioDecoder | None = None,
    sample_rate: float | None = None,
    warmup: bool = True,
    progress: ProgressFn | None = None,
    cancel: Callable[[], bool] | None = None,
    **denoise_kwargs: Any,
) -> DenseReference:
    """The dense run of a request (preset "off"), timed after an untimed warm-up step and
    decoded, for ``efficiency_check(..., dense=reference)``; arguments as for
    :func:`efficiency_check` (``warmup=False`` skips the warm-up)."""
    _validate(seed, decode_video, decode_audio, sample_rate, warmup, denoise_kwargs)
    request = _Request(model, video_latent, sigmas, context, frame_rate, dict(denoise_kwargs), cancel)
    return _run_dense(
        request, seed, (decode_video, decode_audio, sample_rate), warmup,
        _step_reporter(progress, "dense", 0, request.steps),
    )  # fmt: skip


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
    warmup: bool = True,
    dense: DenseReference | None = None,
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
        warmup: one untimed dense step before the timed runs (reported as ``warmup_s``).
        dense: a :class:`DenseReference` of this request (:func:`dense_reference`, with the same
            seed and decoders): only the efficient run happens.
        progress: ``progress(done, total, phase)`` over both runs (phases "dense ..." and
            "efficient ...").
        cancel: checked before every step; True raises ``SamplingCancelled``.
        denoise_kwargs: the rest of ``efficient_denoise``'s keyword arguments (negative_context,
            cfg_scale, audio, denoise_mask, clean_latent, guides, upsampler, ...).

    Raises ValueError naming the bad argument (before anything runs).
    """
    if not isinstance(settings, EfficientSettings):
        raise ValueError(f"settings must be an EfficientSettings, got {type(settings).__name__}")
    _validate(seed, decode_video, decode_audio, sample_rate, warmup, denoise_kwargs)
    request = _Request(model, video_latent, sigmas, context, frame_rate, dict(denoise_kwargs), cancel)
    offset = 0 if dense is not None else request.steps
    planned = offset + _steps_of(settings, request.schedule)
    if dense is None:
        dense = _run_dense(
            request, seed, (decode_video, decode_audio, sample_rate), warmup,
            _step_reporter(progress, "dense", 0, planned),
        )  # fmt: skip
    else:
        _check_reference(dense, request, seed, decode_video, decode_audio)
    efficient, timing = _timed(
        request, "efficient", settings, seed, _step_reporter(progress, "efficient", offset, planned)
    )
    report, frames = _compare(dense, efficient, settings, timing)
    return EfficiencyCheck(dense.result, efficient, report, frames)


@dataclass
class Sweep:
    """The rows of the settings that ran (``ltx2eff eval``'s row format, fronts marked), the
    rendered table, the checks themselves, the labels left out because they would not have fit
    the budget, the dense reference they were all compared with, and each candidate's predicted
    seconds (what the budget decision was made on)."""

    rows: list[dict[str, Any]]
    table: str
    checks: dict[str, EfficiencyCheck]
    skipped: list[str]
    dense: DenseReference | None = field(default=None, repr=False)
    predicted_s: dict[str, float] = field(default_factory=dict)


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
    """Checks each of ``candidates`` (label -> settings, in order) against one dense run of the
    request, within ``time_budget_s`` seconds counted from the start (warm-up and dense run
    included). Each candidate's cost is predicted from the dense run's time and the cost model's
    speedup for its settings (:class:`SweepBudget`); one that would not fit is skipped and listed
    in ``skipped``. ``check_kwargs``: :func:`efficiency_check`'s keyword arguments.

    Returns the Pareto table of speedup against fidelity on this model and request.
    """
    if not isinstance(candidates, Mapping) or not candidates:
        raise ValueError("candidates must map at least one label to an EfficientSettings")
    for label, settings in candidates.items():
        if not isinstance(settings, EfficientSettings):
            raise ValueError(
                f"candidate {label!r} must be an EfficientSettings, got {type(settings).__name__}"
            )
    if "dense" in check_kwargs:
        raise ValueError("efficiency_sweep runs the dense reference itself (no dense=)")
    budget_s = positive_seconds("time_budget_s", time_budget_s)
    started = time.perf_counter()
    dense = dense_reference(model, video_latent, sigmas, context, frame_rate, **check_kwargs)
    guided = check_kwargs.get("negative_context") is not None and check_kwargs.get("cfg_scale", 1.0) != 1.0
    grid = tuple(int(n) for n in video_latent.shape[2:5])
    budget = SweepBudget(
        budget_s, dense.timing["wall_s"],
        lambda s: predicted_speedup(s, grid, frame_rate, dense.steps, 2 if guided else 1),
        started, overhead_s=dense.decode_s,
    )  # fmt: skip
    checks: dict[str, EfficiencyCheck] = {}
    skipped: list[str] = []
    for label, settings in candidates.items():
        if not budget.admit(label, settings):
            skipped.append(label)
            continue
        began = time.perf_counter()
        checks[label] = efficiency_check(
            model, video_latent, sigmas, context, settings, frame_rate, dense=dense, **check_kwargs
        )
        budget.record(settings, time.perf_counter() - began - dense.decode_s)
    checked = [(label, candidates[label], c.report, c.efficient.report) for label, c in checks.items()]
    device = next(model.parameters(), torch.empty(0)).device
    rows, table = pareto_rows(checked, dense.timing["model_s"], device_label(device))
    return Sweep(rows, table, checks, skipped, dense, dict(budget.predicted_s))
