"""ComfyUI node "LTX2 Efficient Video Sampler": a drop-in for SamplerCustomAdvanced."""

from __future__ import annotations

from typing import Any

from comfy_api.latest import io

from ltx2_efficient.hosts.comfyui import node_ids
from ltx2_efficient.hosts.comfyui.knob_inputs import ROWS, knob_inputs, preset_input, settings_from_inputs

ThermalGuardType = io.Custom(node_ids.THERMAL_GUARD_TYPE)
# The sampler takes every knob of the table; the thermal guard is its optional connection.
SAMPLER_KNOBS: tuple[str, ...] = tuple(name for name in ROWS if name != "thermal_guard")


class LTX2EfficientVideoSampler(io.ComfyNode):
    """SamplerCustomAdvanced with keyframe diffusion, window attention and step reuse."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id=node_ids.SAMPLER,
            display_name=node_ids.DISPLAY_NAMES[node_ids.SAMPLER],
            category=node_ids.CATEGORY,
            description=(
                "Samples an LTX-Video or LTX-2 latent like SamplerCustomAdvanced (same inputs and outputs), "
                "cheaper: diffuses every s-th latent frame at frame_rate/s, interpolates and refines the rest; "
                "windows the video self-attention in time; reuses the model output in late steps that barely "
                "change. With the 'off' preset it is SamplerCustomAdvanced. Logs what it applied and saved."
            ),
            inputs=[
                io.Noise.Input(
                    "noise",
                    tooltip="The noise source (RandomNoise or DisableNoise), as for SamplerCustomAdvanced.",
                ),
                io.Guider.Input(
                    "guider",
                    tooltip="The guider (CFGGuider, BasicGuider...) holding an LTX-Video or LTX-2 model and its "
                    "conditioning.",
                ),
                io.Sampler.Input("sampler", tooltip="The sampling algorithm (KSamplerSelect...)."),
                io.Sigmas.Input(
                    "sigmas",
                    tooltip="The noise schedule (LTXVScheduler, BasicScheduler...). Keyframe refinement runs its tail.",
                ),
                io.Latent.Input(
                    "latent_image",
                    tooltip="The video latent (EmptyLTXVLatentVideo, LTXVImgToVideo, or an LTX-2 audio-video "
                    "latent). Its noise mask is kept.",
                ),
                preset_input(),
                *knob_inputs(SAMPLER_KNOBS),
                ThermalGuardType.Input(
                    "thermal_guard",
                    optional=True,
                    tooltip="Optional thermal guard that paces steps to hold a GPU temperature or power target.",
                ),
                io.LatentUpscaleModel.Input(
                    "temporal_upsampler",
                    optional=True,
                    tooltip="LTX temporal latent upsampler (x2), used when interpolation is 'upsampler'.",
                ),
                io.Vae.Input(
                    "vae",
                    optional=True,
                    tooltip="The video VAE whose latent statistics the temporal upsampler needs (interpolation "
                    "'upsampler').",
                ),
            ],
            outputs=[
                io.Latent.Output(
                    "output",
                    display_name="output",
                    tooltip="The sampled latent, like SamplerCustomAdvanced's output.",
                ),
                io.Latent.Output(
                    "denoised_output",
                    display_name="denoised_output",
                    tooltip="The model's denoised prediction at the last step, like SamplerCustomAdvanced's "
                    "denoised_output.",
                ),
            ],
        )

    @classmethod
    def execute(
        cls,
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
    ) -> io.NodeOutput:
        from ltx2_efficient.hosts.comfyui.efficient_sampling import sample_efficient
        from ltx2_efficient.hosts.comfyui.temporal_upsampler import make_upsampler

        settings = settings_from_inputs(preset, SAMPLER_KNOBS, knobs)
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
        return io.NodeOutput(result.output, result.denoised, ui={"text": [result.report.log_line()]})
