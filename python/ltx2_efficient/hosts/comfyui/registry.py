"""The node classes this pack registers with ComfyUI.

Only nodes that work are listed; each entry is added together with its implementation.
"""

from __future__ import annotations

from typing import Any


def node_mappings() -> tuple[dict[str, Any], dict[str, str]]:
    """Return (NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS)."""
    classes: dict[str, Any] = {}
    names: dict[str, str] = {}
    return classes, names
