"""The pack's node ids, display names and category: what ComfyUI and saved workflows know the nodes
by. Imports nothing else of the pack (no compiled core), so a pack that cannot load its nodes can
still register placeholders under the same ids."""

from __future__ import annotations

CATEGORY = "LTX2 Efficient"
THERMAL_GUARD_TYPE = "LTX2_THERMAL_GUARD"

SAMPLER = "LTX2EfficientVideoSampler"
MODEL_PATCH = "LTX2EfficientModelPatch"
LATENT_INTERPOLATE = "LTX2LatentInterpolate"
THERMAL_GUARD = "LTX2ThermalGuard"
THERMAL_GUARD_MODEL = "LTX2ThermalGuardModel"
EFFICIENCY_CHECK = "LTX2EfficiencyCheck"

DISPLAY_NAMES: dict[str, str] = {
    SAMPLER: "LTX2 Efficient Video Sampler",
    MODEL_PATCH: "LTX2 Efficient Model Patch",
    LATENT_INTERPOLATE: "LTX2 Latent Interpolate",
    THERMAL_GUARD: "LTX2 Thermal Guard",
    THERMAL_GUARD_MODEL: "LTX2 Thermal Guard (Model)",
    EFFICIENCY_CHECK: "LTX2 Efficiency Check",
}
"""Node id -> display name, in the order the pack lists its nodes."""
