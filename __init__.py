"""ComfyUI entry point of the LTX2 Efficient Video Sampler node pack.

ComfyUI imports this file from ``custom_nodes/`` and calls ``comfy_entrypoint`` (its V3 extension
API): the nodes live in the installed ``ltx2_efficient`` package (``install.py`` in this folder
puts it into ComfyUI's Python), and the extension adds the panel's routes when it loads. When the
package is missing, the pack registers placeholders under the same node ids that raise what to
install (hosts/comfyui/unavailable.py), so workflows still load and ComfyUI keeps running.
"""

from __future__ import annotations

from typing import Any

WEB_DIRECTORY = "./web"


def _placeholders(error: ImportError) -> tuple[dict[str, Any], dict[str, str]]:
    """The nodes under their own ids, each raising what to install (loaded by file path: the
    package it lives in is what failed to import)."""
    import importlib.util
    from pathlib import Path

    pack = Path(__file__).resolve().parent
    path = pack / "python" / "ltx2_efficient" / "hosts" / "comfyui" / "unavailable.py"
    spec = importlib.util.spec_from_file_location("ltx2_efficient_pack_unavailable", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module.pack_fallback(pack, error)


try:
    from ltx2_efficient.hosts.comfyui.extension import comfy_entrypoint
except ImportError as exc:  # the compiled package is not installed into this Python
    NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS = _placeholders(exc)
    __all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS", "WEB_DIRECTORY"]
else:
    __all__ = ["WEB_DIRECTORY", "comfy_entrypoint"]
