"""The node classes this pack registers with ComfyUI (V3 schema), by node id.

Only nodes that work are listed; each entry is added together with its implementation. The ids
and display names themselves live in ``node_ids`` (importable without the compiled core).
"""

from __future__ import annotations

from typing import Any


def node_classes() -> list[Any]:
    """The pack's io.ComfyNode classes, in the order of ``node_ids.DISPLAY_NAMES``."""
    from ltx2_efficient.hosts.comfyui.node_efficiency_check import LTX2EfficiencyCheck
    from ltx2_efficient.hosts.comfyui.node_latent_interpolate import LTX2LatentInterpolate
    from ltx2_efficient.hosts.comfyui.node_model_patch import LTX2EfficientModelPatch
    from ltx2_efficient.hosts.comfyui.node_thermal_guard import LTX2ThermalGuard, LTX2ThermalGuardModel
    from ltx2_efficient.hosts.comfyui.node_video_sampler import LTX2EfficientVideoSampler

    return [
        LTX2EfficientVideoSampler,
        LTX2EfficientModelPatch,
        LTX2LatentInterpolate,
        LTX2ThermalGuard,
        LTX2ThermalGuardModel,
        LTX2EfficiencyCheck,
    ]


def node_mappings() -> tuple[dict[str, Any], dict[str, str]]:
    """(node id -> class, node id -> display name), as ComfyUI registers a V3 extension's nodes."""
    classes: dict[str, Any] = {}
    names: dict[str, str] = {}
    for node in node_classes():
        schema = node.GET_SCHEMA()
        classes[schema.node_id] = node
        names[schema.node_id] = schema.display_name
    return classes, names
