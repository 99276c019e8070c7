"""``efficient_denoise``: ltx-core's Euler flow-matching loop with the efficient sampler's techniques.

The plain loop (what ltx-pipelines runs) is, per step i with sigma s_i: build the video (and
audio) ``Modality`` with ``timesteps = denoise_mask * s_i``, call the model (twice with CFG),
turn velocities into denoised latents (``x - v * timesteps``), combine
``cond + (cfg - 1) * (cond - uncond)``, keep conditioning tokens clean
(``denoised * mask + clean * (1 - mask)``) and take an Euler step to s_{i+1}.

``efficient_denoise`` runs the same loop with, as the settings and their per-step schedule
(``settings.step_schedule(N)``, from the C++ core) say:

1. keyframe diffusion (frame_stride s > 1) on F' = ceil((F-1)/s)+1 latent frames (conditioning
   frames included) with contiguous positions at frame_rate / s, the audio diffused with them
   over the full clip duration, in one of two modes:
   - ``refine``: keyframes from step 0 to the end, then interpolation to F frames (lerp, slerp,
     motion warp or a user upsampler), re-noising to ``refine_strength`` and ``refine_steps``
     full-length steps along the tail of the schedule (audio fixed while the video refines);
   - ``bottleneck``: every frame for the first steps; before step a the current latent is
     restricted to the keyframes (the trajectory continues, nothing restarts from noise); before
     step b the keyframes' current denoised estimate is interpolated to every frame, re-noised
     to sigma_b with the request's noise for the frames between the keyframes (the keyframes
     keep their latent), and the last steps finish at full length;
2. window attention only on the schedule's windowed steps (dense before and after), never on the
   first/last ``dense_*_blocks`` blocks (``apply_efficient``), lossless reuse of the text
   cross-attention keys/values, step reuse per modality across the whole schedule (a step where
   the length changes is always computed), and the activation budget.

An out-of-memory error inside a run leaves the patches removed and the sampler's caches freed,
and comes out as one :class:`~ltx2_efficient.sampler.out_of_memory.SamplerOutOfMemory` that names
the knobs lowering the peak of the phase that was running.

The steps live in :mod:`.step` (one denoising step) and :mod:`.streams` (token layouts).
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
from ltx2_efficient.hosts.ltx_core.step import StepCache, StepRunner, denoise_step
from ltx2_efficient.hosts.ltx_core.streams import (
    GuideParts,
    Stream,
    audio_grid,
    audio_stream,
    video_grid,
    video_stream,
)
from ltx2_efficient.sampler.keyframes import KeyframeLayout, plan_keyframes, refine_schedule, renoise
from ltx2_efficient.sampler.out_of_memory import Where, free_after_out_of_memory, out_of_memory_error
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


@contextmanager
def _paced_run(guard: Any, report: RunReport) -> Iterator[None]:
    """Closes the thermal guard's run when sampling ends (also on cancel) and notes its line."""
    try:
        yield
    finally:
        closed = guard.finish() if guard is not None else None
        if closed is not None:
            report.add_note(f"thermal: {closed.summary_line()}")


@dataclass(frozen=True)
class _Segment:
    """Consecutive steps [begin, end) on all frames or on the keyframes only."""

    begin: int
    end: int
    keyframes: bool

    @property
    def phase(self) -> str:
        return "keyframes" if self.keyframes else ("denoise" if self.begin == 0 else "finish")


def _segments(schedule: Any, steps: int) -> list[_Segment]:
    """The main phase as runs of steps of one length (the schedule's transitions cut it)."""
    cuts = sorted(
        {0, steps, *((schedule.keyframe_begin, schedule.keyframe_end) if schedule.keyframed else ())}
    )
    segments = []
    for begin, end in zip(cuts, cuts[1:], strict=False):
        if end > begin:
            segments.append(_Segment(begin, end, bool(schedule.at(begin).keyframes)))
    return segments


