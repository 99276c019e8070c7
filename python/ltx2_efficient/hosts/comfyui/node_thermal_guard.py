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

from ltx2_efficient.hosts.comfyui.model_wrappers import OUTER_SAMPLE, PREDICT_NOISE
from ltx2_efficient.hosts.comfyui.node_video_sampler import CATEGORY, THERMAL_GUARD_TYPE
from ltx2_efficient.thermal import MARGIN_RANGE, MODES, ThermalGuard, target_range

_log = logging.getLogger("ltx2_efficient")

WRAPPER_KEY = "ltx2eff_thermal"


def guard_inputs() -> dict[str, Any]:
    """The inputs that define a guard (shared by both nodes)."""
    return {
        "mode": (
            list(MODES),
            {
                "default": "temperature",
                "tooltip": "What to hold: 'temperature' keeps the GPU at or below the target in degrees C; "
                "'power' keeps its average power at the target percent of the enforced power limit.",
            },
        ),
        "target": (
            "FLOAT",
            {
                "default": 75.0,
                "min": 10.0,
                "max": 100.0,
                "step": 1.0,
                "tooltip": "Degrees C in temperature mode (30-100), percent of the enforced power limit in "
                "power mode (10-100). The guard waits between steps as long as needed to hold it.",
            },
        ),
        "emergency_margin": (
            "FLOAT",
            {
                "default": 5.0,
                "min": MARGIN_RANGE[0],
                "max": MARGIN_RANGE[1],
                "step": 0.5,
                "tooltip": "Pause outright when the GPU gets within this many degrees C of its own "
                "slowdown threshold, until it has cooled by 3 degrees (in any mode).",
            },
        ),
    }


def validate_guard_inputs(mode: Any = None, target: Any = None, emergency_margin: Any = None) -> bool | str:
    """ComfyUI's VALIDATE_INPUTS for both nodes: the target's range depends on the mode, which the
    widget's own min/max cannot say, so a temperature target of 10 C is refused when the prompt is
    queued rather than when the sampler reaches it. Values not known yet (linked) are skipped."""
    # Inputs named here skip ComfyUI's own min/max and combo checks, so all of them are checked.
    if mode is not None and mode not in MODES:
        return f"mode must be one of {', '.join(MODES)}, got {mode!r}"
    for name, value in (("target", target), ("emergency_margin", emergency_margin)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            return f"{name} must be a number, got {value!r}"
    if mode is not None and target is not None:
        (low, high), unit = target_range(mode)
        if not low <= float(target) <= high:
            return f"target must be in [{low:g}, {high:g}]{unit} in {mode} mode, got {target:g}"
    if emergency_margin is not None and not MARGIN_RANGE[0] <= float(emergency_margin) <= MARGIN_RANGE[1]:
        return f"emergency_margin must be in [{MARGIN_RANGE[0]:g}, {MARGIN_RANGE[1]:g}] C, got {emergency_margin:g}"
    return True


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


class LTX2ThermalGuard:
    """The thermal guard for the LTX2 Efficient Video Sampler."""

    DISPLAY_NAME = "LTX2 Thermal Guard"
    CATEGORY = CATEGORY
    FUNCTION = "build"
    RETURN_TYPES = (THERMAL_GUARD_TYPE,)
    RETURN_NAMES = ("thermal_guard",)
    OUTPUT_TOOLTIPS = ("Connect to the thermal_guard input of the LTX2 Efficient Video Sampler.",)
    DESCRIPTION = (
        "Keeps the GPU cooler and quieter during sampling: waits between denoising steps just long enough to "
        "hold a temperature or a share of the GPU's enforced power limit (a PI-controlled duty cycle, not "
        "stop/start), and pauses outright near the GPU's slowdown threshold. Never changes clocks or power "
        "limits. Each run logs its energy (J), average and peak temperature and power, time spent pacing and "
        "the throttle reasons the GPU gave. Needs an NVIDIA driver (NVML); without one it logs why and does "
        "nothing."
    )

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:  # ComfyUI's name
        return {"required": guard_inputs()}

    @classmethod
    def VALIDATE_INPUTS(
        cls, mode: Any = None, target: Any = None, emergency_margin: Any = None
    ) -> bool | str:
        return validate_guard_inputs(mode, target, emergency_margin)

    def build(self, mode: str, target: float, emergency_margin: float) -> tuple[ThermalGuard]:
        guard = ThermalGuard(mode, target, emergency_margin)
        _log.info("LTX2 Thermal Guard: %s", guard.describe())
        return (guard,)


class LTX2ThermalGuardModel:
    """The thermal guard for any sampler node, as a model patch."""

    DISPLAY_NAME = "LTX2 Thermal Guard (Model)"
    CATEGORY = CATEGORY
    FUNCTION = "patch"
    RETURN_TYPES = ("MODEL",)
    RETURN_NAMES = ("model",)
    OUTPUT_TOOLTIPS = ("A clone of the model whose sampling is paced by the thermal guard.",)
    DESCRIPTION = (
        "The LTX2 Thermal Guard for any sampler node (KSampler, SamplerCustomAdvanced...): returns a clone of "
        "the model that waits after each model evaluation just long enough to hold a GPU temperature or a "
        "share of the enforced power limit, and pauses near the slowdown threshold. Works with any model; "
        "changes nothing that is computed. Logs one report line per sampling run."
    )

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:  # ComfyUI's name
        return {
            "required": {
                "model": ("MODEL", {"tooltip": "The model to pace (any model; the output is a clone)."}),
                **guard_inputs(),
            }
        }

    @classmethod
    def VALIDATE_INPUTS(
        cls, mode: Any = None, target: Any = None, emergency_margin: Any = None
    ) -> bool | str:
        return validate_guard_inputs(mode, target, emergency_margin)

    def patch(self, model: Any, mode: str, target: float, emergency_margin: float) -> tuple[Any]:
        guard = ThermalGuard(mode, target, emergency_margin)
        patched = model.clone()
        install_thermal_wrappers(patched, guard)
        _log.info("LTX2 Thermal Guard (Model): %s", guard.describe())
        return (patched,)
