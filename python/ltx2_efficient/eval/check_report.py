"""The efficiency check's report: one request run dense and with the settings, compared.

Every host builds the same JSON-ready report from the same parts (ComfyUI's node and
``hosts.ltx_core.efficiency_check``): :func:`check_report` holds the settings and each run's
timings, :func:`fidelity_section` the comparisons of :mod:`ltx2_efficient.eval.comparison` (video
latents always; decoded frames and audio waveforms when the host could decode them), and
:func:`summary_text` turns it into the few lines a node shows. :func:`side_by_side` lays the two
runs' frames out next to each other (and their difference).

A sweep checks several settings against one dense run: :class:`SweepBudget` decides which of
them fit the user's time budget before they run, and :func:`sweep_row` turns each check into the
row ``ltx2eff eval`` aggregates (so both hosts render the same Pareto table).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
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
    settings: Any,
    dense: dict[str, Any],
    efficient: dict[str, Any],
    steps: int,
    seed: Any,
    warmup_s: float | None = None,
) -> dict[str, Any]:
    """The report's head: what was checked and each run's timings (``wall_s``, ``model_s``,
    ``model_calls``, ``peak_vram_mb`` or None, ``log_line``) with the speedups. ``warmup_s``:
    the untimed warm-up before the timed runs (model load, first-call costs), None without one."""

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
        "warmup_s": warmup_s,
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
    if report.get("warmup_s") is not None:
        lines.append(f"warm-up before the timed runs (model load, untimed): {report['warmup_s']:.2f} s")
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


def predicted_speedup(
    settings: Any, latent_grid: Sequence[int], frame_rate: float, steps: int, calls_per_step: int
) -> float:
    """The C++ cost model's speedup of ``settings`` over dense for this request: latent grid
    ``(frames, height, width)``, its frame rate, steps and model calls per step."""
    from ltx2_efficient import _core

    frames, height, width = (int(n) for n in latent_grid)
    pixels = _core.pixels_from_latent(_core.LatentShape(frames, height, width), float(frame_rate))
    sampling = _core.SamplingSpec(steps=int(steps), calls_per_step=int(calls_per_step))
    return float(_core.make_plan(pixels, settings.knobs, sampling).predicted_speedup)


@dataclass
class SweepBudget:
    """Which candidates of a sweep fit ``budget_s`` seconds, counted from ``started`` (a
    ``clock()`` reading taken before the dense run).

    A candidate's cost is predicted before it runs: the dense run's ``dense_s`` divided by the
    cost model's speedup for its settings (``speedup(settings)``), times ``scale``, plus
    ``overhead_s`` per check (decoding and comparing its output). ``scale`` starts at 1 and
    becomes the largest ratio of measured to predicted run time seen so far: the cost model
    leaves out fixed per-step costs, which dominate small requests, so the first candidates
    correct the forecast for the rest. A candidate that would end past the budget is skipped.
    """

    budget_s: float
    dense_s: float
    speedup: Callable[[Any], float]
    started: float
    overhead_s: float = 0.0
    clock: Callable[[], float] = time.perf_counter
    scale: float = 1.0
    predicted_s: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.budget_s = positive_seconds("time_budget_s", self.budget_s)

    def run_cost(self, settings: Any) -> float:
        """Predicted seconds of the sampling run alone (before ``scale``)."""
        try:
            speedup = self.speedup(settings)
        except ValueError:
            # A request outside the cost model's range is predicted to cost what dense did.
            return self.dense_s
        return self.dense_s / speedup if speedup > 0 and math.isfinite(speedup) else self.dense_s

    def admit(self, label: str, settings: Any) -> bool:
        """Whether ``label`` is predicted to end within the budget (its forecast is kept in
        ``predicted_s``)."""
        self.predicted_s[label] = self.run_cost(settings) * self.scale + self.overhead_s
        return self.clock() - self.started + self.predicted_s[label] <= self.budget_s

    def record(self, settings: Any, measured_run_s: float) -> None:
        """Corrects later forecasts with the measured time of a finished run of ``settings``."""
        predicted = self.run_cost(settings)
        if predicted > 0:
            self.scale = max(self.scale, measured_run_s / predicted)


def positive_seconds(name: str, value: Any) -> float:
    """``value`` as a float of seconds; ValueError naming ``name`` unless it is a finite number > 0."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or not value > 0
    ):
        raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
    return float(value)


def sweep_row(report: dict[str, Any], run_report: Any) -> dict[str, Any]:
    """One check in the per-request shape ``ltx2eff eval`` aggregates (``eval.cli.aggregate``):
    ``report`` the check's report, ``run_report`` the efficient run's ``SamplerReport``."""
    video = report["video"] or report["video_latent"]
    if video["ssim"] is None:
        raise ValueError(
            "a sweep needs SSIM: decode the video (a VAE or decode_video), or latents whose frames "
            "are at least 11x11"
        )
    keyframed = report["keyframes"] is not None
    return {
        "psnr_db": video["psnr_db"],
        "psnr_keyframes_db": video["keyframes"].get("psnr_db") if keyframed else None,
        "psnr_interpolated_db": video["interpolated"].get("psnr_db") if keyframed else None,
        "ssim": video["ssim"],
        "motion_ratio": video["motion_ratio"],
        "motion_error": video["motion_error"],
        "flicker": video["flicker"],
        "model_s": report["efficient"]["model_s"],
        "work_fraction": run_report.work_fraction,
        "pair_fraction": run_report.pair_fraction,
        "steps_reused": run_report.steps_reused("video"),
        "frames_diffused": run_report.diffused_frames,
        "schedule": run_report.schedule,
    }


def device_label(device: Any) -> str:
    """The measured-speedup column's device, as ``ltx2eff eval`` names it: "CPU" or the GPU's name."""
    kind = getattr(device, "type", str(device))
    if kind == "cuda":
        import torch

        return torch.cuda.get_device_name(device)
    return "CPU" if kind == "cpu" else str(device)


def pareto_rows(
    checked: Sequence[tuple[str, Any, dict[str, Any], Any]], dense_model_s: float, device: str = "CPU"
) -> tuple[list[dict[str, Any]], str]:
    """The Pareto rows and table ``ltx2eff eval`` writes, from ``(label, settings, report,
    run_report)`` of every check against one dense run of ``dense_model_s`` model seconds, timed
    on ``device`` (:func:`device_label`)."""
    from ltx2_efficient.eval.cli import aggregate, mark_fronts, render_table

    rows = []
    for label, settings, report, run_report in checked:
        row = aggregate(label, settings, [sweep_row(report, run_report)], dense_model_s)
        row["work_ratio_calls"] = report["dense"]["model_calls"] / max(1, report["efficient"]["model_calls"])
        rows.append(row)
    mark_fronts(rows)
    return rows, render_table(rows, device)
