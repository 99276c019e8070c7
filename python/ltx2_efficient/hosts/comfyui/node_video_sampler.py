"""ComfyUI node "LTX2 Efficient Video Sampler": a drop-in for SamplerCustomAdvanced."""

from __future__ import annotations

from typing import Any

from ltx2_efficient.hosts.comfyui.knob_inputs import knob_inputs, preset_input, settings_from_inputs

CATEGORY = "LTX2 Efficient"
THERMAL_GUARD_TYPE = "LTX2_THERMAL_GUARD"
SAMPLER_KNOBS = (
    "frame_stride",
    "attention_window",
    "anchor_frame",
    "far_field",
    "reuse_start",
    "reuse_threshold",
    "max_consecutive_reuse",
    "precision",
    "interpolation",
    "refine_steps",
    "refine_strength",
    "activation_budget_mb",
)


class LTX2EfficientVideoSampler:
    """SamplerCustomAdvanced with keyframe diffusion, window attention and step reuse."""

    DISPLAY_NAME = "LTX2 Efficient Video Sampler"
    CATEGORY = CATEGORY
    FUNCTION = "sample"
    RETURN_TYPES = ("LATENT", "LATENT")
    RETURN_NAMES = ("output", "denoised_output")
    OUTPUT_TOOLTIPS = (
        "The sampled latent, like SamplerCustomAdvanced's output.",
        "The model's denoised prediction at the last step, like SamplerCustomAdvanced's denoised_output.",
    )
    DESCRIPTION = (
        "Samples an LTX-Video or LTX-2 latent like SamplerCustomAdvanced (same inputs and outputs), "
        "cheaper: diffuses every s-th latent frame at frame_rate/s, interpolates and refines the rest; "
        "windows the video self-attention in time; reuses the model output in late steps that barely "
        "change. With the 'off' preset it is SamplerCustomAdvanced. Logs what it applied and saved."
    )

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {
            "required": {
                "noise": (
                    "NOISE",
                    {
                        "tooltip": "The noise source (RandomNoise or DisableNoise), as for SamplerCustomAdvanced."
                    },
                ),
                "guider": (
                    "GUIDER",
                    {
                        "tooltip": "The guider (CFGGuider, BasicGuider...) holding an LTX-Video or LTX-2 model and its conditioning."
                    },
                ),
                "sampler": ("SAMPLER", {"tooltip": "The sampling algorithm (KSamplerSelect...)."}),
                "sigmas": (
                    "SIGMAS",
                    {
                        "tooltip": "The noise schedule (LTXVScheduler, BasicScheduler...). Keyframe refinement runs its tail."
                    },
                ),
                "latent_image": (
                    "LATENT",
                    {
                        "tooltip": "The video latent (EmptyLTXVLatentVideo, LTXVImgToVideo, or an LTX-2 audio-video latent). Its noise mask is kept."
                    },
                ),
                "preset": preset_input(),
                **knob_inputs(SAMPLER_KNOBS),
            },
            "optional": {
                "thermal_guard": (
                    THERMAL_GUARD_TYPE,
                    {
                        "tooltip": "Optional thermal guard that paces steps to hold a GPU temperature or power target."
                    },
                ),
                "temporal_upsampler": (
                    "LATENT_UPSCALE_MODEL",
                    {
                        "tooltip": "LTX temporal latent upsampler (x2), used when interpolation is 'upsampler'."
                    },
                ),
                "vae": (
                    "VAE",
                    {
                        "tooltip": "The video VAE whose latent statistics the temporal upsampler needs (interpolation 'upsampler')."
                    },
                ),
            },
        }

    def sample(
        self,
        noise: Any,
        guider: Any,
        sampler: Any,
        sigmas: Any,
        latent_image: dict[str, Any],
        preset: str,
        thermal_guard: Any = None,
        temporal_upsampler: Any = None,
        vae: Any = None,
        **knobs: Any,
    ) -> dict[str, Any]:
        from ltx2_efficient.hosts.comfyui.efficient_sampling import sample_efficient
        from ltx2_efficient.hosts.comfyui.temporal_upsampler import make_upsampler

        settings = settings_from_inputs(preset, **knobs)
        if temporal_upsampler is not None and settings.interpolation != "upsampler":
            raise ValueError(
                f"temporal_upsampler is connected but interpolation is {settings.interpolation!r}: "
                "choose 'upsampler' or disconnect it"
            )
        upsampler = make_upsampler(temporal_upsampler, vae) if settings.interpolation == "upsampler" else None
        result = sample_efficient(
            noise,
            guider,
            sampler,
            sigmas,
            latent_image,
            settings,
            thermal_guard=thermal_guard,
            upsampler=upsampler,
        )
        return {"ui": {"text": [result.report.log_line()]}, "result": (result.output, result.denoised)}