@dataclass
class _Run:
    """Everything one efficient_denoise call shares between its steps and phases."""

    settings: EfficientSettings
    sigmas: torch.Tensor
    frame_rate: float
    video_latent: torch.Tensor
    mask: torch.Tensor  # [B, 1, F, H, W] float32
    clean: torch.Tensor  # [B, C, F, H, W]
    context: torch.Tensor
    negative_context: torch.Tensor | None
    audio: AudioStream | None
    guides: GuideParts | None
    global_tokens: int
    layout: KeyframeLayout
    schedule: Any  # _core.StepSchedule
    report: RunReport
    runner: StepRunner
    generator: torch.Generator | None
    noise: torch.Tensor | None
    upsampler: Upsampler | None
    reuse_mode: str
    progress: ProgressFn | None
    cancel: CancelFn | None
    thermal_guard: Any
    refine_sigmas: torch.Tensor | None = None
    total_steps: int = 0
    done: int = 0
    latest: torch.Tensor | None = None
    where: Where = field(default_factory=lambda: Where("denoise"))  # what runs now (for OOM errors)
    reuse_controllers: list[StepReuse] = field(default_factory=list)

    def new_reuse(self, steps: int, modality: str) -> StepReuse:
        controller = StepReuse.from_settings(self.settings, steps, modality, self.reuse_mode)
        self.reuse_controllers.append(controller)
        return controller

    def release(self) -> None:
        """Frees what the run holds between steps: reuse caches and the latest latent."""
        for controller in self.reuse_controllers:
            controller.release()
        self.latest = None

    @property
    def full_grid(self) -> tuple[int, int, int]:
        _, _, f, h, w = self.video_latent.shape
        return (f, h, w)

    @property
    def key_grid(self) -> tuple[int, int, int]:
        _, h, w = self.full_grid
        return (self.layout.diffused_frames, h, w)

    @property
    def key_fps(self) -> float:
        return self.layout.effective_fps

    def check_cancel(self) -> None:
        if self.cancel is not None and self.cancel():
            self.report.cancelled = True
            raise SamplingCancelled(self.report, self.latest)

    def video_stream(
        self, latent: torch.Tensor, mask: torch.Tensor, clean: torch.Tensor, fps: float
    ) -> Stream:
        return video_stream(latent, mask, clean, fps, self.context, self.negative_context, self.guides)

    def seeded_noise(self) -> torch.Tensor:
        """The request's noise for every frame: ``noise``, else the initial latent when the
        schedule starts at sigma 1 (it is the noise), else drawn from ``generator``."""
        if self.noise is not None:
            return self.noise
        if float(self.sigmas[0]) >= 1.0:
            return self.video_latent
        device = self.generator.device if self.generator is not None else torch.device("cpu")
        drawn = torch.randn(
            self.video_latent.shape, generator=self.generator, dtype=torch.float32, device=device
        )
        return drawn.to(self.video_latent.device)


def _prepare(
    model: torch.nn.Module,
    video_latent: torch.Tensor,
    sigmas: torch.Tensor,
    settings: EfficientSettings,
    frame_rate: float,
    cfg_scale: float,
    denoise_mask: torch.Tensor | None,
    clean_latent: torch.Tensor | None,
    guides: GuideTokens | None,
    **rest: Any,
) -> _Run:
    """Validates the request and plans it: keyframe layout, step schedule, run report."""
    _, _, frames, _, _ = video_latent.shape
    mask_full = _video_mask(denoise_mask, video_latent)
    clean_full = clean_latent if clean_latent is not None else video_latent
    noise = rest.get("noise")
    _check_latent_shapes(video_latent, clean_full, noise)
    parts, global_tokens, guide_frames = _guide_parts(guides, video_latent)
    layout = plan_keyframes(
        frames, settings.frame_stride, float(frame_rate), noise_mask=mask_full, guide_frames=guide_frames
    )
    steps = len(sigmas) - 1
    schedule, keyframed = _step_schedule(settings, steps, layout)
    use_cfg = float(cfg_scale) != 1.0
    report = _run_report(settings, layout, keyframed, steps, video_latent, global_tokens, use_cfg)
    run = _Run(
        settings=settings,
        sigmas=sigmas,
        frame_rate=float(frame_rate),
        video_latent=video_latent,
        mask=mask_full,
        clean=clean_full,
        context=rest["context"],
        negative_context=rest.get("negative_context"),
        audio=rest.get("audio"),
        guides=parts,
        global_tokens=global_tokens,
        layout=layout,
        schedule=schedule,
        report=report,
        runner=StepRunner(model, float(cfg_scale) if use_cfg else None, report, rest.get("step_cache")),
        generator=rest.get("generator"),
        noise=noise,
        upsampler=rest.get("upsampler"),
        reuse_mode=rest.get("reuse_mode", "output"),
        progress=rest.get("progress"),
        cancel=rest.get("cancel"),
        thermal_guard=rest.get("thermal_guard"),
    )
    if keyframed and schedule.refine_steps > 0:
        run.refine_sigmas = refine_schedule(sigmas.cpu(), settings.refine_strength, settings.refine_steps).to(
            video_latent.device
        )
    run.total_steps = steps + (len(run.refine_sigmas) - 1 if run.refine_sigmas is not None else 0)
    return run


