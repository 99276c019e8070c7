"""ComfyUI node "LTX2 Efficient Model Patch": MODEL -> MODEL with window attention and step reuse."""

from __future__ import annotations

import logging
from typing import Any

from ltx2_efficient.hosts.comfyui.knob_inputs import knob_inputs, preset_input, settings_from_inputs
from ltx2_efficient.hosts.comfyui.node_video_sampler import CATEGORY

_log = logging.getLogger("ltx2_efficient")
PATCH_KNOBS = (
    "attention_window",
    "anchor_frame",
    "far_field",
    "reuse_start",
    "reuse_threshold",
    "max_consecutive_reuse",
    "precision",
    "activation_budget_mb",
)


class LTX2EfficientModelPatch:
    """Patches an LTX model for any sampler node (KSampler, SamplerCustomAdvanced...)."""

    DISPLAY_NAME = "LTX2 Efficient Model Patch"
    CATEGORY = CATEGORY
    FUNCTION = "patch"
    RETURN_TYPES = ("MODEL",)
    RETURN_NAMES = ("model",)
    OUTPUT_TOOLTIPS = (
        "A clone of the model with window attention, step reuse and the activation budget applied.",
    )
    DESCRIPTION = (
        "Applies temporal-window attention to the video self-attention, online step reuse and an optional "
        "activation memory budget (or, without one, lossless reuse of the text cross-attention keys and values) to an LTX-Video or LTX-2 model, through ComfyUI's attention override and "
        "model wrappers, for use with any sampler node. Frame stride needs the LTX2 Efficient Video Sampler. "
        "Each run logs what it applied and saved."
    )

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {
            "required": {
                "model": (
                    "MODEL",
                    {"tooltip": "An LTX-Video or LTX-2 model (other models are rejected with an error)."},
                ),
                "preset": preset_input(),
                **knob_inputs(PATCH_KNOBS),
            }
        }

    def patch(self, model: Any, preset: str, **knobs: Any) -> tuple[Any]:
        from ltx2_efficient.hosts.comfyui.ltx_model import inspect_model_patcher
        from ltx2_efficient.hosts.comfyui.patch import install_patch
        from ltx2_efficient.hosts.comfyui.run_report import build_report
        from ltx2_efficient.hosts.comfyui.run_state import PatchConfig, RunState

        info = inspect_model_patcher(model, "model")
        settings = settings_from_inputs(preset, **knobs)
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
        return (patched,)
