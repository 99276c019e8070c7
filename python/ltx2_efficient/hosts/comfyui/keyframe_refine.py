"""Keyframe mode "refine": keyframes from step 0, interpolation, then a full-length refine.

1. **keyframes**: the request restricted to the keyframes (:mod:`keyframe_latents`), the whole
   sigma schedule, the model told ``frame_rate / s`` by the ``DIFFUSION_MODEL`` wrapper;
2. **interpolate** the keyframes to every frame (conditioning frames put back from the input);
3. **refine**: the full-length latent re-noised to ``refine_strength`` and denoised by the tail
   of the schedule (:func:`refine_sigmas`), windowed when the schedule's window reaches the end.
   The audio from phase 1 is held fixed (noise mask 0) as conditioning, so it is not diffused
   twice.

The same noise (one seed) serves both phases: phase 1 takes its diffused frames.
"""

from __future__ import annotations

from typing import Any

import torch

from ltx2_efficient.hosts.comfyui.keyframe_latents import expand_keyframes, keyframe_inputs
from ltx2_efficient.hosts.comfyui.latent_parts import join_av, split_av
from ltx2_efficient.hosts.comfyui.phase_runner import Request, Runner
from ltx2_efficient.hosts.comfyui.progress import check_cancelled
from ltx2_efficient.hosts.comfyui.refine_schedule import refine_sigmas
from ltx2_efficient.sampler.keyframes import KeyframeLayout


def refine_run(runner: Runner, request: Request, layout: KeyframeLayout, refine: int) -> tuple[Any, bool]:
    """Runs the three steps above; returns (output, whether it is a full-length sampler output)."""
    progress = request.progress
    key_noise, key_latent, key_mask = keyframe_inputs(layout, request, request.noise)
    phase1 = runner.sample(
        "keyframes", float(layout.plan.stride), 0, key_noise, key_latent, request.sampler, request.sigmas,
        denoise_mask=key_mask, callback=progress.callback(request.steps), disable_pbar=request.disable_pbar,
        seed=request.seed,
    )  # fmt: skip
    check_cancelled()

    key_out, audio_out = split_av(phase1)
    full = expand_keyframes(layout, request, key_out)
    progress.advance(1)
    check_cancelled()
    if refine <= 0:
        return join_av(full, audio_out), False

    video_mask = request.video_mask
    tail = refine_sigmas(request.sigmas, refine, request.settings.refine_strength)
    refine_mask = None
    if audio_out is not None:
        video_part = video_mask if video_mask is not None else torch.ones_like(full[:, :1])
        refine_mask = join_av(video_part, torch.zeros_like(audio_out))
    elif video_mask is not None:
        refine_mask = video_mask
    final = runner.sample(
        "refine", 1.0, 0, request.noise, join_av(full, audio_out), request.sampler, tail,
        denoise_mask=refine_mask,
        callback=progress.callback(refine), disable_pbar=request.disable_pbar, seed=request.seed,
    )  # fmt: skip
    return final, True
