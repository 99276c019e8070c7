"""The efficiency check in ComfyUI: one request sampled dense and with the settings, compared.

:func:`run_check` calls the sampler node's own :func:`sample_efficient` twice on the same noise,
first with preset "off" (exactly SamplerCustomAdvanced) and then with the settings to check, on
one progress bar (the dense run fills the first share, the efficient run the rest) and with
ComfyUI's cancel checked after every step. Each run is timed as a whole (wall) and inside the
transformer calls (a ``DIFFUSION_MODEL`` wrapper that synchronises the device around each call),
and its peak CUDA memory is read. The outputs are compared by :mod:`ltx2_efficient.eval.comparison`:
the video latents always, the decoded frames when a VAE is given, the audio waveforms when an
audio VAE is given (else the audio latents). Only a finished check is published to
:mod:`check_results` (the panel's ``GET /ltx2eff/last_check``); a cancelled or failed one leaves
the previous result.
"""

from __future__ import annotations

import copy
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ltx2_efficient.eval.check_report import (
    LAYOUTS,
    check_report,
    fidelity_section,
    side_by_side,
    summary_text,
)
from ltx2_efficient.hosts.comfyui.check_results import publish
from ltx2_efficient.hosts.comfyui.efficient_sampling import SamplingResult, sample_efficient
from ltx2_efficient.hosts.comfyui.latent_parts import split_av
from ltx2_efficient.hosts.comfyui.model_wrappers import DIFFUSION_MODEL
from ltx2_efficient.hosts.comfyui.progress import ProgressSpan
from ltx2_efficient.sampler.settings import EfficientSettings
from ltx2_efficient.torch_glue.interpolation import Upsampler

_log = logging.getLogger("ltx2_efficient")
TIMER_KEY = "ltx2eff_check_timer"


@dataclass
class CheckResult:
    dense: SamplingResult
    efficient: SamplingResult
    comparison: torch.Tensor  # IMAGE [N, H, W', 3] in [0, 1]
    report: dict[str, Any]  # JSON-ready

    def summary(self) -> str:
        return summary_text(self.report)

    def to_json(self) -> str:
        return json.dumps(self.report, indent=2, allow_nan=False)


class CallTimeWrapper:
    """A ``DIFFUSION_MODEL`` wrapper that sums the time spent in transformer calls."""

    def __init__(self, device: Any) -> None:
        self.seconds = 0.0
        self.calls = 0
        self._cuda = isinstance(device, torch.device) and device.type == "cuda"
        self._device = device

    def _sync(self) -> None:
        if self._cuda:
            torch.cuda.synchronize(self._device)

    def __call__(self, executor: Any, *args: Any, **kwargs: Any) -> Any:
        self._sync()
        start = time.perf_counter()
        try:
            return executor(*args, **kwargs)
        finally:
            self._sync()
            self.seconds += time.perf_counter() - start
            self.calls += 1


def _timed_guider(guider: Any, timer: CallTimeWrapper) -> Any:
    """A shallow copy of ``guider`` on a model-patcher clone that carries ``timer`` (outermost)."""
    patcher = guider.model_patcher.clone()
    patcher.remove_wrappers_with_key(DIFFUSION_MODEL, TIMER_KEY)
    patcher.add_wrapper_with_key(DIFFUSION_MODEL, TIMER_KEY, timer)
    timed = copy.copy(guider)
    timed.model_patcher = patcher
    return timed


def _units(settings: EfficientSettings, steps: int) -> int:
    """Progress units of a run with ``settings``: its steps, plus interpolation and refinement."""
    if settings.keyframes_enabled:
        return steps + 1 + settings.refine_steps
    return steps


