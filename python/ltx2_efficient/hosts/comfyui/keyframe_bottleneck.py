"""Keyframe mode "bottleneck": every frame, then the keyframes only, then every frame again.

With the schedule's keyframe steps ``[a, b)`` of N, the sampler node runs three phases on one
trajectory (each a ``guider.sample`` call of the user's sampler):

1. **full**, ``sigmas[:a+1]``: the request as it is (the seed's noise, latent and noise mask);
2. **keyframes**, ``sigmas[a:b+1]``: the state at ``sigma_a`` restricted to the keyframes (the
   trajectory continues, it does not restart from noise), the model told ``frame_rate / s``; the
   noise mask and appended guide frames restricted alike, the LTX-2 audio at full length;
3. **full**, ``sigmas[b:]``: every frame again. The keyframes' current denoised estimate (the
   sampler's last ``x0``) is interpolated to every frame and re-noised to ``sigma_b`` with the
   request's seeded noise of those frames; the keyframes keep exactly the state they reached.

A phase continues from a state through :func:`phase_runner.continuation_noise` (the run starts
exactly there, and the noise mask blends kept frames back from the input's conditioning as in
one run). Each later phase's sampler gets the seed plus the phase's index, so an ancestral or
SDE sampler does not draw the first phase's noise again. With ``b == N`` the keyframes finish
the schedule and are interpolated at the end. One progress bar counts every step and the
interpolation.
"""

from __future__ import annotations

from typing import Any

import torch

from ltx2_efficient.hosts.comfyui.keyframe_latents import expand_keyframes, keyframe_inputs
from ltx2_efficient.hosts.comfyui.latent_parts import join_av, split_av
from ltx2_efficient.hosts.comfyui.phase_runner import Request, Runner, continuation_noise, state_av
from ltx2_efficient.hosts.comfyui.progress import check_cancelled
from ltx2_efficient.sampler.keyframes import KeyframeLayout


def _seed(request: Request, phase: int) -> Any:
    seed = request.seed
    return seed + phase if isinstance(seed, int) and not isinstance(seed, bool) else seed


def _last_x0(runner: Runner, request: Request, key_latent: Any) -> torch.Tensor:
    """The keyframe video's denoised estimate of the last keyframe step (the sampler's
    ``x0``; LTX-2 packs video and audio into one tensor, unpacked here)."""
    import comfy.utils

    x0 = request.progress.x0
    if x0 is None:
        raise RuntimeError("the sampler reported no denoised estimate in the keyframe phase")
    parts = split_av(key_latent)
    if parts[1] is not None:
        shapes = [part.shape for part in parts if part is not None]
        x0 = comfy.utils.unpack_latents(x0, shapes)[0]
    return x0.float()


def _expanded_state(
    runner: Runner,
    request: Request,
    layout: KeyframeLayout,
    key_state: torch.Tensor,
    key_x0: torch.Tensor,
    sigma: float,
) -> torch.Tensor:
    """Every frame's state at ``sigma``: ``(1 - sigma) * x0 + sigma * noise`` with the keyframes'
    ``x0`` interpolated and the request's seeded noise; the keyframes (and appended guide
    frames) keep their own state exactly."""
    model = runner.guider.model_patcher.model
    interpolation, upsampler = request.settings.interpolation, request.upsampler
    expanded = layout.expand(model.process_latent_out(key_x0), interpolation, upsampler)
    full_x0 = layout.scatter(model.process_latent_in(expanded.float()).to(key_state.device), key_x0)
    noise_video, _ = split_av(request.noise)
    key_noise = (key_state - (1.0 - sigma) * key_x0) / sigma  # the keyframes' own noise
    noise = layout.scatter(noise_video.float().to(key_state.device), key_noise)
    return (1.0 - sigma) * full_x0 + sigma * noise


def bottleneck_run(runner: Runner, request: Request, layout: KeyframeLayout) -> tuple[Any, bool]:
    """Runs the phases above; returns (output, whether it is a full-length sampler output)."""
    schedule = runner.schedule
    a, b = int(schedule.restrict_before), int(schedule.expand_before)
    steps, sigmas, progress = request.steps, request.sigmas, request.progress
    common = {"disable_pbar": request.disable_pbar}

    noise = request.noise
    if a > 0:
        full = runner.sample(
            "full", 1.0, 0, request.noise, request.samples, request.sampler, sigmas[: a + 1],
            denoise_mask=request.noise_mask, callback=progress.callback(a), seed=request.seed, **common,
        )  # fmt: skip
        check_cancelled()
        sigma_a = float(sigmas[a])
        noise = continuation_noise(
            runner, join_av(*state_av(runner, full, sigma_a)), request.samples, sigma_a
        )

    key_noise, key_latent, key_mask = keyframe_inputs(layout, request, noise)
    keyframes = runner.sample(
        "keyframes", float(layout.plan.stride), a, key_noise, key_latent, request.sampler, sigmas[a : b + 1],
        denoise_mask=key_mask, callback=progress.callback(b - a), seed=_seed(request, 1 if a > 0 else 0),
        **common,
    )  # fmt: skip
    check_cancelled()
    if b >= steps:
        key_out, audio_out = split_av(keyframes)
        final = join_av(expand_keyframes(layout, request, key_out), audio_out)
        progress.advance(1)
        return final, False

    sigma_b = float(sigmas[b])
    key_state, audio_state = state_av(runner, keyframes, sigma_b)
    state = _expanded_state(
        runner, request, layout, key_state, _last_x0(runner, request, key_latent), sigma_b
    )
    progress.advance(1)
    check_cancelled()
    noise = continuation_noise(runner, join_av(state, audio_state), request.samples, sigma_b)
    final = runner.sample(
        "full", 1.0, b, noise, request.samples, request.sampler, sigmas[b:],
        denoise_mask=request.noise_mask, callback=progress.callback(steps - b), seed=_seed(request, 2), **common,
    )  # fmt: skip
    return final, True
