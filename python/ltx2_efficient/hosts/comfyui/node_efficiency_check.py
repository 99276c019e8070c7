"""ComfyUI node "LTX2 Efficiency Check" (V3 schema): the sampler's inputs, run dense and efficient.

It takes the LTX2 Efficient Video Sampler's inputs (the same input builders), runs :func:`efficiency_check.run_check` and returns both latents, a comparison
IMAGE (dense | efficient | difference; decoded frames when a VAE is connected, the latent
preview otherwise) and the report as JSON; the node shows the report's summary.
"""

from __future__ import annotations

from typing import Any

from comfy_api.latest import io

from ltx2_efficient.hosts.comfyui import node_ids
from ltx2_efficient.hosts.comfyui.knob_inputs import knob_inputs, preset_input, settings_from_inputs
from ltx2_efficient.hosts.comfyui.node_video_sampler import SAMPLER_KNOBS, ThermalGuardType


class LTX2EfficiencyCheck(io.ComfyNode):
    """Dense and efficient runs of one request on the same seed, timed and compared."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        from ltx2_efficient.hosts.comfyui.efficiency_check import LAYOUTS

        return io.Schema(
            node_id=node_ids.EFFICIENCY_CHECK,
            display_name=node_ids.DISPLAY_NAMES[node_ids.EFFICIENCY_CHECK],
            category=node_ids.CATEGORY,
            description=(
                "Runs the request twice on the same seed: dense (preset off, exactly "
                "SamplerCustomAdvanced) and with the settings below, on one progress bar. Reports wall "
                "and model-call time, speedup, peak VRAM, PSNR/SSIM per frame (keyframes and "
                "interpolated frames apart), motion and flicker, and audio log-mel distance and RMS ratio "
                "for LTX-2 audio-video latents. Use it to trust or reject a preset on your model."
            ),
            inputs=[
                io.Noise.Input("noise", tooltip="The noise source; both runs use it (same seed)."),
                io.Guider.Input("guider", tooltip="The guider holding your LTX-Video or LTX-2 model."),
                io.Sampler.Input(
                    "sampler", tooltip="The sampling algorithm (KSamplerSelect...), for both runs."
                ),
                io.Sigmas.Input("sigmas", tooltip="The noise schedule (LTXVScheduler...), for both runs."),
                io.Latent.Input("latent_image", tooltip="The latent both runs start from."),
                preset_input(),
                *knob_inputs(SAMPLER_KNOBS),
                io.Combo.Input(
                    "comparison",
                    options=list(LAYOUTS),
                    default=LAYOUTS[0],
                    tooltip="Panels of the comparison image; the difference is |efficient - dense| x 4.",
                ),
                io.Vae.Input(
                    "vae",
                    optional=True,
                    tooltip="The video VAE: decodes both runs for pixel PSNR/SSIM and the comparison "
                    "frames (and gives the temporal upsampler its latent statistics).",
                ),
                io.Vae.Input(
                    "audio_vae",
                    optional=True,
                    tooltip="The LTX-2 audio VAE: decodes both audio tracks for log-mel distance and RMS ratio.",
                ),
                ThermalGuardType.Input(
                    "thermal_guard", optional=True, tooltip="Paces both runs alike (optional)."
                ),
                io.LatentUpscaleModel.Input(
                    "temporal_upsampler",
                    optional=True,
                    tooltip="LTX temporal latent upsampler (x2), for interpolation 'upsampler'.",
                ),
            ],
            outputs=[
                io.Latent.Output(
                    "dense", display_name="dense", tooltip="The dense reference's output latent."
                ),
                io.Latent.Output(
                    "efficient", display_name="efficient", tooltip="The efficient run's output latent."
                ),
                io.Image.Output(
                    "comparison",
                    display_name="comparison",
                    tooltip="dense | efficient | difference, per frame.",
                ),
                io.String.Output(
                    "report_json", display_name="report_json", tooltip="The full report as JSON."
                ),
            ],
            is_output_node=True,
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
        comparison: str,
        vae: Any = None,
        audio_vae: Any = None,
        thermal_guard: Any = None,
        temporal_upsampler: Any = None,
        **knobs: Any,
    ) -> io.NodeOutput:
        from ltx2_efficient.hosts.comfyui.efficiency_check import run_check
        from ltx2_efficient.hosts.comfyui.temporal_upsampler import make_upsampler

        settings = settings_from_inputs(preset, SAMPLER_KNOBS, knobs)
        if temporal_upsampler is not None and settings.interpolation != "upsampler":
            raise ValueError(
                f"temporal_upsampler is connected but interpolation is {settings.interpolation!r}: "
                "choose 'upsampler' or disconnect it"
            )
        upsampler = make_upsampler(temporal_upsampler, vae) if settings.interpolation == "upsampler" else None
        result = run_check(
            noise, guider, sampler, sigmas, latent_image, settings,
            vae=vae, audio_vae=audio_vae, thermal_guard=thermal_guard, upsampler=upsampler, layout=comparison,
        )  # fmt: skip
        return io.NodeOutput(
            result.dense.output,
            result.efficient.output,
            result.comparison,
            result.to_json(),
            ui={"text": [result.summary()]},
        )
