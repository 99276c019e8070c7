"""ComfyUI node "LTX2 Latent Interpolate": keyframe LATENT -> full-length LATENT."""

from __future__ import annotations

from typing import Any

from comfy_api.latest import io

from ltx2_efficient import _core
from ltx2_efficient.hosts.comfyui import node_ids
from ltx2_efficient.hosts.comfyui.knob_inputs import ROWS

_STRIDE = ROWS["frame_stride"]
_INTERPOLATION = ROWS["interpolation"]


class LTX2LatentInterpolate(io.ComfyNode):
    """Rebuilds a full-length video latent from keyframes diffused at a frame stride."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id=node_ids.LATENT_INTERPOLATE,
            display_name=node_ids.DISPLAY_NAMES[node_ids.LATENT_INTERPOLATE],
            category=node_ids.CATEGORY,
            description=(
                "Expands a keyframe latent (every s-th latent frame of a clip, the last frame always included) to "
                "the full clip length by lerp, slerp, motion-compensated warping in latent space (C++ core), or an "
                "LTX temporal latent upsampler. Refine the result with a few sampling steps at low denoise."
            ),
            inputs=[
                io.Latent.Input(
                    "samples",
                    tooltip="The keyframe latent: ceil((F-1)/s)+1 latent frames of a clip of F latent frames.",
                ),
                io.Int.Input(
                    "frames",
                    default=97,
                    min=1,
                    max=int(_core.MAX_PIXEL_FRAMES),
                    step=_core.TEMPORAL_FACTOR,
                    tooltip="Length of the full clip in pixel frames (8n+1, as in EmptyLTXVLatentVideo).",
                ),
                io.Int.Input(
                    "frame_stride",
                    default=2,
                    min=_STRIDE["min"],
                    max=_STRIDE["max"],
                    step=1,
                    tooltip="The latent-frame stride the keyframes were diffused at.",
                ),
                io.Combo.Input(
                    "interpolation",
                    options=list(_INTERPOLATION["choices"]),
                    default="motion",
                    tooltip=_INTERPOLATION["help"],
                ),
                io.LatentUpscaleModel.Input(
                    "temporal_upsampler",
                    optional=True,
                    tooltip="LTX temporal latent upsampler (x2), for interpolation 'upsampler'.",
                ),
                io.Vae.Input(
                    "vae",
                    optional=True,
                    tooltip="The video VAE whose latent statistics the temporal upsampler needs.",
                ),
            ],
            outputs=[
                io.Latent.Output(
                    "latent",
                    display_name="latent",
                    tooltip="The full-length latent: keyframes copied exactly, the frames between them interpolated; "
                    "an LTX-2 audio latent passes through. A noise mask on the keyframes moves to their frames; "
                    "interpolated frames get 1.",
                )
            ],
        )

    @classmethod
    def execute(
        cls,
        samples: dict[str, Any],
        frames: int,
        frame_stride: int,
        interpolation: str,
        temporal_upsampler: Any = None,
        vae: Any = None,
    ) -> io.NodeOutput:
        import torch

        from ltx2_efficient.hosts.comfyui.latent_parts import join_av, split_av
        from ltx2_efficient.hosts.comfyui.temporal_upsampler import make_upsampler
        from ltx2_efficient.sampler.keyframes import KeyframeLayout

        _core.check_knob("interpolation", interpolation)
        _core.check_knob("frame_stride", frame_stride)
        if (
            isinstance(frames, bool)
            or not isinstance(frames, int)
            or not 1 <= frames <= _core.MAX_PIXEL_FRAMES
        ):
            raise ValueError(
                f"frames must be an integer in [1, {_core.MAX_PIXEL_FRAMES}], got {str(frames)[:80]}"
            )
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
        return io.NodeOutput(out)
