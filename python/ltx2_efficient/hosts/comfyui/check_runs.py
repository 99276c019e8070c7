"""The runs of the "LTX2 Efficiency Check" node: a warm-up, one dense reference, the node's own
settings and, optionally, a sweep of more settings within a time budget, on one progress bar.

ComfyUI loads the model inside the first sampling call, so an untimed warm-up (one dense step)
goes first and its seconds are reported apart (``warmup_s``): otherwise the dense run would pay
the load inside its timed region and every setting would look faster than it is. The dense run
then happens once and is decoded once; the node's settings and every sweep candidate are
compared with it. A sweep candidate runs only while :class:`SweepBudget` predicts that it ends
within the budget (counted from the warm-up); the others are listed as skipped. The sweep's rows
and table are ``ltx2eff eval``'s (:func:`pareto_rows`). Runs, timing and decoding are
:mod:`efficiency_check`'s; only a finished check is published to :mod:`check_results`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ltx2_efficient.eval.check_report import (
    LAYOUTS,
    SweepBudget,
    check_report,
    device_label,
    fidelity_section,
    pareto_rows,
    positive_seconds,
    predicted_speedup,
    side_by_side,
)
from ltx2_efficient.eval.metrics import SSIM_WINDOW
from ltx2_efficient.hosts.comfyui.check_results import publish
from ltx2_efficient.hosts.comfyui.efficiency_check import (
    CheckResult,
    decode_audio,
    decode_video,
    decoded,
    latent_preview_frames,
    timed_run,
    work_units,
)
from ltx2_efficient.hosts.comfyui.efficient_sampling import SamplingResult, sample_efficient
from ltx2_efficient.hosts.comfyui.latent_parts import split_av
from ltx2_efficient.hosts.comfyui.progress import ProgressSpan
from ltx2_efficient.hosts.comfyui.regime import guidance_scale, settings_for_run
from ltx2_efficient.sampler.settings import EfficientSettings
from ltx2_efficient.torch_glue.interpolation import Upsampler

_log = logging.getLogger("ltx2_efficient")
# The frame rate the cost model plans with; it changes the forecast of a sweep candidate little.
PLAN_FRAME_RATE = 24.0


@dataclass
class NodeCheck:
    """The node's check (its outputs) and the sweep's Pareto table ("" without a sweep)."""

    result: CheckResult
    table: str = ""


class _Unshown:
    """A progress bar that shows nothing: the warm-up is not part of the check's progress."""

    def update_absolute(self, value: float, total: float | None = None, preview: Any = None) -> None:
        return None


@dataclass
class _Dense:
    """The dense reference: its run and timing, and its outputs decoded once for every comparison."""

    run: SamplingResult
    timing: dict[str, Any]
    video: torch.Tensor
    audio: torch.Tensor | None
    frames: np.ndarray | None
    wave: np.ndarray | None
    sample_rate: float | None
    decode_s: float
    notes: list[str] = field(default_factory=list)


