"""The efficient sampler's run in ComfyUI: SamplerCustomAdvanced plus keyframe diffusion.

Stride 1 is exactly ``SamplerCustomAdvanced``: the same noise, latent, mask and
``guider.sample`` call, on a patched copy of the guider (window attention on the steps the
request's step schedule says, step reuse and the activation budget through ComfyUI's hooks;
with everything off the patch passes every call through unchanged).

Stride s > 1 runs the keyframe mode the settings choose, as ``guider.sample`` calls on patched
copies of the guider (:mod:`phase_runner`), with one progress bar and cancel across them:

- "refine" (:mod:`keyframe_refine`): keyframes from step 0 at ``frame_rate / s``, interpolation
  to every frame, then a short full-length refine from ``refine_strength``;
- "bottleneck" (:mod:`keyframe_bottleneck`): every frame for the schedule's first steps, the
  keyframes in the middle (the trajectory continues), every frame again for the last steps.

The report's log line says which steps ran what.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import torch

from ltx2_efficient.hosts.comfyui.keyframe_bottleneck import bottleneck_run
from ltx2_efficient.hosts.comfyui.keyframe_refine import refine_run
from ltx2_efficient.hosts.comfyui.latent_parts import guide_info, join_av, split_av, video_mask_of
from ltx2_efficient.hosts.comfyui.ltx_model import inspect_model_patcher
from ltx2_efficient.hosts.comfyui.phase_runner import Request, Runner
from ltx2_efficient.hosts.comfyui.progress import RunProgress
from ltx2_efficient.hosts.comfyui.regime import settings_for_run
from ltx2_efficient.hosts.comfyui.run_report import build_report
from ltx2_efficient.sampler.keyframes import KeyframeLayout, plan_keyframes
from ltx2_efficient.sampler.report import RunReport
from ltx2_efficient.sampler.settings import EfficientSettings
from ltx2_efficient.torch_glue.interpolation import Upsampler

_log = logging.getLogger("ltx2_efficient")


@dataclass
class SamplingResult:
    output: dict[str, Any]
    denoised: dict[str, Any]
    report: RunReport


def _keyframe_layout(
    settings: EfficientSettings,
    video: torch.Tensor,
    video_mask: torch.Tensor | None,
    guider: Any,
    notes: list[str],
) -> tuple[KeyframeLayout | None, int]:
    frames_total, height, width = (int(d) for d in video.shape[2:])
    guides = guide_info(guider, frames_total, height * width)
    frames = frames_total - guides.appended_frames
    if not settings.keyframes_enabled:
        return None, frames
    if frames < 3:
        notes.append(f"frame stride off: {frames} latent frames are too few to stride")
        return None, frames
    layout = plan_keyframes(
        frames,
        settings.frame_stride,
        guides.frame_rate,
        noise_mask=video_mask,
        guide_frames=guides.target_frames,
        appended_frames=guides.appended_frames,
    )
    if layout.is_identity:
        notes.append("frame stride off: every latent frame is conditioning")
        return None, frames
    return layout, frames


def _phases(runner: Runner, request: Request, layout: KeyframeLayout | None, refine: int) -> tuple[Any, bool]:
    """Runs the request's phases; returns (output, whether it is a full-length sampler output)."""
    if layout is None:
        final = runner.sample(
            "sample", 1.0, 0, request.noise, request.samples, request.sampler, request.sigmas,
            denoise_mask=request.noise_mask, callback=request.progress.callback(request.steps),
            disable_pbar=request.disable_pbar, seed=request.seed,
        )  # fmt: skip
        return final, True
    if request.settings.keyframe_mode == "bottleneck":
        return bottleneck_run(runner, request, layout)
    return refine_run(runner, request, layout, refine)


