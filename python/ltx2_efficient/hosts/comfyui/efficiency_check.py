"""The efficiency check's parts in ComfyUI: timed runs of the sampler node's own
:func:`sample_efficient`, the decoders of what is compared, and the check's result.

:func:`timed_run` runs one request with some settings on its share of one progress bar, with
ComfyUI's cancel checked after every step, and times it as a whole (wall) and inside the
transformer calls (a ``DIFFUSION_MODEL`` wrapper that synchronises the device around each call),
and reads its peak CUDA memory. :mod:`check_runs` puts the check together: the dense run (preset
"off", exactly SamplerCustomAdvanced), the settings' run and any sweep, compared by
:mod:`ltx2_efficient.eval.comparison`.
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
    summary_text,
)
from ltx2_efficient.hosts.comfyui.efficient_sampling import SamplingResult, sample_efficient
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


def work_units(settings: EfficientSettings, steps: int) -> int:
    """Progress units of a run with ``settings``: its steps, plus interpolation and refinement."""
    if settings.keyframes_enabled:
        return steps + 1 + settings.refine_steps
    return steps


def timed_run(
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


def decoded(decode: Any, what: str, notes: list[str]) -> Any:
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
