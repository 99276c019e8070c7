"""The efficient sampler's run in ComfyUI: SamplerCustomAdvanced plus keyframe diffusion.

Stride 1 is exactly ``SamplerCustomAdvanced``: the same noise, latent, mask and
``guider.sample`` call, on a patched copy of the guider (window attention, step reuse and the
activation budget through ComfyUI's hooks; with everything off the patch passes every call
through unchanged).

Stride s > 1 runs two ``guider.sample`` calls on patched copies of the guider:

1. **keyframes**: the video latent, its noise and its noise mask restricted to the F' diffused
   frames (conditioning frames always among them; appended guide frames kept), the full sigma
   schedule, the model told ``frame_rate / s`` (and guide positions scaled alike) by the
   ``DIFFUSION_MODEL`` wrapper. An LTX-2 audio latent runs at full length with them.
2. **interpolate** the keyframes to F frames (lerp, slerp, motion, or a temporal upsampler);
   frames the noise mask keeps (image-to-video, guides) are put back from the input latent.
3. **refine**: the full-length latent re-noised to ``refine_strength`` and denoised by the tail
   of the schedule (:func:`refine_sigmas`) with window attention. The audio from phase 1 is held
   fixed (noise mask 0) as conditioning, so it is not diffused twice.

The same noise (one seed) serves both phases: phase 1 takes its diffused frames.
"""

from __future__ import annotations

import copy
import logging
import time
from dataclasses import dataclass
from typing import Any

import torch

from ltx2_efficient.hosts.comfyui.latent_parts import (
    audio_mask_of,
    guide_info,
    join_av,
    split_av,
    video_mask_of,
)
from ltx2_efficient.hosts.comfyui.ltx_model import LtxModelInfo, inspect_model_patcher
from ltx2_efficient.hosts.comfyui.model_wrappers import copy_nested
from ltx2_efficient.hosts.comfyui.patch import install_patch
from ltx2_efficient.hosts.comfyui.progress import RunProgress, check_cancelled
from ltx2_efficient.hosts.comfyui.refine_schedule import refine_sigmas
from ltx2_efficient.hosts.comfyui.run_report import build_report
from ltx2_efficient.hosts.comfyui.run_state import PatchConfig, RunState
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


def patched_guider(guider: Any, config: PatchConfig) -> Any:
    """A shallow copy of ``guider`` whose model patcher and options carry the patch."""
    model_patcher = guider.model_patcher.clone()
    patched = copy.copy(guider)
    patched.model_patcher = model_patcher
    options = getattr(guider, "model_options", None)
    patched.model_options = copy_nested(options if isinstance(options, dict) else model_patcher.model_options)
    install_patch(model_patcher, patched.model_options, config)
    return patched


class _Runner:
    """One sampling request; keeps what the report needs."""

    def __init__(self, guider: Any, settings: EfficientSettings, model: LtxModelInfo) -> None:
        self.guider = guider
        self.settings = settings
        self.model = model
        self.runs: list[RunState] = []
        self.times: dict[str, float] = {}

    def sample(self, phase: str, time_scale: float, *args: Any, **kwargs: Any) -> Any:
        config = PatchConfig(
            settings=self.settings,
            model=self.model,
            time_scale=time_scale,
            phase=phase,
            on_run_end=self.runs.append,
        )
        guider = patched_guider(self.guider, config)
        start = time.perf_counter()
        try:
            return guider.sample(*args, **kwargs)
        finally:
            self.times[phase] = self.times.get(phase, 0.0) + time.perf_counter() - start


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
    video, audio = split_av(samples)
    video_mask = video_mask_of(noise_mask, video) if settings.keyframes_enabled else None
    notes: list[str] = []
    layout, frames = _keyframe_layout(settings, video, video_mask, guider, notes)
    refine = settings.refine_steps if layout is not None else 0
    if settings.thermal_guard and thermal_guard is None:
        notes.append("thermal guard asked for but no LTX2_THERMAL_GUARD connected")
    if settings.interpolation == "upsampler" and layout is not None and upsampler is None:
        raise ValueError("temporal_upsampler and vae must be connected when interpolation is 'upsampler'")

    runner = _Runner(guider, settings, model)
    total = steps + ((1 + refine) if layout is not None else 0)
    progress = RunProgress(guider.model_patcher, total, thermal_guard, bar=progress_bar)
    disable_pbar = not comfy.utils.PROGRESS_BAR_ENABLED
    seed = getattr(noise, "seed", None)
    full_noise = noise.generate_noise(latent)
    cancelled = False
    try:
        if layout is None:
            final = runner.sample(
                "sample", 1.0, full_noise, samples, sampler, sigmas,
                denoise_mask=noise_mask, callback=progress.callback(steps), disable_pbar=disable_pbar, seed=seed,
            )  # fmt: skip
            x0_is_full = True
        else:
            final, x0_is_full = _keyframe_run(
                runner, layout, progress, full_noise, samples, noise_mask, video_mask, sampler, sigmas,
                refine, settings, upsampler, disable_pbar, seed,
            )  # fmt: skip
    except comfy.model_management.InterruptProcessingException:
        cancelled = True
        raise
    finally:
        report = build_report(
            settings, model, runner.runs,
            layout=layout, frames=frames, steps=steps, refine_steps=refine, times=runner.times, notes=notes,
            cancelled=cancelled,
        )  # fmt: skip
        _log.info("LTX2 Efficient Video Sampler: %s", report.log_line())
        finish = getattr(thermal_guard, "finish", None)
        if callable(finish):
            finish()  # closes the guard's run (it logs its own line)

    final = final.to(comfy.model_management.intermediate_device())
    out = latent.copy()
    out.pop("downscale_ratio_spacial", None)
    out["samples"] = final
    denoised = out
    if progress.x0 is not None and x0_is_full:
        x0 = guider.model_patcher.model.process_latent_out(progress.x0.cpu())
        if getattr(final, "is_nested", False):
            shapes = [t.shape for t in final.unbind()]
            x0 = join_av(*comfy.utils.unpack_latents(x0, shapes))
        denoised = latent.copy()
        denoised.pop("downscale_ratio_spacial", None)
        denoised["samples"] = x0
    return SamplingResult(output=out, denoised=denoised, report=report)


