"""The efficiency check in ComfyUI: one request sampled dense and with the settings, compared.

:func:`run_check` calls the sampler node's own :func:`sample_efficient` twice on the same noise,
first with preset "off" (exactly SamplerCustomAdvanced) and then with the settings to check, on
one progress bar (the dense run fills the first share, the efficient run the rest) and with
ComfyUI's cancel checked after every step. Each run is timed as a whole (wall) and inside the
transformer calls (a ``DIFFUSION_MODEL`` wrapper that synchronises the device around each call),
and its peak CUDA memory is read. The outputs are compared by :mod:`ltx2_efficient.eval.comparison`:
the video latents always, the decoded frames when a VAE is given, the audio waveforms when an
audio VAE is given (else the audio latents). Only a finished check becomes :func:`last_check`
(the panel's ``GET /ltx2eff/last_check``); a cancelled or failed one leaves the previous result.
"""

from __future__ import annotations

import copy
import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ltx2_efficient.eval.comparison import (
    compare_audio,
    compare_audio_latents,
    compare_latents,
    compare_videos,
    keyframe_mask,
)
from ltx2_efficient.hosts.comfyui.efficient_sampling import SamplingResult, sample_efficient
from ltx2_efficient.hosts.comfyui.latent_parts import split_av
from ltx2_efficient.hosts.comfyui.model_wrappers import DIFFUSION_MODEL
from ltx2_efficient.hosts.comfyui.progress import ProgressSpan
from ltx2_efficient.sampler.settings import EfficientSettings
from ltx2_efficient.torch_glue.interpolation import Upsampler

_log = logging.getLogger("ltx2_efficient")
TIMER_KEY = "ltx2eff_check_timer"
LAYOUTS = ("dense | efficient | difference", "dense | efficient")
DIFFERENCE_GAIN = 4.0  # the difference panel shows |efficient - dense| x 4 (small errors visible)

_last: dict[str, Any] | None = None
_last_lock = threading.Lock()


def last_check() -> dict[str, Any] | None:
    """The report of the last finished check in this process (None before the first)."""
    with _last_lock:
        return copy.deepcopy(_last)


def _publish(report: dict[str, Any]) -> None:
    global _last
    with _last_lock:
        _last = copy.deepcopy(report)


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


class ModelCallTimer:
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


def _timed_guider(guider: Any, timer: ModelCallTimer) -> Any:
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
    timer = ModelCallTimer(device)
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
    report = _report(settings, dense_time, efficient_time, steps, getattr(noise, "seed", None))
    report.update(_fidelity(dense, efficient, vae, audio_vae))
    report["notes"].extend(report.pop("notes_fidelity"))
    dense_video = report.pop("_dense_frames", None)
    efficient_video = report.pop("_efficient_frames", None)
    if dense_video is None:
        dense_video = latent_preview_frames(split_av(dense.output["samples"])[0], guider)
        efficient_video = latent_preview_frames(split_av(efficient.output["samples"])[0], guider)
    comparison = side_by_side(dense_video, efficient_video, with_difference=layout == LAYOUTS[0])
    report["comparison"] = {
        "layout": layout,
        "source": report["video"]["space"] if report["video"] else "latent preview",
    }
    bar.update_absolute(units, units)
    _publish(report)
    result = CheckResult(dense, efficient, comparison, report)
    _log.info("LTX2 Efficiency Check: %s", result.summary().replace("\n", " | "))
    return result


def _report(
    settings: EfficientSettings, dense: dict[str, Any], efficient: dict[str, Any], steps: int, seed: Any
) -> dict[str, Any]:
    def ratio(a: float, b: float) -> float | None:
        return a / b if b > 0 else None

    return {
        "kind": "ltx2eff.efficiency_check",
        "settings": settings.describe(),
        "preset": settings.preset,
        "knobs": settings.to_dict(),
        "steps": steps,
        "seed": seed if isinstance(seed, int) else None,
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "dense": dense,
        "efficient": efficient,
        "speedup_wall": ratio(dense["wall_s"], efficient["wall_s"]),
        "speedup_model": ratio(dense["model_s"], efficient["model_s"]),
        "notes": [],
    }


def _fidelity(dense: SamplingResult, efficient: SamplingResult, vae: Any, audio_vae: Any) -> dict[str, Any]:
    dense_video, dense_audio = split_av(dense.output["samples"])
    eff_video, eff_audio = split_av(efficient.output["samples"])
    keyframes = efficient.report.keyframes
    out: dict[str, Any] = {
        "keyframes": keyframes,
        "video_latent": compare_latents(eff_video, dense_video, keyframes),
        "video": None,
        "audio": None,
    }
    notes: list[str] = []
    if vae is not None:
        try:
            reference, frames = decode_video(vae, dense_video), decode_video(vae, eff_video)
        except ValueError as error:  # both runs are done: keep them and say why pixels are missing
            _log.warning("LTX2 Efficiency Check: %s", error)
            notes.append(f"video not decoded: {error}")
        else:
            batch, count = reference.shape[0], reference.shape[1]
            mask = np.tile(keyframe_mask(keyframes, int(dense_video.shape[2]), count), batch)
            out["video"] = compare_videos(
                frames.reshape(-1, *frames.shape[2:]), reference.reshape(-1, *reference.shape[2:]), mask
            )
            out["_dense_frames"], out["_efficient_frames"] = reference, frames
    else:
        notes.append("no VAE connected: video compared in latent space only")
    if dense_audio is not None and eff_audio is not None:
        waves = None
        if audio_vae is not None:
            try:
                waves = decode_audio(audio_vae, eff_audio), decode_audio(audio_vae, dense_audio)
            except ValueError as error:
                _log.warning("LTX2 Efficiency Check: %s", error)
                notes.append(f"audio not decoded: {error}")
        if waves is not None:
            rate = float(audio_vae.first_stage_model.output_sample_rate)
            out["audio"] = compare_audio(waves[0], waves[1], rate)
        else:
            out["audio"] = compare_audio_latents(eff_audio, dense_audio)
            if audio_vae is None:
                notes.append("no audio VAE connected: audio compared in latent space (no log-mel distance)")
    out["notes_fidelity"] = notes
    return out


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


def side_by_side(dense: np.ndarray, efficient: np.ndarray, with_difference: bool = True) -> torch.Tensor:
    """IMAGE frames ``[B*F, H, 2W or 3W, 3]``: dense | efficient (| difference x4)."""
    panels = [dense, efficient]
    if with_difference:
        panels.append(np.clip(np.abs(efficient - dense) * DIFFERENCE_GAIN, 0.0, 1.0))
    joined = np.concatenate(panels, axis=-2)
    return torch.from_numpy(np.ascontiguousarray(joined.reshape(-1, *joined.shape[2:]), dtype=np.float32))


def summary_text(report: dict[str, Any]) -> str:
    """The report in a few lines, for the node and the log."""
    dense, eff = report["dense"], report["efficient"]

    def times(run: dict[str, Any]) -> str:
        vram = f", peak VRAM {run['peak_vram_mb'] / 1024:.2f} GB" if run["peak_vram_mb"] is not None else ""
        return f"{run['wall_s']:.2f} s (model {run['model_s']:.2f} s, {run['model_calls']} calls{vram})"

    speed = "; ".join(
        f"{value:.2f}x {name}"
        for name, value in (("wall", report["speedup_wall"]), ("model calls", report["speedup_model"]))
        if value is not None
    )
    lines = [
        f"checked: {report['settings']}",
        f"dense {times(dense)}; efficient {times(eff)}: {speed or 'no time measured'}",
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
