"""One demo generation with given sampler settings, timed, and its fidelity against the dense run.

Every run of a request starts from the same seed noise, and its refine phase re-noises from the
same seeded generator, so the dense run (preset "off") and each preset differ only by what the
settings change. Runs go through the efficient sampler's ltx-core loop
(``ltx2_efficient.hosts.ltx_core.efficient_denoise``); the time spent inside the transformer's
forward calls is measured separately from the wall time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ltx2_efficient.demo.latent_codec import decode
from ltx2_efficient.demo.model import DemoModel
from ltx2_efficient.demo.reference_sampler import initial_noise, model_sigmas
from ltx2_efficient.demo.request import DemoRequest
from ltx2_efficient.eval.comparison import compare_videos, keyframe_mask
from ltx2_efficient.hosts.ltx_core.call_timer import ModelCallTimer

ProgressFn = Callable[[int, int, str], None]


@dataclass
class RunResult:
    """One run: its latent and pixels, its timings and the sampler's run report."""

    name: str
    settings: Any  # EfficientSettings
    latent: torch.Tensor  # [1, C, F, H, W]
    video: np.ndarray  # [F, S, S, 3] in [0, 1]
    wall_s: float
    model_s: float  # time inside the transformer's forward calls
    model_calls: int
    report: Any  # RunReport


def run_settings(
    model: DemoModel,
    request: DemoRequest,
    name: str,
    settings: Any,
    progress: ProgressFn | None = None,
    step_cache: Any = None,
) -> RunResult:
    """Generates ``request`` with ``settings`` (an ``EfficientSettings``) through the efficient
    loop, on the model's device; ``step_cache`` is a reuse rule such as the eval's EasyCache."""
    from ltx2_efficient.hosts.ltx_core import efficient_denoise

    config = model.config
    shape = config.latent_shape(1)
    device = next(model.parameters()).device
    ids = torch.tensor([request.prompt.token_ids()], device=device)
    with torch.inference_mode():
        context = model.context(ids)
        negative = model.context(torch.zeros_like(ids))
    guard = None
    if settings.thermal_guard:
        from ltx2_efficient.thermal import ThermalGuard

        # The default target; on a machine without NVML the run says the guard was unavailable.
        guard = ThermalGuard("temperature")
    timer = ModelCallTimer(model.transformer)
    start = time.perf_counter()
    try:
        result = efficient_denoise(
            model.transformer,
            initial_noise(shape, request.seed).to(device),
            model_sigmas(config, request.steps, shape),
            context,
            settings,
            config.frame_rate,
            negative_context=negative,
            cfg_scale=request.guidance,
            generator=torch.Generator().manual_seed(request.seed + 1),
            progress=progress,
            thermal_guard=guard,
            step_cache=step_cache,
        )
    finally:
        timer.remove()
    wall = time.perf_counter() - start
    latent = result.video.float().cpu()
    video = decode(latent, config.patch)[0].numpy()
    return RunResult(name, settings, latent, video, wall, timer.seconds, timer.calls, result.report)


def fidelity(run: RunResult, dense: RunResult) -> dict[str, float | None]:
    """PSNR/SSIM/motion of ``run`` against the dense run (``psnr_db`` None when identical), with
    the PSNR of the diffused keyframes and of the interpolated frames apart (both None for runs
    that diffuse every frame)."""
    keyframes = run.report.keyframes
    frames = run.video.shape[0]
    compared = compare_videos(run.video, dense.video, keyframe_mask(keyframes, frames, frames))
    return {
        "psnr_db": compared["psnr_db"],
        "psnr_keyframes_db": compared["keyframes"].get("psnr_db") if keyframes is not None else None,
        "psnr_interpolated_db": compared["interpolated"].get("psnr_db") if keyframes is not None else None,
        "ssim": compared["ssim"],
        "flicker": compared["flicker"],
        "motion_magnitude": compared["motion_magnitude"],
        "motion_ratio": compared["motion_ratio"],
        "motion_error": compared["motion_error"],
        "max_abs_latent_diff": float((run.latent - dense.latent).abs().max()),
    }


def run_summary(run: RunResult, dense: RunResult) -> dict[str, Any]:
    """JSON-ready numbers of one run, speedups relative to the dense run."""
    report = run.report
    summary: dict[str, Any] = {
        "name": run.name,
        "settings": run.settings.describe(),
        "knobs": run.settings.to_dict(),
        "wall_s": run.wall_s,
        "model_s": run.model_s,
        "model_calls": run.model_calls,
        "token_passes": report.token_passes,
        "work_fraction": report.work_fraction,
        "pair_fraction": report.pair_fraction,
        "steps": report.steps,
        "steps_reused": report.steps_reused("video"),
        "windowed_head_share": report.attention.windowed_head_share,
        "refine_steps": report.refine_steps,
        "frames_diffused": report.diffused_frames,
        "frames": report.full_frames,
        "speedup_model": dense.model_s / run.model_s if run.model_s > 0 else None,
        "speedup_wall": dense.wall_s / run.wall_s if run.wall_s > 0 else None,
        "attention_backends": sorted(report.attention.backends),
        "schedule": report.schedule,
        "log_line": report.log_line(),
    }
    summary.update(fidelity(run, dense))
    return summary


def warm_up(model: DemoModel, request: DemoRequest) -> None:
    """One short dense and one short windowed run, so one-time costs stay out of the timings."""
    from dataclasses import replace

    from ltx2_efficient.sampler.settings import EfficientSettings

    # A distilled model samples its own schedule only; others warm up on two steps.
    short = request if model.config.sigmas is not None else replace(request, steps=2)
    run_settings(model, short, "warm-up", EfficientSettings.off())
    run_settings(model, short, "warm-up", EfficientSettings.from_preset("off", window=1, far_field=4))
