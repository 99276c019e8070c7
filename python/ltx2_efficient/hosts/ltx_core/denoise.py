"""``efficient_denoise``: ltx-core's Euler flow-matching loop with the efficient sampler's techniques.

The plain loop (what ltx-pipelines runs) is, per step i with sigma s_i: build the video (and
audio) ``Modality`` with ``timesteps = denoise_mask * s_i``, call the model (twice with CFG),
turn velocities into denoised latents (``x - v * timesteps``), combine
``cond + (cfg - 1) * (cond - uncond)``, keep conditioning tokens clean
(``denoised * mask + clean * (1 - mask)``) and take an Euler step to s_{i+1}.

``efficient_denoise`` runs the same loop with, as the settings say:

1. keyframe diffusion (frame_stride s > 1): the whole schedule runs on F' = ceil((F-1)/s)+1
   latent frames (conditioning frames included) with contiguous positions at frame_rate / s;
   the audio, when present, is diffused with them over the full clip duration;
2. interpolation of the keyframes to F frames (lerp, slerp, motion warp or a user upsampler);
3. re-noising to ``refine_strength`` and ``refine_steps`` full-length steps along the tail of
   the schedule, with windowed attention; audio stays fixed (denoise mask 0) while the video
   refines against it;
4. window attention on every video self-attention (``apply_efficient``), lossless reuse of the
   text cross-attention keys/values, step reuse per modality in the main phase (when only one
   modality reuses, the call runs with the other switched off through ``Modality.enabled``, as
   ltx-pipelines does for skipped steps), and the activation budget.

With stride 1, window off and reuse off it is the plain loop, to the bit.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch

from ltx2_efficient.hosts.ltx_core.patch import EfficientHandle, apply_efficient
from ltx2_efficient.hosts.ltx_core.positions import video_positions
from ltx2_efficient.sampler.keyframes import KeyframeLayout, plan_keyframes, refine_schedule, renoise
from ltx2_efficient.sampler.report import RunReport
from ltx2_efficient.sampler.reuse import StepReuse
from ltx2_efficient.sampler.settings import EfficientSettings
from ltx2_efficient.torch_glue.interpolation import Upsampler

ProgressFn = Callable[[int, int, str], None]
CancelFn = Callable[[], bool]


class SamplingCancelled(RuntimeError):
    """Raised between steps or phases when ``cancel()`` returned True.

    ``report`` holds what ran so far; ``video`` the latest video latent ``[B, C, F', H, W]`` or
    ``[B, C, F, H, W]`` (the keyframe phase's or the refine phase's state), so nothing is lost.
    """

    def __init__(self, report: RunReport, video: torch.Tensor | None) -> None:
        super().__init__("sampling cancelled")
        self.report = report
        self.video = video


@dataclass
class AudioStream:
    """The audio side of an audio-video model.

    Attributes:
        latent: ``[B, C, T, M]`` audio latent at ``sigmas[0]`` (noise, or noised conditioning).
        context: audio text context ``[B, L, D]``.
        negative_context: the audio context of the unconditional call (CFG).
        positions: ``(B, 1, T, 2)`` token positions; by default ltx-core's ``AudioPatchifier``.
        denoise_mask: ``[B, T]`` or ``[B, T, 1]`` (1 = denoise); default all ones.
        clean_latent: ``[B, C, T, M]`` conditioning kept where the mask is < 1.
    """

    latent: torch.Tensor
    context: torch.Tensor
    negative_context: torch.Tensor | None = None
    positions: torch.Tensor | None = None
    denoise_mask: torch.Tensor | None = None
    clean_latent: torch.Tensor | None = None


@dataclass
class GuideTokens:
    """Keyframe guide tokens appended after the video grid (ltx-core's keyframe conditioning).

    Attributes:
        latent: ``(B, G, C)`` clean guide tokens.
        positions: ``(B, 3, G, 2)`` their positions (time in seconds of the full clip).
        strength: conditioning strength; the tokens' denoise mask is ``1 - strength``.
        frame_idx: the pixel frame the guide targets; its latent frame is always diffused.
    """

    latent: torch.Tensor
    positions: torch.Tensor
    strength: float = 1.0
    frame_idx: int | None = None


@dataclass
class DenoiseResult:
    video: torch.Tensor  # [B, C, F, H, W]
    audio: torch.Tensor | None  # [B, C, T, M]
    report: RunReport = field(default_factory=RunReport)


# ---- token layout helpers ----


def _video_tokens(x: torch.Tensor) -> torch.Tensor:
    return x.flatten(2).transpose(1, 2)  # [B, C, F, H, W] -> (B, F*H*W, C)


def _video_grid(tokens: torch.Tensor, grid: tuple[int, int, int]) -> torch.Tensor:
    b, _, c = tokens.shape
    return tokens.transpose(1, 2).reshape(b, c, *grid)


def _audio_tokens(x: torch.Tensor) -> torch.Tensor:
    b, c, t, m = x.shape
    return x.permute(0, 2, 1, 3).reshape(b, t, c * m)


def _audio_grid(tokens: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    b, c, t, m = shape
    return tokens.reshape(b, t, c, m).permute(0, 2, 1, 3)


def _default_audio_positions(latent: torch.Tensor) -> torch.Tensor:
    from ltx_core.components.patchifiers import AudioPatchifier
    from ltx_core.types import AudioLatentShape

    b, c, t, m = latent.shape
    return AudioPatchifier(patch_size=1).get_patch_grid_bounds(
        AudioLatentShape(b, c, t, m), device=latent.device
    )


@dataclass
class _Stream:
    """One modality's per-phase state, as tokens."""

    x: torch.Tensor  # (B, T, C) current latent
    mask: torch.Tensor  # (B, T, 1) float32 denoise mask
    clean: torch.Tensor  # (B, T, C)
    positions: torch.Tensor
    context: torch.Tensor
    negative_context: torch.Tensor | None
    reuse: StepReuse | None = None


def _check_inputs(
    video_latent: torch.Tensor,
    sigmas: torch.Tensor,
    context: torch.Tensor,
    settings: EfficientSettings,
    frame_rate: float,
    cfg_scale: float,
) -> None:
    if not isinstance(settings, EfficientSettings):
        raise ValueError(f"settings must be an EfficientSettings, got {type(settings).__name__}")
    if not isinstance(video_latent, torch.Tensor) or video_latent.dim() != 5:
        raise ValueError("video_latent must be a [B, C, F, H, W] tensor")
    if sigmas.dim() != 1 or sigmas.numel() < 2:
        raise ValueError(
            f"sigmas must be a 1-D schedule of at least 2 values, got shape {tuple(sigmas.shape)}"
        )
    if bool((sigmas[1:] > sigmas[:-1]).any()) or float(sigmas[0]) <= 0.0:
        raise ValueError("sigmas must be non-increasing and start above 0")
    if not isinstance(context, torch.Tensor) or context.shape[0] != video_latent.shape[0]:
        raise ValueError("context must be a [B, L, D] tensor with the latent's batch size")
    if not isinstance(frame_rate, (int, float)) or isinstance(frame_rate, bool) or not 0 < frame_rate <= 240:
        raise ValueError(f"frame_rate must be in (0, 240], got {frame_rate!r}")
    if not isinstance(cfg_scale, (int, float)) or isinstance(cfg_scale, bool) or not math.isfinite(cfg_scale):
        raise ValueError(f"cfg_scale must be a finite number, got {cfg_scale!r}")


def _video_mask(mask: torch.Tensor | None, latent: torch.Tensor) -> torch.Tensor:
    b, _, f, h, w = latent.shape
    if mask is None:
        return torch.ones((b, 1, f, h, w), dtype=torch.float32, device=latent.device)
    if mask.dim() != 5:
        raise ValueError(
            f"denoise_mask must be [B, 1, F, H, W] (or broadcastable), got shape {tuple(mask.shape)}"
        )
    try:
        return mask.to(device=latent.device, dtype=torch.float32).expand(b, 1, f, h, w).clone()
    except RuntimeError as exc:
        raise ValueError(
            f"denoise_mask of shape {tuple(mask.shape)} does not broadcast to {(b, 1, f, h, w)}"
        ) from exc


def _euler_update(
    stream: _Stream,
    velocities: dict[str, tuple[torch.Tensor | None, torch.Tensor | None]],
    index: int,
    sigmas: torch.Tensor,
    step: int,
    cfg_scale: float | None,
) -> torch.Tensor:
    """ltx-core's step: velocities -> denoised (CFG in denoised space), conditioning kept, Euler."""
    from ltx_core.components.diffusion_steps import EulerDiffusionStep
    from ltx_core.utils import to_denoised

    timesteps = stream.mask * sigmas[step]
    den = to_denoised(stream.x, velocities["cond"][index], timesteps)
    if cfg_scale is not None:
        neg = to_denoised(stream.x, velocities["uncond"][index], timesteps)
        den = den + (float(cfg_scale) - 1) * (den - neg)
    den = (den * stream.mask + stream.clean.float() * (1 - stream.mask)).to(den.dtype)
    return EulerDiffusionStep().step(stream.x, den, sigmas, step)


@contextmanager
def _paced_run(guard: Any, report: RunReport) -> Iterator[None]:
    """Closes the thermal guard's run when sampling ends (also on cancel) and notes its line."""
    try:
        yield
    finally:
        closed = guard.finish() if guard is not None else None
        if closed is not None:
            report.add_note(f"thermal: {closed.summary_line()}")


def efficient_denoise(
    model: torch.nn.Module,
    video_latent: torch.Tensor,
    sigmas: torch.Tensor | Sequence[float],
    context: torch.Tensor,
    settings: EfficientSettings,
    frame_rate: float,
    *,
    negative_context: torch.Tensor | None = None,
    cfg_scale: float = 1.0,
    audio: AudioStream | None = None,
    denoise_mask: torch.Tensor | None = None,
    clean_latent: torch.Tensor | None = None,
    guides: GuideTokens | None = None,
    generator: torch.Generator | None = None,
    upsampler: Upsampler | None = None,
    reuse_mode: str = "output",
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
    chunk_tokens: int | None = None,
    thermal_guard: Any = None,
) -> DenoiseResult:
    """Denoises ``video_latent`` (and ``audio``) with an ltx-core ``LTXModel`` and ``settings``.

    Args:
        model: the ltx-core ``LTXModel`` (velocity model; video-only or audio-video).
        video_latent: ``[B, C, F, H, W]`` latent at ``sigmas[0]`` (noise for text-to-video;
            noise with the conditioning frames blended in for image-to-video).
        sigmas: the schedule, non-increasing, ending at its final sigma (normally 0).
        context: video text context ``[B, L, D]``; ``negative_context`` the unconditional one.
        settings: the knobs (:class:`EfficientSettings`).
        frame_rate: frames per second of the clip (the model is conditioned on it).
        cfg_scale: classifier-free guidance scale; 1 = one call per step.
        audio: the audio stream of an audio-video model (:class:`AudioStream`).
        denoise_mask: ``[B, 1, F, H, W]`` or broadcastable (``[B, 1, F, 1, 1]``): 1 = denoise,
            < 1 = conditioning (e.g. the image-to-video first frame); those frames are always
            diffused and never interpolated.
        clean_latent: ``[B, C, F, H, W]`` conditioning values kept where the mask is < 1
            (default ``video_latent``).
        guides: keyframe guide tokens appended after the grid (global tokens for attention).
        generator: random source of the re-noising before refinement (default: torch's global).
        upsampler: ``[B, C, F, H, W] -> [B, C, 2F-1, H, W]`` for interpolation "upsampler".
        reuse_mode: "output" (reuse the last velocity) or "transform" (see ``StepReuse``).
        progress: ``progress(done, total, phase)`` after every step.
        thermal_guard: a :class:`ltx2_efficient.thermal.ThermalGuard` that paces the GPU between
            steps (its report line becomes a note of the run report); the settings' ``thermal_guard``
            flag without one is reported as not applied.
        cancel: checked before every step and phase; returning True raises
            :class:`SamplingCancelled` (which carries the report and the latest latent).
        chunk_tokens: force the activation-budget token chunk (tests, tuning).

    Returns a :class:`DenoiseResult` (``video`` ``[B, C, F, H, W]``, ``audio`` ``[B, C, T, M]``
    or None, ``report``). Raises ValueError naming the bad argument.
    """
    from ltx_core.model.transformer.modality import Modality

    sigmas_t = torch.as_tensor(sigmas, dtype=torch.float32).to(video_latent.device).flatten()
    _check_inputs(video_latent, sigmas_t, context, settings, frame_rate, cfg_scale)
    use_cfg = float(cfg_scale) != 1.0
    if use_cfg and negative_context is None:
        raise ValueError("negative_context is required when cfg_scale != 1")
    if audio is not None and (use_cfg and audio.negative_context is None):
        raise ValueError("audio.negative_context is required when cfg_scale != 1")
    if settings.keyframes_enabled and settings.interpolation == "upsampler" and upsampler is None:
        raise ValueError("upsampler must be given when interpolation is 'upsampler'")
    if thermal_guard is not None and not (
        callable(getattr(thermal_guard, "between_steps", None))
        and callable(getattr(thermal_guard, "finish", None))
    ):
        raise ValueError(
            f"thermal_guard must be an ltx2_efficient.thermal.ThermalGuard or None, got {type(thermal_guard).__name__}"
        )
    model_type = getattr(model, "model_type", None)
    if audio is not None and model_type is not None and not model_type.is_audio_enabled():
        raise ValueError("audio was given but the model has no audio stream")

    b, _, frames, height, width = video_latent.shape
    dtype = video_latent.dtype
    mask_full = _video_mask(denoise_mask, video_latent)
    clean_full = clean_latent if clean_latent is not None else video_latent
    if clean_full.shape != video_latent.shape:
        raise ValueError(f"clean_latent must have the shape of video_latent {tuple(video_latent.shape)}")

    guide_frames: list[int] = []
    global_tokens = 0
    if guides is not None:
        global_tokens = int(guides.latent.shape[1])
        if guides.frame_idx is not None:
            guide_frames.append(min(frames - 1, (int(guides.frame_idx) + 7) // 8))

    layout: KeyframeLayout = plan_keyframes(
        frames, settings.frame_stride, float(frame_rate), noise_mask=mask_full, guide_frames=guide_frames
    )
    keyframed = not layout.is_identity

    report = RunReport(
        settings=settings.describe(),
        window=settings.window,
        anchor_frame=settings.anchor_frame,
        far_field=settings.far_field,
        steps=len(sigmas_t) - 1,
        full_frames=frames,
        diffused_frames=layout.diffused_frames,
        pinned_frames=list(layout.plan.pinned),
        keyframes=[int(f) for f in layout.plan.diffused] if keyframed else None,
    )
    calls_per_step = 2 if use_cfg else 1
    report.dense_token_passes = float(
        report.steps * calls_per_step * b * (frames * height * width + global_tokens)
    )
    if settings.frame_stride > 1 and not keyframed:
        report.add_note("every frame is conditioning: frame stride not applied")

    refine_sigmas: torch.Tensor | None = None
    if keyframed and settings.refine_steps > 0:
        refine_sigmas = refine_schedule(sigmas_t.cpu(), settings.refine_strength, settings.refine_steps).to(
            video_latent.device
        )
    total_steps = report.steps + (len(refine_sigmas) - 1 if refine_sigmas is not None else 0)
    done = 0
    latest: torch.Tensor | None = None

    def check_cancel() -> None:
        if cancel is not None and cancel():
            report.cancelled = True
            raise SamplingCancelled(report, latest)

    def guide_parts(stream_tokens: torch.Tensor) -> tuple[torch.Tensor, ...]:
        assert guides is not None
        g = guides.latent.to(device=stream_tokens.device, dtype=stream_tokens.dtype)
        gmask = torch.full(
            (b, g.shape[1], 1), 1.0 - float(guides.strength), device=g.device, dtype=torch.float32
        )
        return g, gmask, guides.positions.to(stream_tokens.device)

    def make_video_stream(
        latent: torch.Tensor, mask: torch.Tensor, clean: torch.Tensor, fps: float
    ) -> _Stream:
        grid = tuple(latent.shape[2:])
        x = _video_tokens(latent)
        m = _video_tokens(mask)
        c = _video_tokens(clean.to(dtype))
        pos = video_positions(b, grid, fps, device=latent.device, dtype=dtype)
        if guides is not None:
            g, gmask, gpos = guide_parts(x)
            x = torch.cat([x, g], dim=1)
            m = torch.cat([m, gmask], dim=1)
            c = torch.cat([c, g], dim=1)
            pos = torch.cat([pos, gpos.to(pos.dtype)], dim=2)
        return _Stream(
            x=x, mask=m, clean=c, positions=pos, context=context, negative_context=negative_context
        )

    def make_audio_stream(latent: torch.Tensor, mask: torch.Tensor | None, clean: torch.Tensor) -> _Stream:
        assert audio is not None
        x = _audio_tokens(latent)
        if mask is None:
            m = torch.ones((b, x.shape[1], 1), dtype=torch.float32, device=x.device)
        else:
            m = mask.to(device=x.device, dtype=torch.float32).reshape(b, x.shape[1], 1)
        pos = audio.positions if audio.positions is not None else _default_audio_positions(latent)
        return _Stream(
            x=x,
            mask=m,
            clean=_audio_tokens(clean.to(latent.dtype)),
            positions=pos.to(latent.device),
            context=audio.context,
            negative_context=audio.negative_context,
        )

    def run_phase(
        handle: EfficientHandle,
        video: _Stream,
        audio_stream: _Stream | None,
        phase_sigmas: torch.Tensor,
        grid: tuple[int, int, int],
        phase: str,
    ) -> None:
        nonlocal done, latest
        handle.set_grid(grid, global_tokens)
        video_tokens = video.x.shape[1]
        for i in range(len(phase_sigmas) - 1):
            check_cancel()
            sigma = phase_sigmas[i]
            sigma_b = sigma.expand(b)
            reuse_v = video.reuse.begin_step(i, video.x) if video.reuse is not None else False
            reuse_a = (
                audio_stream.reuse.begin_step(i, audio_stream.x)
                if audio_stream is not None and audio_stream.reuse is not None
                else False
            )
            keys = ["cond", "uncond"] if use_cfg else ["cond"]
            velocities: dict[str, tuple[torch.Tensor | None, torch.Tensor | None]] = {}
            for key in keys:
                v_ctx = video.context if key == "cond" else video.negative_context
                need_v = not (reuse_v and video.reuse is not None and video.reuse.can_reuse(key))
                need_a = audio_stream is not None and not (
                    reuse_a and audio_stream.reuse is not None and audio_stream.reuse.can_reuse(key)
                )
                vel_v: torch.Tensor | None = None
                vel_a: torch.Tensor | None = None
                if need_v or need_a:
                    vmod = Modality(
                        latent=video.x,
                        sigma=sigma_b,
                        timesteps=video.mask * sigma,
                        positions=video.positions,
                        context=v_ctx,
                        enabled=need_v,
                    )
                    amod = None
                    if audio_stream is not None:
                        a_ctx = audio_stream.context if key == "cond" else audio_stream.negative_context
                        amod = Modality(
                            latent=audio_stream.x,
                            sigma=sigma_b,
                            timesteps=audio_stream.mask * sigma,
                            positions=audio_stream.positions,
                            context=a_ctx,
                            enabled=need_a,
                        )
                    vel_v, vel_a = model(vmod, amod, None)
                    report.model_calls += 1
                    if need_v:
                        report.token_passes += float(b * video_tokens)
                if need_v:
                    assert vel_v is not None
                    if video.reuse is not None:
                        video.reuse.record(video.x, vel_v, key)
                else:
                    assert video.reuse is not None
                    vel_v = video.reuse.reuse(video.x, key)
                if audio_stream is not None:
                    if need_a:
                        assert vel_a is not None
                        if audio_stream.reuse is not None:
                            audio_stream.reuse.record(audio_stream.x, vel_a, key)
                    else:
                        assert audio_stream.reuse is not None
                        vel_a = audio_stream.reuse.reuse(audio_stream.x, key)
                velocities[key] = (vel_v, vel_a)

            video.x = _euler_update(video, velocities, 0, phase_sigmas, i, cfg_scale if use_cfg else None)
            if audio_stream is not None:
                audio_stream.x = _euler_update(
                    audio_stream, velocities, 1, phase_sigmas, i, cfg_scale if use_cfg else None
                )
            latest = _video_grid(video.x[:, : math.prod(grid)], grid)
            done += 1
            if progress is not None:
                progress(done, total_steps, phase)
            if thermal_guard is not None:
                thermal_guard.between_steps()

    audio_out: torch.Tensor | None = None
    if settings.thermal_guard and thermal_guard is None:
        report.add_note("thermal guard asked for but none given: not paced")
    with (
        torch.no_grad(),
        _paced_run(thermal_guard, report),
        apply_efficient(model, settings, chunk_tokens=chunk_tokens) as handle,
    ):
        report.blocks = handle.blocks
        handle.attach_stats(report.attention)

        # ---- main (keyframe) phase ----
        check_cancel()
        start = time.perf_counter()
        key_grid = (layout.diffused_frames, height, width)
        fps_key = layout.effective_fps if keyframed else float(frame_rate)
        video = make_video_stream(
            layout.select(video_latent), layout.select(mask_full), layout.select(clean_full), fps_key
        )
        if settings.reuse_enabled:
            video.reuse = StepReuse.from_settings(settings, report.steps, "video", reuse_mode)
        audio_stream = None
        if audio is not None:
            audio_clean = audio.clean_latent if audio.clean_latent is not None else audio.latent
            audio_stream = make_audio_stream(audio.latent, audio.denoise_mask, audio_clean)
            if settings.reuse_enabled:
                audio_stream.reuse = StepReuse.from_settings(settings, report.steps, "audio", reuse_mode)
        run_phase(handle, video, audio_stream, sigmas_t, key_grid, "keyframes" if keyframed else "denoise")
        if video.reuse is not None:
            report.reuse["video"] = video.reuse.summary()
        if audio_stream is not None:
            if audio_stream.reuse is not None:
                report.reuse["audio"] = audio_stream.reuse.summary()
            audio_out = _audio_grid(audio_stream.x, audio.latent.shape)  # type: ignore[union-attr]
        keyframes = _video_grid(video.x[:, : math.prod(key_grid)], key_grid)
        report.times["keyframes" if keyframed else "denoise"] = time.perf_counter() - start

        if not keyframed:
            report.text_kv_reused, report.text_kv_computed = handle.text_kv_reuse
            return DenoiseResult(video=keyframes, audio=audio_out, report=report)

        # ---- interpolation ----
        check_cancel()
        start = time.perf_counter()
        full = layout.expand(keyframes, settings.interpolation, upsampler)
        # Conditioning frames and tokens stay exactly what the caller gave.
        full = (full.float() * mask_full + clean_full.float() * (1 - mask_full)).to(dtype)
        report.interpolation = settings.interpolation
        report.times["interpolate"] = time.perf_counter() - start
        latest = full
        if refine_sigmas is None:
            report.add_note("no refine steps: interpolated frames are not refined")
            report.text_kv_reused, report.text_kv_computed = handle.text_kv_reuse
            return DenoiseResult(video=full, audio=audio_out, report=report)

        # ---- refine phase ----
        check_cancel()
        start = time.perf_counter()
        gen_device = generator.device if generator is not None else torch.device("cpu")
        noise = torch.randn(full.shape, generator=generator, dtype=torch.float32, device=gen_device)
        noisy = renoise(full, noise.to(full.device), float(refine_sigmas[0]), mask_full)
        video = make_video_stream(noisy, mask_full, clean_full, float(frame_rate))
        refine_audio = None
        if audio_out is not None:
            # The audio is done: it stays fixed (mask 0) while the video refines against it.
            refine_audio = make_audio_stream(audio_out, torch.zeros(b, audio_out.shape[2]), audio_out)
        run_phase(handle, video, refine_audio, refine_sigmas, (frames, height, width), "refine")
        report.refine_steps = len(refine_sigmas) - 1
        report.times["refine"] = time.perf_counter() - start
        out = _video_grid(video.x[:, : frames * height * width], (frames, height, width))
        report.text_kv_reused, report.text_kv_computed = handle.text_kv_reuse
        return DenoiseResult(video=out, audio=audio_out, report=report)
