"""The latents of a keyframe phase: restricting a request to its keyframes and expanding back.

Both keyframe modes of the sampler node run the keyframes as one ``guider.sample`` call on the
diffused frames (conditioning frames always among them; appended guide frames kept), with the
LTX-2 audio at full length beside them, and rebuild every frame by interpolation afterwards.
"""

from __future__ import annotations

from typing import Any

import torch

from ltx2_efficient.hosts.comfyui.latent_parts import audio_mask_of, join_av, split_av
from ltx2_efficient.hosts.comfyui.phase_runner import Request
from ltx2_efficient.sampler.keyframes import KeyframeLayout


def keyframe_inputs(layout: KeyframeLayout, request: Request, noise: Any) -> tuple[Any, Any, Any]:
    """(noise, latent, noise mask) of the keyframe phase: ``noise`` (the seed's, or the
    continuation noise of the state it starts from) and the request's latent and mask
    restricted to the diffused frames; the audio parts stay whole."""
    video, audio = split_av(request.samples)
    noise_video, noise_audio = split_av(noise)
    key_noise = join_av(layout.select(noise_video.to(video.device)), noise_audio)
    key_latent = join_av(layout.select(video), audio)
    key_mask = None
    if request.video_mask is not None or request.noise_mask is not None:
        key_video = layout.select(video)
        selected = (
            layout.select(request.video_mask)
            if request.video_mask is not None
            else torch.ones_like(key_video[:, :1])
        )
        key_mask = join_av(selected, audio_mask_of(request.noise_mask, audio) if audio is not None else None)
    return key_noise, key_latent, key_mask


def expand_keyframes(layout: KeyframeLayout, request: Request, keyframes: torch.Tensor) -> torch.Tensor:
    """Every frame interpolated from the keyframes' video; frames the noise mask keeps
    (image-to-video, guides) and the appended guide frames come back from the input latent."""
    video, _ = split_av(request.samples)
    settings = request.settings
    full = layout.expand(keyframes.to(video.device), settings.interpolation, request.upsampler).to(
        video.dtype
    )
    if request.video_mask is not None:  # reshaped to the video's shape: 1 = generated, < 1 = kept
        keep = request.video_mask.to(full.dtype)
        full = full * keep + video * (1.0 - keep)
    if layout.appended_frames:
        full[:, :, layout.full_frames :] = video[:, :, layout.full_frames :]
    return full
