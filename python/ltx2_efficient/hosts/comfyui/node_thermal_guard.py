"""ComfyUI nodes "LTX2 Thermal Guard" and "LTX2 Thermal Guard (Model)".

"LTX2 Thermal Guard" makes the ``LTX2_THERMAL_GUARD`` value that the LTX2 Efficient Video Sampler
takes as an optional input: it paces the sampler's steps to hold a GPU temperature or a share of
the enforced power limit.

"LTX2 Thermal Guard (Model)" does the same for any sampler node (KSampler, SamplerCustomAdvanced,
...): MODEL -> MODEL, a clone with two ComfyUI wrappers under the key ``"ltx2eff_thermal"``:
``OUTER_SAMPLE`` opens a governed run for each sampling call and logs its report when it ends;
``PREDICT_NOISE`` paces after every model evaluation of the sampler (one per step for first-order
samplers). Neither changes what is computed; both only wait, in slices that keep ComfyUI's cancel
working. Nothing changes clocks or power limits.
"""

from __future__ import annotations

import logging
from typing import Any

from comfy_api.latest import io

from ltx2_efficient.hosts.comfyui import node_ids
from ltx2_efficient.hosts.comfyui.model_wrappers import OUTER_SAMPLE, PREDICT_NOISE
from ltx2_efficient.hosts.comfyui.node_video_sampler import ThermalGuardType
from ltx2_efficient.thermal import MARGIN_RANGE, MODES, ThermalGuard, target_range

_log = logging.getLogger("ltx2_efficient")

WRAPPER_KEY = "ltx2eff_thermal"


def _target_bounds() -> tuple[float, float]:
    """The widest target range over the modes (the widget's); each mode's own range is checked
    by ThermalGuard when the node runs, in one message."""
    ranges = [target_range(mode)[0] for mode in MODES]
    return min(low for low, _ in ranges), max(high for _, high in ranges)


def guard_inputs() -> list[Any]:
    """The inputs that define a guard (shared by both nodes)."""
    low, high = _target_bounds()
    return [
        io.Combo.Input(
            "mode",
            options=list(MODES),
            default="temperature",
            tooltip="What to hold: 'temperature' keeps the GPU at or below the target in degrees C; "
            "'power' keeps its average power at the target percent of the enforced power limit.",
        ),
        io.Float.Input(
            "target",
            default=75.0,
            min=low,
            max=high,
            step=1.0,
            tooltip="Degrees C in temperature mode (30-100), percent of the enforced power limit in "
            "power mode (10-100). The guard waits between steps as long as needed to hold it.",
        ),
        io.Float.Input(
            "emergency_margin",
            default=5.0,
            min=MARGIN_RANGE[0],
            max=MARGIN_RANGE[1],
            step=0.5,
            tooltip="Pause outright when the GPU gets within this many degrees C of its own "
            "slowdown threshold, until it has cooled by 3 degrees (in any mode).",
        ),
    ]


class ThermalWrappers:
    """The two model wrappers of "LTX2 Thermal Guard (Model)", bound to one guard."""

    def __init__(self, guard: ThermalGuard) -> None:
        self.guard = guard

    def outer_sample(self, executor: Any, *args: Any, **kwargs: Any) -> Any:
        with self.guard.for_run("sampler"):
            return executor(*args, **kwargs)

    def predict_noise(self, executor: Any, *args: Any, **kwargs: Any) -> Any:
        out = executor(*args, **kwargs)
        self.guard.between_steps()
        return out


def install_thermal_wrappers(model_patcher: Any, guard: ThermalGuard) -> ThermalWrappers:
    """Puts the guard's wrappers on ``model_patcher`` (a clone owned by the caller); an earlier
    guard on the same model is replaced, not stacked."""
    wrappers = ThermalWrappers(guard)
    for kind, fn in ((OUTER_SAMPLE, wrappers.outer_sample), (PREDICT_NOISE, wrappers.predict_noise)):
        model_patcher.remove_wrappers_with_key(kind, WRAPPER_KEY)
        model_patcher.add_wrapper_with_key(kind, WRAPPER_KEY, fn)
    return wrappers


class LTX2ThermalGuard(io.ComfyNode):
    """The thermal guard for the LTX2 Efficient Video Sampler."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id=node_ids.THERMAL_GUARD,
            display_name=node_ids.DISPLAY_NAMES[node_ids.THERMAL_GUARD],
            category=node_ids.CATEGORY,
            description=(
                "Keeps the GPU cooler and quieter during sampling: waits between denoising steps just long enough "
                "to hold a temperature or a share of the GPU's enforced power limit (a PI-controlled duty cycle, "
                "not stop/start), and pauses outright near the GPU's slowdown threshold. Never changes clocks or "
                "power limits. Each run logs its energy (J), average and peak temperature and power, time spent "
                "pacing and the throttle reasons the GPU gave. Needs an NVIDIA driver (NVML); without one it logs "
                "why and does nothing."
            ),
            inputs=guard_inputs(),
            outputs=[
                ThermalGuardType.Output(
                    "thermal_guard",
                    display_name="thermal_guard",
                    tooltip="Connect to the thermal_guard input of the LTX2 Efficient Video Sampler.",
                )
            ],
        )

    @classmethod
    def execute(cls, mode: str, target: float, emergency_margin: float) -> io.NodeOutput:
        guard = ThermalGuard(mode, target, emergency_margin)  # one ValueError for a bad combination
        _log.info("LTX2 Thermal Guard: %s", guard.describe())
        return io.NodeOutput(guard)


class LTX2ThermalGuardModel(io.ComfyNode):
    """The thermal guard for any sampler node, as a model patch."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id=node_ids.THERMAL_GUARD_MODEL,
            display_name=node_ids.DISPLAY_NAMES[node_ids.THERMAL_GUARD_MODEL],
            category=node_ids.CATEGORY,
            description=(
                "The LTX2 Thermal Guard for any sampler node (KSampler, SamplerCustomAdvanced...): returns a clone "
                "of the model that waits after each model evaluation just long enough to hold a GPU temperature or "
                "a share of the enforced power limit, and pauses near the slowdown threshold. Works with any "
                "model; changes nothing that is computed. Logs one report line per sampling run."
            ),
            inputs=[
                io.Model.Input("model", tooltip="The model to pace (any model; the output is a clone)."),
                *guard_inputs(),
            ],
            outputs=[
                io.Model.Output(
                    "model",
                    display_name="model",
                    tooltip="A clone of the model whose sampling is paced by the thermal guard.",
                )
            ],
        )

    @classmethod
    def execute(cls, model: Any, mode: str, target: float, emergency_margin: float) -> io.NodeOutput:
        guard = ThermalGuard(mode, target, emergency_margin)
        patched = model.clone()
        install_thermal_wrappers(patched, guard)
        _log.info("LTX2 Thermal Guard (Model): %s", guard.describe())
        return io.NodeOutput(patched)
