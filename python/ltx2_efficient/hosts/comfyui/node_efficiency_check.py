"""ComfyUI node "LTX2 Efficiency Check" (V3 schema): the sampler's inputs, run dense and efficient.

It takes the LTX2 Efficient Video Sampler's inputs (the same input builders), runs
:func:`check_runs.run_node_check` and returns both latents, a comparison IMAGE (dense | efficient
| difference; decoded frames when a VAE is connected, the latent preview otherwise), the report as
JSON and, when the ``sweep`` input names more settings, the Pareto table of all of them against
the one dense run; the node shows the report's summary. New inputs go after the existing ones:
saved workflows store widget values by position.
"""

from __future__ import annotations

from typing import Any

from comfy_api.latest import io

from ltx2_efficient.hosts.comfyui import node_ids
from ltx2_efficient.hosts.comfyui.knob_inputs import knob_inputs, preset_input, settings_from_inputs
from ltx2_efficient.hosts.comfyui.node_video_sampler import SAMPLER_KNOBS, ThermalGuardType

DEFAULT_TIME_BUDGET_S = 600.0
MAX_TIME_BUDGET_S = 7 * 24 * 3600.0


class LTX2EfficiencyCheck(io.ComfyNode):
    """Dense and efficient runs of one request on the same seed, timed and compared."""

    @classmethod
    def define_schema(cls) -> io.Schema:
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
            # The order is part of saved workflows (widget values are stored by position).
            inputs=[*_request_inputs(), *_settings_inputs(), *_optional_model_inputs(), *_sweep_inputs()],
            outputs=_outputs(),
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
        sweep: str = "",
        time_budget_s: float = DEFAULT_TIME_BUDGET_S,
        **knobs: Any,
    ) -> io.NodeOutput:
        from ltx2_efficient.eval.check_cli import parse_candidates
        from ltx2_efficient.eval.check_report import positive_seconds
        from ltx2_efficient.hosts.comfyui.check_runs import run_node_check
        from ltx2_efficient.hosts.comfyui.temporal_upsampler import make_upsampler

        settings = settings_from_inputs(preset, SAMPLER_KNOBS, knobs)
        if not isinstance(sweep, str):
            raise ValueError(f"sweep must be text (comma-separated settings), got {type(sweep).__name__}")
        candidates = parse_candidates(sweep, base=settings, what="sweep") if sweep.strip() else {}
        budget = positive_seconds("time_budget_s", time_budget_s)
        if budget > MAX_TIME_BUDGET_S:
            raise ValueError(f"time_budget_s must be at most {MAX_TIME_BUDGET_S:g} seconds, got {budget:g}")
        wants_upsampler = [s.interpolation == "upsampler" for s in (settings, *candidates.values())]
        if temporal_upsampler is not None and not any(wants_upsampler):
            raise ValueError(
                f"temporal_upsampler is connected but interpolation is {settings.interpolation!r}: "
                "choose 'upsampler' or disconnect it"
            )
        upsampler = make_upsampler(temporal_upsampler, vae) if any(wants_upsampler) else None
        check = run_node_check(
            noise, guider, sampler, sigmas, latent_image, settings,
            sweep=candidates, time_budget_s=budget, vae=vae, audio_vae=audio_vae,
            thermal_guard=thermal_guard, upsampler=upsampler, layout=comparison,
        )  # fmt: skip
        result = check.result
        text = result.summary() + (f"\n\n{check.table}" if check.table else "")
        return io.NodeOutput(
            result.dense.output,
            result.efficient.output,
            result.comparison,
            result.to_json(),
            check.table,
            ui={"text": [text]},
        )


def _request_inputs() -> list[Any]:
    """What both runs sample with: noise, guider, sampler, sigmas and the starting latent."""
    return [
        io.Noise.Input("noise", tooltip="The noise source; both runs use it (same seed)."),
        io.Guider.Input("guider", tooltip="The guider holding your LTX-Video or LTX-2 model."),
        io.Sampler.Input("sampler", tooltip="The sampling algorithm (KSamplerSelect...), for both runs."),
        io.Sigmas.Input("sigmas", tooltip="The noise schedule (LTXVScheduler...), for both runs."),
        io.Latent.Input("latent_image", tooltip="The latent both runs start from."),
    ]


def _settings_inputs() -> list[Any]:
    """The efficient run's preset and knobs (the sampler node's), then the comparison layout."""
    from ltx2_efficient.eval.check_report import LAYOUTS

    return [
        preset_input(),
        *knob_inputs(SAMPLER_KNOBS),
        io.Combo.Input(
            "comparison",
            options=list(LAYOUTS),
            default=LAYOUTS[0],
            tooltip="Panels of the comparison image; the difference is |efficient - dense| x 4.",
        ),
    ]


def _optional_model_inputs() -> list[Any]:
    """Optional models and guards: the video and audio VAEs, the thermal guard, the upsampler."""
    return [
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
        ThermalGuardType.Input("thermal_guard", optional=True, tooltip="Paces both runs alike (optional)."),
        io.LatentUpscaleModel.Input(
            "temporal_upsampler",
            optional=True,
            tooltip="LTX temporal latent upsampler (x2), for interpolation 'upsampler'.",
        ),
    ]


def _sweep_inputs() -> list[Any]:
    """The settings to sweep against the same dense run, and the time the whole check may take."""
    return [
        # A text widget, empty unless set (no default: ComfyUI's STRING widget starts empty).
        io.String.Input(
            "sweep",
            optional=True,
            tooltip="More settings to check against the same dense run, comma-separated: a preset "
            "name, optionally followed by knob=value settings, or knob=value settings alone "
            "(applied to this node's settings). Example: 'quality, fast, balanced frame_stride=3'. "
            "The pareto_table output then ranks them all. Empty: no sweep.",
        ),
        io.Float.Input(
            "time_budget_s",
            optional=True,
            default=DEFAULT_TIME_BUDGET_S,
            min=1.0,
            max=MAX_TIME_BUDGET_S,
            step=10.0,
            tooltip="Seconds the whole check may take with a sweep (warm-up and dense run "
            "included). The dense run and this node's settings always run; a sweep entry "
            "predicted not to fit (from the dense run's time and its predicted work) is "
            "skipped and listed in the report.",
        ),
    ]


def _outputs() -> list[Any]:
    """Both latents, the comparison image, the report as JSON and the sweep's Pareto table."""
    return [
        io.Latent.Output("dense", display_name="dense", tooltip="The dense reference's output latent."),
        io.Latent.Output("efficient", display_name="efficient", tooltip="The efficient run's output latent."),
        io.Image.Output(
            "comparison",
            display_name="comparison",
            tooltip="dense | efficient | difference, per frame.",
        ),
        io.String.Output("report_json", display_name="report_json", tooltip="The full report as JSON."),
        io.String.Output(
            "pareto_table",
            display_name="pareto_table",
            tooltip="With a sweep: the Pareto table of every setting checked (the table "
            "'ltx2eff eval' writes). Empty without a sweep.",
        ),
    ]
