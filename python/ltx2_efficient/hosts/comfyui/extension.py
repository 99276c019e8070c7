"""The pack as a ComfyUI V3 extension: its nodes, and the panel's routes added when it loads."""

from __future__ import annotations

from typing import Any

from comfy_api.latest import ComfyExtension


class LTX2EfficientExtension(ComfyExtension):
    async def on_load(self) -> None:
        # The node panel's /ltx2eff/... routes, on ComfyUI's server (nothing outside ComfyUI).
        from ltx2_efficient.hosts.comfyui.routes import register_with_comfyui

        register_with_comfyui()

    async def get_node_list(self) -> list[Any]:
        from ltx2_efficient.hosts.comfyui.registry import node_classes

        return node_classes()


async def comfy_entrypoint() -> LTX2EfficientExtension:
    """What ComfyUI calls to load the pack (the V3 extension entry point)."""
    return LTX2EfficientExtension()