def _keyframe_run(
    runner: _Runner,
    layout: KeyframeLayout,
    progress: RunProgress,
    full_noise: Any,
    samples: Any,
    noise_mask: Any,
    video_mask: torch.Tensor | None,
    sampler: Any,
    sigmas: torch.Tensor,
    refine: int,
    settings: EfficientSettings,
    upsampler: Upsampler | None,
    disable_pbar: bool,
    seed: Any,
) -> tuple[Any, bool]:
    steps = int(sigmas.shape[-1]) - 1
    video, audio = split_av(samples)
    noise_video, noise_audio = split_av(full_noise)
    stride = float(layout.plan.stride)

    # Phase 1: the diffused frames (and the full audio) at frame_rate / stride.
    key_video = layout.select(video)
    key_noise = layout.select(noise_video.to(video.device))
    key_mask = None
    if video_mask is not None or noise_mask is not None:
        selected = layout.select(video_mask) if video_mask is not None else torch.ones_like(key_video[:, :1])
        key_mask = join_av(selected, audio_mask_of(noise_mask, audio) if audio is not None else None)
    phase1 = runner.sample(
        "keyframes", stride, join_av(key_noise, noise_audio), join_av(key_video, audio), sampler, sigmas,
        denoise_mask=key_mask, callback=progress.callback(steps), disable_pbar=disable_pbar, seed=seed,
    )  # fmt: skip
    check_cancelled()

    # Interpolate to the full length; conditioning frames come back from the input latent.
    key_out, audio_out = split_av(phase1)
    full = layout.expand(key_out.to(video.device), settings.interpolation, upsampler).to(video.dtype)
    if video_mask is not None:  # reshaped to the video's shape: 1 = generated, < 1 = kept
        keep = video_mask.to(full.dtype)
        full = full * keep + video * (1.0 - keep)
    if layout.appended_frames:
        full[:, :, layout.full_frames :] = video[:, :, layout.full_frames :]
    progress.advance(1)
    check_cancelled()
    if refine <= 0:
        return join_av(full, audio_out), False

    # Phase 2: refine the whole clip from refine_strength; the audio is held as conditioning.
    tail = refine_sigmas(sigmas, refine, settings.refine_strength)
    refine_mask = None
    if audio is not None:
        video_part = video_mask if video_mask is not None else torch.ones_like(full[:, :1])
        refine_mask = join_av(video_part, torch.zeros_like(audio_out))
    elif video_mask is not None:
        refine_mask = video_mask
    final = runner.sample(
        "refine", 1.0, full_noise, join_av(full, audio_out), sampler, tail,
        denoise_mask=refine_mask, callback=progress.callback(refine), disable_pbar=disable_pbar, seed=seed,
    )  # fmt: skip
    return final, True