def validate_request(
    sigmas: Any, latent_image: Any, vae: Any, audio_vae: Any, layout: str
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Raises ValueError naming the bad input, before anything runs; the latent's video and audio."""
    if layout not in LAYOUTS:
        raise ValueError(f"comparison must be one of {' / '.join(LAYOUTS)}, got {layout!r}")
    if not isinstance(latent_image, dict) or "samples" not in latent_image:
        raise ValueError("latent_image must be a LATENT (a dict holding 'samples')")
    if not isinstance(sigmas, torch.Tensor) or sigmas.dim() != 1 or sigmas.numel() < 2:
        raise ValueError("sigmas must be a 1-D SIGMAS schedule of at least 2 values")
    for name, model in (("vae", vae), ("audio_vae", audio_vae)):
        if model is not None and not callable(getattr(model, "decode", None)):
            raise ValueError(f"{name} must be a VAE (an object with decode), got {type(model).__name__}")
    video, audio = split_av(latent_image["samples"])
    if audio_vae is not None and audio is None:
        raise ValueError(
            "audio_vae is connected but latent_image has no audio part (not an LTX-2 audio-video latent)"
        )
    return video, audio


def _validate_sweep(
    sweep: Mapping[str, EfficientSettings], video: torch.Tensor, vae: Any, upsampler: Upsampler | None
) -> None:
    for label, settings in sweep.items():
        if not isinstance(settings, EfficientSettings):
            raise ValueError(
                f"sweep entry {label!r} must be an EfficientSettings, got {type(settings).__name__}"
            )
        if settings.interpolation == "upsampler" and upsampler is None:
            raise ValueError(
                f"sweep entry {label!r} interpolates with the upsampler: connect temporal_upsampler "
                "(and a VAE)"
            )
    if vae is None and min(int(video.shape[-2]), int(video.shape[-1])) < SSIM_WINDOW:
        raise ValueError(
            f"a sweep needs SSIM, and latent frames of {int(video.shape[-2])}x{int(video.shape[-1])} "
            f"are smaller than its {SSIM_WINDOW}x{SSIM_WINDOW} window: connect the VAE"
        )


def warm_up(
    noise: Any, guider: Any, sampler: Any, sigmas: torch.Tensor, latent_image: dict[str, Any]
) -> float:
    """One dense step, untimed by the check (ComfyUI loads the model here); returns its seconds."""
    device = getattr(guider.model_patcher, "load_device", None)
    start = time.perf_counter()
    sample_efficient(
        noise, guider, sampler, sigmas[:2], latent_image, EfficientSettings.off(), progress_bar=_Unshown()
    )
    if isinstance(device, torch.device) and device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def _decode_dense(run: SamplingResult, timing: dict[str, Any], vae: Any, audio_vae: Any) -> _Dense:
    video, audio = split_av(run.output["samples"])
    notes: list[str] = []
    start = time.perf_counter()
    frames = None
    if vae is not None:
        frames = decoded(lambda: decode_video(vae, video), "video", notes)
    else:
        notes.append("no VAE connected: video compared in latent space only")
    wave = None
    if audio_vae is not None and audio is not None:
        wave = decoded(lambda: decode_audio(audio_vae, audio), "audio", notes)
    elif audio is not None:
        notes.append("no audio VAE connected: audio compared in latent space (no log-mel distance)")
    rate = float(audio_vae.first_stage_model.output_sample_rate) if wave is not None else None
    return _Dense(run, timing, video, audio, frames, wave, rate, time.perf_counter() - start, notes)


@dataclass
class _Runs:
    """What every run of one node check shares: the request, the progress bar, the VAEs, and
    (once it ran) the dense reference."""

    args: tuple[Any, ...]  # noise, guider, sampler, sigmas, latent_image
    thermal_guard: Any
    vae: Any
    audio_vae: Any
    bar: Any
    total: int
    warmup_s: float | None = None
    dense: _Dense | None = None

    @property
    def guider(self) -> Any:
        return self.args[1]

    @property
    def steps(self) -> int:
        return int(self.args[3].shape[-1]) - 1

    def timed(
        self, label: str, settings: EfficientSettings, start: int, units: int, upsampler: Upsampler | None
    ) -> tuple[SamplingResult, dict[str, Any]]:
        """One timed run filling progress units ``[start, start + units)``."""
        span = ProgressSpan(self.bar, start, start + units, self.total)
        return timed_run(label, self.args, settings, span, self.thermal_guard, upsampler)

    def compare(
        self, run: SamplingResult, settings: EfficientSettings, timing: dict[str, Any]
    ) -> tuple[dict[str, Any], tuple[np.ndarray, np.ndarray] | None]:
        """The report of ``run`` against the dense reference, and both runs' decoded frames."""
        dense = self.dense
        assert dense is not None, "the dense reference runs first"
        seed = getattr(self.args[0], "seed", None)
        report = check_report(settings, dense.timing, timing, self.steps, seed, self.warmup_s)
        video, audio = split_av(run.output["samples"])
        notes = list(dense.notes)
        frames = None
        if dense.frames is not None:
            own_frames = decoded(lambda: decode_video(self.vae, video), "video", notes)
            frames = (dense.frames, own_frames) if own_frames is not None else None
        waves = None
        if dense.wave is not None and audio is not None:
            own_wave = decoded(lambda: decode_audio(self.audio_vae, audio), "audio", notes)
            waves = (dense.wave, own_wave) if own_wave is not None else None
        section = fidelity_section(
            run.report.keyframes, dense.video, video,
            frames=frames,
            audio_latents=(dense.audio, audio) if dense.audio is not None and audio is not None else None,
            waves=waves,
            sample_rate=dense.sample_rate if waves is not None else None,
        )  # fmt: skip
        frames = section.pop("frames")
        section["notes"] = notes + section["notes"]
        report.update(section)
        return report, frames


def settings_label(settings: EfficientSettings) -> str:
    """A setting as a sweep entry writes it: the preset, then its overrides as knob=value."""
    parts = [settings.preset]
    for name in settings.overrides:
        value = getattr(settings, name)
        if isinstance(value, bool):
            value = "on" if value else "off"
        parts.append(f"{name}={value:g}" if isinstance(value, float) else f"{name}={value}")
    return " ".join(parts)


def run_node_check(
    noise: Any,
    guider: Any,
    sampler: Any,
    sigmas: torch.Tensor,
    latent_image: dict[str, Any],
    settings: EfficientSettings,
    *,
    sweep: Mapping[str, EfficientSettings] | None = None,
    time_budget_s: float | None = None,
    vae: Any = None,
    audio_vae: Any = None,
    thermal_guard: Any = None,
    upsampler: Upsampler | None = None,
    layout: str = LAYOUTS[0],
) -> NodeCheck:
    """Samples the request dense and with ``settings`` (and each of ``sweep`` that fits
    ``time_budget_s``) and compares them with the dense run (module docstring)."""
    import comfy.utils

    video, _ = validate_request(sigmas, latent_image, vae, audio_vae, layout)
    candidates: dict[str, EfficientSettings] = {}
    budget_s = None
    if sweep:
        budget_s = positive_seconds("time_budget_s", time_budget_s)
        _validate_sweep(sweep, video, vae, upsampler)
        # The node's own setting is checked anyway: a sweep entry equal to it would run twice.
        candidates = {label: s for label, s in sweep.items() if s.to_dict() != settings.to_dict()}
    steps = int(sigmas.shape[-1]) - 1
    off = EfficientSettings.off()
    dense_units, own_units = work_units(off, steps), work_units(settings, steps)
    total = dense_units + own_units + sum(work_units(s, steps) for s in candidates.values())
    runs = _Runs((noise, guider, sampler, sigmas, latent_image), thermal_guard, vae, audio_vae,
                 comfy.utils.ProgressBar(total), total)  # fmt: skip
    started = time.perf_counter()
    runs.warmup_s = warm_up(*runs.args)
    runs.dense = _decode_dense(*runs.timed("dense", off, 0, dense_units, None), vae, audio_vae)
    efficient, timing = runs.timed("efficient", settings, dense_units, own_units, upsampler)
    report, frames = runs.compare(efficient, settings, timing)
    if frames is None:
        frames = tuple(
            latent_preview_frames(split_av(r.output["samples"])[0], guider)
            for r in (runs.dense.run, efficient)
        )
    comparison = torch.from_numpy(side_by_side(*frames, with_difference=layout == LAYOUTS[0]))
    report["comparison"] = {"layout": layout, "source": "decoded" if report["video"] else "latent preview"}
    table = ""
    if budget_s is not None:
        own = (settings_label(settings), settings, report, efficient.report)
        table = _sweep(runs, own, candidates, budget_s, started, upsampler, dense_units + own_units)
        report["sweep"]["same_as_node"] = [label for label in sweep if label not in candidates]
    runs.bar.update_absolute(total, total)
    publish(report)
    result = CheckResult(runs.dense.run, efficient, comparison, report)
    _log.info("LTX2 Efficiency Check: %s", result.summary().replace("\n", " | "))
    return NodeCheck(result, table)


def _sweep(
    runs: _Runs,
    own: tuple[str, EfficientSettings, dict[str, Any], Any],
    candidates: Mapping[str, EfficientSettings],
    budget_s: float,
    started: float,
    upsampler: Upsampler | None,
    offset: int,
) -> str:
    """Runs the candidates predicted to fit the budget and adds the sweep (rows, table, skipped)
    to the node's report ``own[2]``; returns the table."""
    dense = runs.dense
    assert dense is not None, "the dense reference runs first"
    steps, guider = runs.steps, runs.guider
    grid = tuple(int(n) for n in dense.video.shape[2:5])
    calls = 1 if guidance_scale(guider) == 1.0 else 2

    def speedup(settings: EfficientSettings) -> float:
        resolved = settings_for_run(settings, steps, guider)
        return predicted_speedup(resolved, grid, PLAN_FRAME_RATE, steps, calls)

    budget = SweepBudget(budget_s, dense.timing["wall_s"], speedup, started, overhead_s=dense.decode_s)
    budget.record(own[1], own[2]["efficient"]["wall_s"])
    checked = [own]
    skipped: list[str] = []
    for label, settings in candidates.items():
        units = work_units(settings, steps)
        if budget.admit(label, settings):
            up = upsampler if settings.interpolation == "upsampler" else None
            run, timing = runs.timed(label, settings, offset, units, up)
            budget.record(settings, timing["wall_s"])
            checked.append((label, settings, runs.compare(run, settings, timing)[0], run.report))
        else:
            skipped.append(label)
        offset += units
        runs.bar.update_absolute(offset, runs.total)
    device = getattr(guider.model_patcher, "load_device", "cpu")
    rows, table = pareto_rows(checked, dense.timing["model_s"], device_label(device))
    report = own[2]
    report["sweep"] = {
        "time_budget_s": budget_s,
        "rows": rows,
        "table": table,
        "skipped": skipped,
        "predicted_s": dict(budget.predicted_s),
    }
    if skipped:
        report["notes"].append(
            f"sweep: {', '.join(skipped)} left out, predicted not to fit the time budget of {budget_s:g} s"
        )
    return table
