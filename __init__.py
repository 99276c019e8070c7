"""ComfyUI entry point of the LTX2 Efficient Video Sampler node pack.

ComfyUI imports this file from ``custom_nodes/`` and calls ``comfy_entrypoint`` (its V3 extension
API): the nodes live in the installed ``ltx2_efficient`` package (``pip install .`` in this
folder with ComfyUI's Python), and the extension adds the panel's routes when it loads. When the
package is missing, the pack registers nothing and logs how to install it, so ComfyUI keeps
running.
"""

from __future__ import annotations

import logging

WEB_DIRECTORY = "./web"

_log = logging.getLogger("ltx2_efficient")

try:
    from ltx2_efficient.hosts.comfyui.extension import comfy_entrypoint
except ImportError as exc:  # the compiled package is not installed into this Python
    _log.error(
        "LTX2 Efficient Video Sampler is not installed into ComfyUI's Python (%s). "
        "Run `python -m pip install .` in this folder with the Python that runs ComfyUI.",
        exc,
    )

__all__ = ["WEB_DIRECTORY", "comfy_entrypoint"]