def _timed_run(
    label: str,
    args: tuple[Any, ...],
    settings: EfficientSettings,
    bar: ProgressSpan,
    thermal_guard: Any,
    upsampler: Upsampler | None,
) -> tuple[SamplingResult, dict[str, Any]]:
    noise, guider, sampler, sigmas, latent_image = args
    device = getattr(guider.model_patcher, "load_device", None)
    timer = CallTimeWrapper(device)
    cuda = isinstance(device, torch.device) and device.type == "cuda"
    if cuda:
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
    start = time.perf_counter()
    result = sample_efficient(
        noise, _timed_guider(guider, timer), sampler, sigmas, latent_image, settings,
        thermal_guard=thermal_guard, upsampler=upsampler, progress_bar=bar,
    )  # fmt: skip
    if cuda:
        torch.cuda.synchronize(device)
    wall = time.perf_counter() - start
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if cuda else None
    timing = {
        "label": label,
        "settings": settings.describe(),
        "wall_s": wall,
        "model_s": timer.seconds,
        "model_calls": result.report.model_calls,
        "peak_vram_mb": peak,
        "log_line": result.report.log_line(),
        "report": result.report.to_dict(),
    }
    return result, timing


def run_check(
    noise: Any,
    guider: Any,
    sampler: Any,
    sigmas: torch.Tensor,
    latent_image: dict[str, Any],
    settings: EfficientSettings,
    *,
    vae: Any = None,
    audio_vae: Any = None,
    thermal_guard: Any = None,
    upsampler: Upsampler | None = None,
    layout: str = LAYOUTS[0],
) -> CheckResult:
    """Samples the request dense and with ``settings`` and compares them (module docstring)."""
    import comfy.utils

    if layout not in LAYOUTS:
        raise ValueError(f"comparison must be one of {' / '.join(LAYOUTS)}, got {layout!r}")
    if not isinstance(latent_image, dict) or "samples" not in latent_image:
        raise ValueError("latent_image must be a LATENT (a dict holding 'samples')")
    if not isinstance(sigmas, torch.Tensor) or sigmas.dim() != 1 or sigmas.numel() < 2:
        raise ValueError("sigmas must be a 1-D SIGMAS schedule of at least 2 values")
    for name, model in (("vae", vae), ("audio_vae", audio_vae)):
        if model is not None and not callable(getattr(model, "decode", None)):
            raise ValueError(f"{name} must be a VAE (an object with decode), got {type(model).__name__}")
    _, audio = split_av(latent_image["samples"])
    if audio_vae is not None and audio is None:
        raise ValueError(
            "audio_vae is connected but latent_image has no audio part (not an LTX-2 audio-video latent)"
        )
    steps = int(sigmas.shape[-1]) - 1
    dense_units, efficient_units = _units(EfficientSettings.off(), steps), _units(settings, steps)
    units = dense_units + efficient_units
    bar = comfy.utils.ProgressBar(units)
    args = (noise, guider, sampler, sigmas, latent_image)
    dense, dense_time = _timed_run(
        "dense", args, EfficientSettings.off(), ProgressSpan(bar, 0, dense_units, units), thermal_guard, None
    )
    efficient, efficient_time = _timed_run(
        "efficient", args, settings, ProgressSpan(bar, dense_units, units, units), thermal_guard, upsampler
    )
    report = check_report(settings, dense_time, efficient_time, steps, getattr(noise, "seed", None))
    section = _fidelity(dense, efficient, vae, audio_vae)
    frames = section.pop("frames")
    report.update(section)
    if frames is None:
        frames = tuple(
            latent_preview_frames(split_av(r.output["samples"])[0], guider) for r in (dense, efficient)
        )
    comparison = torch.from_numpy(side_by_side(*frames, with_difference=layout == LAYOUTS[0]))
    report["comparison"] = {"layout": layout, "source": "decoded" if report["video"] else "latent preview"}
    bar.update_absolute(units, units)
    publish(report)
    result = CheckResult(dense, efficient, comparison, report)
    _log.info("LTX2 Efficiency Check: %s", result.summary().replace("\n", " | "))
    return result