def _outputs(
    guider: Any, latent: dict[str, Any], final: Any, x0: torch.Tensor | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """SamplerCustomAdvanced's (output, denoised_output) from the final latent and last x0."""
    import comfy.model_management
    import comfy.utils

    final = final.to(comfy.model_management.intermediate_device())
    out = latent.copy()
    out.pop("downscale_ratio_spacial", None)
    out["samples"] = final
    if x0 is None:
        return out, out
    x0 = guider.model_patcher.model.process_latent_out(x0.cpu())
    if getattr(final, "is_nested", False):
        shapes = [t.shape for t in final.unbind()]
        x0 = join_av(*comfy.utils.unpack_latents(x0, shapes))
    denoised = latent.copy()
    denoised.pop("downscale_ratio_spacial", None)
    denoised["samples"] = x0
    return out, denoised


def sample_efficient(
    noise: Any,
    guider: Any,
    sampler: Any,
    sigmas: torch.Tensor,
    latent_image: dict[str, Any],
    settings: EfficientSettings,
    *,
    thermal_guard: Any = None,
    upsampler: Upsampler | None = None,
    progress_bar: Any = None,
) -> SamplingResult:
    """Runs the request (see the module docstring); returns both LATENT outputs and the report.

    ``progress_bar`` (``update_absolute(value, total, preview)``) replaces the run's own
    ``comfy.utils.ProgressBar`` when several runs share one bar (the efficiency check)."""
    import comfy.model_management
    import comfy.sample
    import comfy.utils

    model = inspect_model_patcher(getattr(guider, "model_patcher", None), "guider")
    if not isinstance(sigmas, torch.Tensor) or sigmas.dim() != 1:
        raise ValueError("sigmas must be a 1-D SIGMAS schedule")
    latent = latent_image.copy()
    samples = comfy.sample.fix_empty_latent_channels(
        guider.model_patcher, latent["samples"], latent.get("downscale_ratio_spacial", None)
    )
    latent["samples"] = samples
    noise_mask = latent.get("noise_mask", None)
    steps = int(sigmas.shape[-1]) - 1
    settings = settings_for_run(settings, steps, guider)
    schedule = settings.step_schedule(max(steps, 1))
    video, _ = split_av(samples)
    video_mask = video_mask_of(noise_mask, video) if settings.keyframes_enabled else None
    notes: list[str] = []
    if settings.regime != "dev":
        notes.append(f"preset {settings.preset} as tuned for the {settings.regime} regime")
    layout, frames = _keyframe_layout(settings, video, video_mask, guider, notes)
    if layout is not None and (steps < 1 or not schedule.keyframed):
        if steps >= 1:
            notes.append(f"frame stride off: the keyframe range holds no step of {steps}")
        layout = None
    refine = settings.refine_steps if layout is not None and settings.keyframe_mode != "bottleneck" else 0
    if settings.thermal_guard and thermal_guard is None:
        notes.append("thermal guard asked for but no LTX2_THERMAL_GUARD connected")
    if settings.interpolation == "upsampler" and layout is not None and upsampler is None:
        raise ValueError("temporal_upsampler and vae must be connected when interpolation is 'upsampler'")

    runner = Runner(guider, settings, model, schedule)
    total = steps + ((1 + refine) if layout is not None else 0)
    request = Request(
        noise=noise.generate_noise(latent),
        samples=samples,
        noise_mask=noise_mask,
        video_mask=video_mask,
        sampler=sampler,
        sigmas=sigmas,
        settings=settings,
        progress=RunProgress(guider.model_patcher, total, thermal_guard, bar=progress_bar),
        disable_pbar=not comfy.utils.PROGRESS_BAR_ENABLED,
        seed=getattr(noise, "seed", None),
        upsampler=upsampler,
    )
    cancelled = False
    try:
        final, x0_is_full = _phases(runner, request, layout, refine)
    except comfy.model_management.InterruptProcessingException:
        cancelled = True
        raise
    finally:
        report = build_report(
            settings, model, runner.runs,
            layout=layout, frames=frames, steps=steps, refine_steps=refine, times=runner.times, notes=notes,
            cancelled=cancelled, schedule=schedule,
        )  # fmt: skip
        _log.info("LTX2 Efficient Video Sampler: %s", report.log_line())
        finish = getattr(thermal_guard, "finish", None)
        if callable(finish):
            finish()  # closes the guard's run (it logs its own line)

    x0 = request.progress.x0 if x0_is_full else None
    out, denoised = _outputs(guider, latent, final, x0)
    return SamplingResult(output=out, denoised=denoised, report=report)
