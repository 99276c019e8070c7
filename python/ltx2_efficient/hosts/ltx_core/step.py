"""One denoising step of the ltx-core loop: the model calls (CFG, step reuse per modality, an
optional step cache), denoised estimates and ltx-core's Euler step.

When only one modality reuses, the call runs with the other switched off through
``Modality.enabled``, as ltx-pipelines does for skipped steps. A ``StepCache`` (the eval's
EasyCache baseline, :mod:`ltx2_efficient.eval.easycache`) may answer the video calls instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import torch

from ltx2_efficient.hosts.ltx_core.streams import Stream
from ltx2_efficient.sampler.report import RunReport

Velocities = dict[str, tuple[torch.Tensor | None, torch.Tensor | None]]


class StepCache(Protocol):
    """A reuse rule that wraps every video model call of a step (video-only models)."""

    def begin_step(self, step: int, sigma: float, steps: int) -> None: ...

    def call(
        self, key: str, x: torch.Tensor, compute: Callable[[], torch.Tensor]
    ) -> tuple[torch.Tensor, bool]:
        """The call's velocity and whether it was computed (False: answered from the cache)."""
        ...


@dataclass
class StepRunner:
    """What every step of a run shares."""

    model: Any
    cfg_scale: float | None  # None: one call per step
    report: RunReport
    step_cache: StepCache | None = None

    @property
    def keys(self) -> list[str]:
        return ["cond", "uncond"] if self.cfg_scale is not None else ["cond"]


def _modality(stream: Stream, sigma: torch.Tensor, context: torch.Tensor | None, enabled: bool) -> Any:
    from ltx_core.model.transformer.modality import Modality

    b = stream.x.shape[0]
    return Modality(
        latent=stream.x,
        sigma=sigma.expand(b),
        timesteps=stream.mask * sigma,
        positions=stream.positions,
        context=context,
        enabled=enabled,
    )


def _reusing(stream: Stream | None, step: int) -> bool:
    return stream is not None and stream.reuse is not None and stream.reuse.begin_step(step, stream.x)


def _call(
    run: StepRunner,
    video: Stream,
    audio: Stream | None,
    sigma: torch.Tensor,
    key: str,
    reuse_v: bool,
    reuse_a: bool,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """One call key ("cond" or "uncond"): computed, reused or answered by the step cache."""
    need_v = not (reuse_v and video.reuse is not None and video.reuse.can_reuse(key))
    need_a = audio is not None and not (reuse_a and audio.reuse is not None and audio.reuse.can_reuse(key))
    vel_v: torch.Tensor | None = None
    vel_a: torch.Tensor | None = None

    def compute() -> tuple[torch.Tensor | None, torch.Tensor | None]:
        v_ctx = video.context if key == "cond" else video.negative_context
        amod = None
        if audio is not None:
            a_ctx = audio.context if key == "cond" else audio.negative_context
            amod = _modality(audio, sigma, a_ctx, need_a)
        out = run.model(_modality(video, sigma, v_ctx, need_v), amod, None)
        run.report.model_calls += 1
        if need_v:
            run.report.token_passes += float(video.x.shape[0] * video.x.shape[1])
        return out

    if run.step_cache is not None and need_v and audio is None:
        vel_v, _ = run.step_cache.call(key, video.x, lambda: compute()[0])  # type: ignore[arg-type,return-value]
    elif need_v or need_a:
        vel_v, vel_a = compute()
    if need_v:
        assert vel_v is not None
        if video.reuse is not None:
            video.reuse.record(video.x, vel_v, key)
    else:
        assert video.reuse is not None
        vel_v = video.reuse.reuse(video.x, key)
    if audio is not None:
        if need_a:
            assert vel_a is not None
            if audio.reuse is not None:
                audio.reuse.record(audio.x, vel_a, key)
        else:
            assert audio.reuse is not None
            vel_a = audio.reuse.reuse(audio.x, key)
    return vel_v, vel_a


def _denoised(
    stream: Stream, velocities: Velocities, index: int, sigma: torch.Tensor, cfg_scale: float | None
) -> torch.Tensor:
    """ltx-core's denoised estimate, CFG in denoised space, conditioning tokens kept clean."""
    from ltx_core.utils import to_denoised

    timesteps = stream.mask * sigma
    den = to_denoised(stream.x, velocities["cond"][index], timesteps)
    if cfg_scale is not None:
        neg = to_denoised(stream.x, velocities["uncond"][index], timesteps)
        den = den + (float(cfg_scale) - 1) * (den - neg)
    return (den * stream.mask + stream.clean.float() * (1 - stream.mask)).to(den.dtype)


def denoise_step(
    run: StepRunner, video: Stream, audio: Stream | None, sigmas: torch.Tensor, step: int
) -> None:
    """Runs step ``step`` of ``sigmas``: the model calls, then the Euler step of each stream
    (``stream.x`` moves to ``sigmas[step + 1]``; ``stream.denoised`` keeps the estimate)."""
    from ltx_core.components.diffusion_steps import EulerDiffusionStep

    sigma = sigmas[step]
    if run.step_cache is not None:
        run.step_cache.begin_step(step, float(sigma), len(sigmas) - 1)
    reuse_v = _reusing(video, step)
    reuse_a = _reusing(audio, step)
    velocities: Velocities = {key: _call(run, video, audio, sigma, key, reuse_v, reuse_a) for key in run.keys}
    for index, stream in enumerate((video, audio)):
        if stream is None:
            continue
        den = _denoised(stream, velocities, index, sigma, run.cfg_scale)
        stream.denoised = den
        stream.x = EulerDiffusionStep().step(stream.x, den, sigmas, step)
