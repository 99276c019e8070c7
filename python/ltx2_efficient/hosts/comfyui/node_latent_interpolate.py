"""ComfyUI node "LTX2 Latent Interpolate": keyframe LATENT -> full-length LATENT."""

from __future__ import annotations

from typing import Any

from ltx2_efficient.hosts.comfyui.knob_inputs import INTERPOLATIONS
from ltx2_efficient.hosts.comfyui.node_video_sampler import CATEGORY

MAX_PIXEL_FRAMES = 8193


class LTX2LatentInterpolate:
    """Rebuilds a full-length video latent from keyframes diffused at a frame stride."""

    DISPLAY_NAME = "LTX2 Latent Interpolate"
    CATEGORY = CATEGORY
    FUNCTION = "interpolate"
    RETURN_TYPES = ("LATENT",)
    RETURN_NAMES = ("latent",)
    OUTPUT_TOOLTIPS = (
        "The full-length latent: keyframes copied exactly, the frames between them interpolated; an LTX-2 audio "
        "latent passes through. A noise mask on the keyframes moves to their frames; interpolated frames get 1.",
    )
    DESCRIPTION = (
        "Expands a keyframe latent (every s-th latent frame of a clip, the last frame always included) to the "
        "full clip length by lerp, slerp, motion-compensated warping in latent space (C++ core), or an LTX "
        "temporal latent upsampler. Refine the result with a few sampling steps at low denoise."
    )

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {
            "required": {
                "samples": (
                    "LATENT",
                    {
                        "tooltip": "The keyframe latent: ceil((F-1)/s)+1 latent frames of a clip of F latent frames."
                    },
                ),
                "frames": (
                    "INT",
                    {
                        "default": 97,
                        "min": 1,
                        "max": MAX_PIXEL_FRAMES,
                        "step": 8,
                        "tooltip": "Length of the full clip in pixel frames (8n+1, as in EmptyLTXVLatentVideo).",
                    },
                ),
                "frame_stride": (
                    "INT",
                    {
                        "default": 2,
                        "min": 1,
                        "max": 16,
                        "step": 1,
                        "tooltip": "The latent-frame stride the keyframes were diffused at.",
                    },
                ),
                "interpolation": (
                    list(INTERPOLATIONS),
                    {
                        "default": "motion",
                        "tooltip": "lerp, slerp (norm-preserving), motion (motion-compensated warp) or upsampler "
                        "(the connected temporal upsampler).",
                    },
                ),
            },
            "optional": {
                "temporal_upsampler": (
                    "LATENT_UPSCALE_MODEL",
                    {"tooltip": "LTX temporal latent upsampler (x2), for interpolation 'upsampler'."},
                ),
                "vae": (
                    "VAE",
                    {"tooltip": "The video VAE whose latent statistics the temporal upsampler needs."},
                ),
            },
        }

    def interpolate(
        self,
        samples: dict[str, Any],
        frames: int,
        frame_stride: int,
        interpolation: str,
        temporal_upsampler: Any = None,
        vae: Any = None,
    ) -> tuple[dict[str, Any]]:
        import torch

        from ltx2_efficient import _core
        from ltx2_efficient.hosts.comfyui.latent_parts import join_av, split_av
        from ltx2_efficient.hosts.comfyui.temporal_upsampler import make_upsampler
        from ltx2_efficient.sampler.keyframes import KeyframeLayout

        if interpolation not in INTERPOLATIONS:
            raise ValueError(
                f"interpolation must be one of {' '.join(INTERPOLATIONS)}, got {interpolation!r}"
            )
        if isinstance(frames, bool) or not isinstance(frames, int) or not 1 <= frames <= MAX_PIXEL_FRAMES:
            raise ValueError(f"frames must be in [1, {MAX_PIXEL_FRAMES}], got {frames!r}")
        if isinstance(frame_stride, bool) or not isinstance(frame_stride, int) or not 1 <= frame_stride <= 16:
            raise ValueError(f"frame_stride must be in [1, 16], got {frame_stride!r}")
        upsampler = None
        if interpolation == "upsampler":
            upsampler = make_upsampler(temporal_upsampler, vae)
            if upsampler is None:
                raise ValueError(
                    "temporal_upsampler and vae must be connected when interpolation is 'upsampler'"
                )
        elif temporal_upsampler is not None:
            raise ValueError(
                f"temporal_upsampler is connected but interpolation is {interpolation!r}: choose 'upsampler' "
                "or disconnect it"
            )
        video, audio = split_av(samples["samples"])
        if not isinstance(video, torch.Tensor) or video.dim() != 5:
            raise ValueError("samples must be a video latent [B, C, F, H, W]")
        latent_frames = int(_core.latent_frames_for_pixel_frames(frames))
        layout = KeyframeLayout(plan=_core.make_keyframe_plan(latent_frames, frame_stride, 24.0, []))
        if video.shape[2] != layout.diffused_frames:
            raise ValueError(
                f"samples has {video.shape[2]} latent frames, but frames={frames} ({latent_frames} latent frames) "
                f"at frame_stride={frame_stride} has {layout.diffused_frames} keyframes"
            )
        full = layout.expand(video, interpolation, upsampler)
        out = samples.copy()
        out["samples"] = join_av(full, audio)
        mask = samples.get("noise_mask")
        if mask is not None:
            video_mask, audio_mask = split_av(mask)
            if (
                isinstance(video_mask, torch.Tensor)
                and video_mask.dim() == 5
                and video_mask.shape[2] == layout.diffused_frames
            ):
                shape = list(video_mask.shape)
                shape[2] = latent_frames
                expanded = torch.ones(shape, dtype=video_mask.dtype, device=video_mask.device)
                index = torch.tensor(list(layout.plan.diffused), dtype=torch.long, device=video_mask.device)
                expanded.index_copy_(2, index, video_mask)
                out["noise_mask"] = join_av(expanded, audio_mask)
            elif isinstance(video_mask, torch.Tensor) and video_mask.dim() == 5 and video_mask.shape[2] == 1:
                out["noise_mask"] = mask
            else:
                shape = (
                    tuple(video_mask.shape)
                    if isinstance(video_mask, torch.Tensor)
                    else type(video_mask).__name__
                )
                raise ValueError(
                    f"noise_mask must cover 1 or {layout.diffused_frames} latent frames [B, 1, F', H, W], got {shape}"
                )
        return (out,)
