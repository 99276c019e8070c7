"""ComfyUI entry point of the LTX2 Efficient Video Sampler node pack.

ComfyUI imports this file from ``custom_nodes/``. The nodes live in the installed
``ltx2_efficient`` package (``pip install .`` in this folder with ComfyUI's Python); when it is
missing, the pack registers nothing and logs how to install it, so ComfyUI keeps running.
"""

from __future__ import annotations

import logging
from typing import Any

WEB_DIRECTORY = "./web"
NODE_CLASS_MAPPINGS: dict[str, Any] = {}
NODE_DISPLAY_NAME_MAPPINGS: dict[str, str] = {}

_log = logging.getLogger("ltx2_efficient")

try:
    from ltx2_efficient.hosts.comfyui.registry import node_mappings
except ImportError as exc:  # the compiled package is not installed into this Python
    _log.error(
        "LTX2 Efficient Video Sampler is not installed into ComfyUI's Python (%s). "
        "Run `python -m pip install .` in this folder with the Python that runs ComfyUI.",
        exc,
    )
else:
    NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS = node_mappings()
    # The node panel's /ltx2eff/... routes, on ComfyUI's server (nothing outside ComfyUI).
    from ltx2_efficient.hosts.comfyui.routes import register_with_comfyui

    register_with_comfyui()

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS", "WEB_DIRECTORY"]