def _check_latent_shapes(
    video_latent: torch.Tensor, clean_latent: torch.Tensor, noise: torch.Tensor | None
) -> None:
    if clean_latent.shape != video_latent.shape:
        raise ValueError(f"clean_latent must have the shape of video_latent {tuple(video_latent.shape)}")
    if noise is not None and (not isinstance(noise, torch.Tensor) or noise.shape != video_latent.shape):
        raise ValueError(f"noise must be a tensor of the shape of video_latent {tuple(video_latent.shape)}")


def _guide_parts(
    guides: GuideTokens | None, video_latent: torch.Tensor
) -> tuple[GuideParts | None, int, list[int]]:
    """The appended guide tokens on the latent's device and dtype, their count, and the latent
    frame a frame-indexed guide pins (none without guides)."""
    if guides is None:
        return None, 0, []
    b, _, frames, _, _ = video_latent.shape
    guide_frames: list[int] = []
    if guides.frame_idx is not None:
        guide_frames.append(min(frames - 1, (int(guides.frame_idx) + 7) // 8))
    g = guides.latent.to(device=video_latent.device, dtype=video_latent.dtype)
    gmask = torch.full((b, g.shape[1], 1), 1.0 - float(guides.strength), device=g.device, dtype=torch.float32)
    parts = GuideParts(g, gmask, guides.positions.to(video_latent.device))
    return parts, int(guides.latent.shape[1]), guide_frames


def _step_schedule(settings: EfficientSettings, steps: int, layout: KeyframeLayout) -> tuple[Any, bool]:
    """The step schedule and whether it diffuses keyframes; without keyframes to restrict to,
    the schedule of frame stride 1."""
    schedule = settings.step_schedule(steps)
    keyframed = schedule.keyframed and not layout.is_identity
    if not keyframed:
        schedule = settings.with_overrides(frame_stride=1).step_schedule(steps)
    return schedule, keyframed


def _run_report(
    settings: EfficientSettings,
    layout: KeyframeLayout,
    keyframed: bool,
    steps: int,
    video_latent: torch.Tensor,
    global_tokens: int,
    use_cfg: bool,
) -> RunReport:
    """The report as planned: frames diffused and pinned, keyframes, the dense token passes."""
    b, _, frames, height, width = video_latent.shape
    report = RunReport(
        settings=settings.describe(),
        window=settings.window,
        anchor_frame=settings.anchor_frame,
        far_field=settings.far_field,
        steps=steps,
        full_frames=frames,
        diffused_frames=layout.diffused_frames if keyframed else frames,
        pinned_frames=list(layout.plan.pinned),
        keyframes=[int(f) for f in layout.plan.diffused] if keyframed else None,
    )
    report.dense_token_passes = float(
        steps * (2 if use_cfg else 1) * b * (frames * height * width + global_tokens)
    )
    if settings.frame_stride > 1 and layout.is_identity:
        report.add_note("every frame is conditioning: frame stride not applied")
    return report


def _run_steps(
    run: _Run,
    handle: EfficientHandle,
    video: Stream,
    audio: Stream | None,
    sigmas: torch.Tensor,
    steps: range,
    grid: tuple[int, int, int],
    phase: str,
    window: Callable[[int], bool],
) -> None:
    """Steps ``steps`` of ``sigmas`` on ``grid``, the window on where ``window(step)`` says."""
    handle.set_grid(grid, run.global_tokens)
    start = time.perf_counter()
    tokens = math.prod(grid) + run.global_tokens
    for i in steps:
        run.check_cancel()
        run.where = Where(phase, i, len(sigmas) - 1, tokens, handle.chunk_tokens)
        handle.set_window(window(i))
        denoise_step(run.runner, video, audio, sigmas, i)
        run.latest = video_grid(video.x, grid)
        run.done += 1
        if run.progress is not None:
            run.progress(run.done, run.total_steps, phase)
        if run.thermal_guard is not None:
            run.thermal_guard.between_steps()
    run.report.times[phase] = run.report.times.get(phase, 0.0) + time.perf_counter() - start


def _with_guides_of(stream: Stream, previous: Stream, grid_tokens: int, previous_grid_tokens: int) -> Stream:
    """Carries the appended guide tokens' current values (they denoise too when strength < 1)."""
    if stream.x.shape[1] > grid_tokens:
        stream.x = torch.cat([stream.x[:, :grid_tokens], previous.x[:, previous_grid_tokens:]], dim=1)
    stream.reuse = previous.reuse
    return stream


def _restrict(run: _Run, video: Stream) -> Stream:
    """The current latent restricted to the keyframes, positions at fps / stride (the
    trajectory continues; nothing is re-noised)."""
    full = video_grid(video.x, run.full_grid)
    keys = run.video_stream(
        run.layout.select(full), run.layout.select(run.mask), run.layout.select(run.clean), run.key_fps
    )
    return _with_guides_of(keys, video, math.prod(run.key_grid), math.prod(run.full_grid))


def _interpolate(run: _Run, keyframes: torch.Tensor) -> torch.Tensor:
    """Keyframes ``[B, C, F', H, W]`` to every frame, conditioning frames kept exactly."""
    full = run.layout.expand(keyframes, run.settings.interpolation, run.upsampler)
    return (full.float() * run.mask + run.clean.float() * (1 - run.mask)).to(run.video_latent.dtype)


def _expand(run: _Run, video: Stream, step: int) -> Stream:
    """Back to every frame before step ``step``: the keyframes keep their current latent; the
    frames between them get the keyframes' denoised estimate interpolated and re-noised to
    ``sigmas[step]`` with the request's noise for those frames."""
    start = time.perf_counter()
    assert video.denoised is not None
    run.where = Where("interpolate")
    den = _interpolate(run, video_grid(video.denoised, run.key_grid))
    sigma = float(run.sigmas[step])
    noisy = renoise(den, run.seeded_noise(), sigma, run.mask)
    noisy = run.layout.scatter(noisy, video_grid(video.x, run.key_grid))
    run.report.times["interpolate"] = run.report.times.get("interpolate", 0.0) + time.perf_counter() - start
    run.report.interpolation = run.settings.interpolation
    full = run.video_stream(noisy, run.mask, run.clean, run.frame_rate)
    return _with_guides_of(full, video, math.prod(run.full_grid), math.prod(run.key_grid))


def _main_phase(run: _Run, handle: EfficientHandle) -> tuple[Stream, Stream | None]:
    """Every step of the schedule: all frames, keyframes, all frames again as it says."""
    settings, schedule = run.settings, run.schedule
    steps = len(run.sigmas) - 1
    segments = _segments(schedule, steps)
    first = segments[0]
    latent, mask, clean = run.video_latent, run.mask, run.clean
    if first.keyframes:
        latent, mask, clean = (run.layout.select(t) for t in (latent, mask, clean))
    video = run.video_stream(latent, mask, clean, run.key_fps if first.keyframes else run.frame_rate)
    if settings.reuse_enabled:
        video.reuse = run.new_reuse(steps, "video")
    audio = None
    if run.audio is not None:
        clean_audio = run.audio.clean_latent if run.audio.clean_latent is not None else run.audio.latent
        audio = audio_stream(run.audio, run.audio.latent, run.audio.denoise_mask, clean_audio)
        if settings.reuse_enabled:
            audio.reuse = run.new_reuse(steps, "audio")
    previous: _Segment | None = None
    for segment in segments:
        run.check_cancel()
        if previous is not None:
            if video.reuse is not None:
                video.reuse.release()  # outputs of the other length: free them before the switch
            video = _restrict(run, video) if segment.keyframes else _expand(run, video, segment.begin)
        grid = run.key_grid if segment.keyframes else run.full_grid
        _run_steps(
            run, handle, video, audio, run.sigmas, range(segment.begin, segment.end), grid, segment.phase,
            lambda i: bool(schedule.at(i).window),
        )  # fmt: skip
        previous = segment
    return video, audio


def _refine(
    run: _Run, handle: EfficientHandle, full: torch.Tensor, audio_out: torch.Tensor | None
) -> torch.Tensor:
    """Refine mode's tail: re-noise the interpolated clip to refine_strength and run the refine
    steps at full length; the audio stays fixed (mask 0) while the video refines against it."""
    assert run.refine_sigmas is not None
    gen_device = run.generator.device if run.generator is not None else torch.device("cpu")
    noise = torch.randn(full.shape, generator=run.generator, dtype=torch.float32, device=gen_device)
    noisy = renoise(full, noise.to(full.device), float(run.refine_sigmas[0]), run.mask)
    video = run.video_stream(noisy, run.mask, run.clean, run.frame_rate)
    audio = None
    if audio_out is not None:
        b = audio_out.shape[0]
        audio = audio_stream(run.audio, audio_out, torch.zeros(b, audio_out.shape[2]), audio_out)
    windowed = bool(run.schedule.refine_windowed)
    _run_steps(
        run, handle, video, audio, run.refine_sigmas, range(len(run.refine_sigmas) - 1), run.full_grid,
        "refine", lambda _i: windowed,
    )  # fmt: skip
    run.report.refine_steps = len(run.refine_sigmas) - 1
    return video_grid(video.x, run.full_grid)


def _sample(run: _Run, handle: EfficientHandle) -> DenoiseResult:
    report = run.report
    report.blocks = handle.blocks
    report.schedule = run.schedule.summary(handle.blocks)
    handle.attach_stats(report.attention)
    video, audio = _main_phase(run, handle)
    if video.reuse is not None:
        report.reuse["video"] = video.reuse.summary()
    audio_out = None
    if audio is not None:
        if audio.reuse is not None:
            report.reuse["audio"] = audio.reuse.summary()
        audio_out = audio_grid(audio.x, run.audio.latent.shape)  # type: ignore[union-attr]
    ends_on_keyframes = run.schedule.keyframed and run.schedule.keyframe_end == len(run.sigmas) - 1
    out = video_grid(video.x, run.key_grid if ends_on_keyframes else run.full_grid)
    if ends_on_keyframes:
        # The last steps ran on the keyframes: interpolate, then refine (refine mode).
        run.check_cancel()
        start = time.perf_counter()
        run.release()  # the main phase's reuse caches are done with
        run.where = Where("interpolate")
        out = _interpolate(run, out)
        report.interpolation = run.settings.interpolation
        report.times["interpolate"] = report.times.get("interpolate", 0.0) + time.perf_counter() - start
        run.latest = out
        if run.refine_sigmas is not None:
            run.check_cancel()
            out = _refine(run, handle, out, audio_out)
        else:
            report.add_note("no refine steps: interpolated frames are not refined")
    report.text_kv_reused, report.text_kv_computed = handle.text_kv_reuse
    if (limited := handle.text_kv_limit_note) is not None:
        report.add_note(limited)
    return DenoiseResult(video=out, audio=audio_out, report=report)


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
    noise: torch.Tensor | None = None,
    step_cache: StepCache | None = None,
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
        noise: ``[B, C, F, H, W]``, the request's seeded noise, which re-noises the frames between
            the keyframes when a bottleneck expands back to every frame (default: ``video_latent``
            when the schedule starts at sigma 1, which makes it the noise; else drawn from
            ``generator``).
        step_cache: a rule that may answer the video model calls from a cache (video-only
            models; the eval's EasyCache baseline), applied where step reuse is off.

    Returns a :class:`DenoiseResult` (``video`` ``[B, C, F, H, W]``, ``audio`` ``[B, C, T, M]``
    or None, ``report``). Raises ValueError naming the bad argument.
    """
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

    if step_cache is not None and audio is not None:
        raise ValueError("step_cache works on video-only models: audio was given")
    run = _prepare(
        model, video_latent, sigmas_t, settings, frame_rate, cfg_scale, denoise_mask, clean_latent, guides,
        context=context, negative_context=negative_context, audio=audio, generator=generator,
        upsampler=upsampler, reuse_mode=reuse_mode, progress=progress, cancel=cancel,
        thermal_guard=thermal_guard, noise=noise, step_cache=step_cache,
    )  # fmt: skip
    if settings.thermal_guard and thermal_guard is None:
        run.report.add_note("thermal guard asked for but none given: not paced")
    try:
        with (
            torch.no_grad(),
            _paced_run(thermal_guard, run.report),
            apply_efficient(model, settings, chunk_tokens=chunk_tokens) as handle,
        ):
            return _sample(run, handle)
    except torch.OutOfMemoryError as exc:
        # Leaving the `with` removed the patches and freed the text K/V cache; free the rest.
        run.release()
        free_after_out_of_memory(exc)
        raise out_of_memory_error(settings, run.where) from exc
