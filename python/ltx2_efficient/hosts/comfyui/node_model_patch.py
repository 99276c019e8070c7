"""ComfyUI node "LTX2 Efficient Model Patch": MODEL -> MODEL with window attention and step reuse."""

from __future__ import annotations

import logging
from typing import Any

from comfy_api.latest import io

from ltx2_efficient.hosts.comfyui import node_ids
from ltx2_efficient.hosts.comfyui.knob_inputs import knob_inputs, preset_input, settings_from_inputs

_log = logging.getLogger("ltx2_efficient")
PATCH_KNOBS = (
    "window",
    "anchor_frame",
    "far_field",
    "reuse_start",
    "reuse_threshold",
    "max_consecutive_reuse",
    "precision",
    "activation_budget_mb",
    "window_start",
    "window_end",
    "dense_first_blocks",
    "dense_last_blocks",
    "window_head_recall",
)


class LTX2EfficientModelPatch(io.ComfyNode):
    """Patches an LTX model for any sampler node (KSampler, SamplerCustomAdvanced...)."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id=node_ids.MODEL_PATCH,
            display_name=node_ids.DISPLAY_NAMES[node_ids.MODEL_PATCH],
            category=node_ids.CATEGORY,
            description=(
                "Applies temporal-window attention to the video self-attention, online step reuse and an optional "
                "activation memory budget (or, without one, lossless reuse of the text cross-attention keys and "
                "values) to an LTX-Video or LTX-2 model, through ComfyUI's attention override and model wrappers, "
                "for use with any sampler node. Frame stride needs the LTX2 Efficient Video Sampler. Each run logs "
                "what it applied and saved."
            ),
            inputs=[
                io.Model.Input(
                    "model", tooltip="An LTX-Video or LTX-2 model (other models are rejected with an error)."
                ),
                preset_input(),
                *knob_inputs(PATCH_KNOBS),
            ],
            outputs=[
                io.Model.Output(
                    "model",
                    display_name="model",
                    tooltip="A clone of the model with window attention, step reuse and the activation budget "
                    "applied.",
                )
            ],
        )

    @classmethod
    def execute(cls, model: Any, preset: str, **knobs: Any) -> io.NodeOutput:
        from ltx2_efficient.hosts.comfyui.ltx_model import inspect_model_patcher
        from ltx2_efficient.hosts.comfyui.patch import install_patch
        from ltx2_efficient.hosts.comfyui.run_report import build_report
        from ltx2_efficient.hosts.comfyui.run_state import PatchConfig, RunState

        info = inspect_model_patcher(model, "model")
        settings = settings_from_inputs(preset, PATCH_KNOBS, knobs)
        if settings.keyframes_enabled:
            settings = settings.with_overrides(frame_stride=1)
            _log.info(
                "LTX2 Efficient Model Patch: frame stride needs the LTX2 Efficient Video Sampler; patching with stride 1"
            )

        if settings.thermal_guard:
            _log.info(
                "LTX2 Efficient Model Patch: the preset asks for the thermal guard; this node does not "
                "pace (add 'LTX2 Thermal Guard (Model)' after it)"
            )

        def log_run(run: RunState) -> None:
            report = build_report(
                run.settings, info, [run], frames=run.grid[0] if run.grid else 0, steps=run.steps
            )
            _log.info("LTX2 Efficient Model Patch: %s", report.log_line())

        patched = model.clone()
        config = PatchConfig(settings=settings, model=info, on_run_end=log_run)
        install_patch(patched, patched.model_options, config)
        _log.info("LTX2 Efficient Model Patch on %s: %s", info.describe(), settings.describe())
        return io.NodeOutput(patched)