def _fidelity(dense: SamplingResult, efficient: SamplingResult, vae: Any, audio_vae: Any) -> dict[str, Any]:
    """The comparison section: decoded frames and waveforms where a VAE can give them."""
    dense_video, dense_audio = split_av(dense.output["samples"])
    eff_video, eff_audio = split_av(efficient.output["samples"])
    notes: list[str] = []
    frames = None
    if vae is not None:
        frames = _decoded(
            lambda: (decode_video(vae, dense_video), decode_video(vae, eff_video)), "video", notes
        )
    else:
        notes.append("no VAE connected: video compared in latent space only")
    waves = None
    if audio_vae is not None and dense_audio is not None and eff_audio is not None:
        waves = _decoded(
            lambda: (decode_audio(audio_vae, dense_audio), decode_audio(audio_vae, eff_audio)), "audio", notes
        )
    elif dense_audio is not None:
        notes.append("no audio VAE connected: audio compared in latent space (no log-mel distance)")
    section = fidelity_section(
        efficient.report.keyframes, dense_video, eff_video,
        frames=frames,
        audio_latents=(dense_audio, eff_audio) if dense_audio is not None and eff_audio is not None else None,
        waves=waves,
        sample_rate=float(audio_vae.first_stage_model.output_sample_rate) if waves is not None else None,
    )  # fmt: skip
    section["notes"] = notes + section["notes"]
    return section


def _decoded(decode: Any, what: str, notes: list[str]) -> Any:
    """``decode()``, or None with a note when the VAE cannot decode this latent: both runs are
    done by then, so they are kept and the report says why the pixels or samples are missing."""
    try:
        return decode()
    except ValueError as error:
        _log.warning("LTX2 Efficiency Check: %s", error)
        notes.append(f"{what} not decoded: {error}")
        return None


def decode_video(vae: Any, latent: torch.Tensor) -> np.ndarray:
    """``vae.decode`` of a video latent as float32 frames ``[B, F, H, W, 3]`` in [0, 1]."""
    frames = vae.decode(latent)
    if not isinstance(frames, torch.Tensor) or frames.dim() not in (4, 5) or frames.shape[-1] != 3:
        raise ValueError(
            f"vae: decoding the video latent gave {getattr(frames, 'shape', type(frames).__name__)}, "
            "not RGB frames [B, F, H, W, 3]: connect the video VAE of the model"
        )
    if frames.dim() == 4:
        frames = frames[None]
    return frames.detach().float().clamp(0.0, 1.0).cpu().numpy()


def decode_audio(audio_vae: Any, latent: torch.Tensor) -> np.ndarray:
    """``audio_vae.decode`` of an audio latent as a float32 waveform ``[B, C, T]`` (as ComfyUI's
    LTXVAudioVAEDecode reads it)."""
    wave = audio_vae.decode(latent)
    if not isinstance(wave, torch.Tensor) or wave.dim() != 3:
        raise ValueError(
            f"audio_vae: decoding the audio latent gave {getattr(wave, 'shape', type(wave).__name__)}, "
            "not a waveform: connect the model's audio VAE (LTXV Audio VAE Loader)"
        )
    return wave.movedim(-1, 1).detach().float().cpu().numpy()


def latent_preview_frames(latent: torch.Tensor, guider: Any) -> np.ndarray:
    """RGB frames ``[B, F, H, W, 3]`` of a video latent without a VAE: the model's latent-to-RGB
    factors (what ComfyUI's step previews use), else the channel mean over the latent's range."""
    x = latent.detach().float().cpu()  # [B, C, F, H, W]
    latent_format = getattr(
        getattr(getattr(guider, "model_patcher", None), "model", None), "latent_format", None
    )
    factors = getattr(latent_format, "latent_rgb_factors", None)
    if factors is not None and len(factors) == x.shape[1]:
        rgb = torch.einsum("bcfhw,cr->bfhwr", x, torch.tensor(factors, dtype=torch.float32))
        bias = getattr(latent_format, "latent_rgb_factors_bias", None)
        if bias is not None:
            rgb = rgb + torch.tensor(bias, dtype=torch.float32)
        return ((rgb + 1.0) / 2.0).clamp(0.0, 1.0).numpy()
    mean = x.mean(dim=1)
    lo, hi = float(mean.min()), float(mean.max())
    gray = (mean - lo) / (hi - lo) if hi > lo else torch.zeros_like(mean)
    return gray[..., None].expand(*gray.shape, 3).numpy()
