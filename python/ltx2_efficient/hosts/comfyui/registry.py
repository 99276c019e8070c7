"""The node classes this pack registers with ComfyUI.

Only nodes that work are listed; each entry is added together with its implementation.
"""

from __future__ import annotations

from typing import Any


def node_mappings() -> tuple[dict[str, Any], dict[str, str]]:
    """Return (NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS)."""
    classes: dict[str, Any] = {}
    names: dict[str, str] = {}
    from ltx2_efficient.hosts.comfyui.node_latent_interpolate import LTX2LatentInterpolate
    from ltx2_efficient.hosts.comfyui.node_model_patch import LTX2EfficientModelPatch
    from ltx2_efficient.hosts.comfyui.node_video_sampler import LTX2EfficientVideoSampler

    for node in (LTX2EfficientVideoSampler, LTX2EfficientModelPatch, LTX2LatentInterpolate):
        classes[node.__name__] = node
        names[node.__name__] = node.DISPLAY_NAME
    from ltx2_efficient.hosts.comfyui.node_thermal_guard import LTX2ThermalGuard, LTX2ThermalGuardModel

    for node in (LTX2ThermalGuard, LTX2ThermalGuardModel):
        classes[node.__name__] = node
        names[node.__name__] = node.DISPLAY_NAME
    classes.update(_v3_nodes(names))
    return classes, names


def _v3_nodes(names: dict[str, str]) -> dict[str, Any]:
    """The nodes written on ComfyUI's V3 schema (``comfy_api``, which only ComfyUI provides)."""
    try:
        from ltx2_efficient.hosts.comfyui.node_efficiency_check import (
            DISPLAY_NAME,
            NODE_ID,
            LTX2EfficiencyCheck,
        )
    except ModuleNotFoundError as error:
        if error.name is None or not error.name.startswith("comfy_api"):
            raise
        return {}
    names[NODE_ID] = DISPLAY_NAME
    return {NODE_ID: LTX2EfficiencyCheck}
