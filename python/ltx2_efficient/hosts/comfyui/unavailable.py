"""Placeholder nodes for a pack whose compiled package cannot be imported.

When ``ltx2_efficient`` (or its compiled core) is missing from ComfyUI's Python, the pack still
registers every node under its own id, with the inputs and outputs the real node has (from
``node_manifest.json`` beside this file), so saved workflows load with their links and widget
values intact. Running one raises a single error that says what to install; the panel's routes
answer 503 with the same message. Nothing else in ComfyUI is touched.

This module imports only the standard library: the pack's ``__init__.py`` loads it by file path,
because the package it belongs to is exactly what could not be imported.

``python -m ltx2_efficient.hosts.comfyui.unavailable --write python/ltx2_efficient/hosts/comfyui/
node_manifest.json`` regenerates the manifest from the real node classes (in the checkout; the
tests fail when it is stale).
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

MANIFEST = Path(__file__).with_name("node_manifest.json")
ROUTE_PREFIXES = ("/ltx2eff", "/api/ltx2eff")

_log = logging.getLogger("ltx2_efficient")


def unavailable_message(reason: str, install_command: str) -> str:
    """The one error a user sees: what is missing, why, and the command that installs it."""
    return (
        "LTX2 Efficient Video Sampler cannot run: its compiled package (ltx2-efficient) is not "
        f"importable in ComfyUI's Python ({reason}). Install it by running {install_command} "
        "(ComfyUI-Manager's 'Try fix' on this pack runs the same), then restart ComfyUI."
    )


def load_manifest(path: Path = MANIFEST) -> list[dict[str, Any]]:
    """The real nodes' definitions, in ComfyUI's /object_info form, in registration order."""
    return json.loads(path.read_text(encoding="utf-8"))["nodes"]


def _all_inputs_optional(inputs: dict[str, Any]) -> dict[str, Any]:
    """Every input of the real node, optional: the prompt validates without its links, and the
    node still raises the install message rather than a "required input missing" one."""
    merged: dict[str, Any] = {}
    for section in ("required", "optional"):
        for name, spec in inputs.get(section, {}).items():
            merged[name] = tuple(spec) if isinstance(spec, list) else spec
    return {"required": {}, "optional": merged}


def make_placeholder(info: dict[str, Any], message: str) -> type:
    """A V1 node class with the real node's id, inputs and outputs that raises `message`."""
    inputs = _all_inputs_optional(info.get("input", {}))

    def input_types(cls: type) -> dict[str, Any]:
        return inputs

    def run(self: object, **_inputs: Any) -> tuple[Any, ...]:
        raise RuntimeError(message)

    attributes: dict[str, Any] = {
        "INPUT_TYPES": classmethod(input_types),
        "RETURN_TYPES": tuple(info.get("output", ())),
        "RETURN_NAMES": tuple(info.get("output_name", ())),
        "OUTPUT_NODE": bool(info.get("output_node", False)),
        "FUNCTION": "unavailable",
        "CATEGORY": info.get("category", ""),
        "DESCRIPTION": f"Not installed: {message}",
        "unavailable": run,
        "LTX2EFF_PLACEHOLDER": True,
    }
    if info.get("output_is_list"):
        attributes["OUTPUT_IS_LIST"] = tuple(info["output_is_list"])
    return type(info["name"], (), attributes)


def placeholder_mappings(message: str, manifest: Path = MANIFEST) -> tuple[dict[str, type], dict[str, str]]:
    """(NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS) of placeholders for every node."""
    classes: dict[str, type] = {}
    names: dict[str, str] = {}
    for info in load_manifest(manifest):
        classes[info["name"]] = make_placeholder(info, message)
        names[info["name"]] = info.get("display_name") or info["name"]
    return classes, names


def register_error_routes(message: str) -> bool:
    """Answer the panel's routes with 503 and `message` (the panel shows it); False outside
    ComfyUI. ComfyUI imports its `server` module before loading packs; never import it here."""
    server = sys.modules.get("server")
    routes = getattr(getattr(getattr(server, "PromptServer", None), "instance", None), "routes", None)
    if routes is None:
        return False
    try:
        from aiohttp import web

        async def answer(_request: Any) -> Any:
            return web.json_response({"error": message}, status=503)

        for prefix in ROUTE_PREFIXES:
            routes.route("*", prefix + "/{tail:.*}")(answer)
    except Exception as exc:  # never let the fallback itself break ComfyUI
        _log.error("ltx2eff: could not add the fallback routes: %s", exc)
        return False
    return True


def pack_fallback(pack_dir: Path, error: BaseException) -> tuple[dict[str, type], dict[str, str]]:
    """What the pack's __init__.py registers when the package cannot be imported: placeholders
    for every node and the panel's routes answering the install message, logged once."""
    install = f'"{sys.executable}" "{Path(pack_dir) / "install.py"}"'
    message = unavailable_message(f"{type(error).__name__}: {error}", install)
    _log.error("%s", message)
    register_error_routes(message)
    return placeholder_mappings(message)


def node_info(cls: type) -> dict[str, Any]:
    """One node class's definition as ComfyUI's /object_info gives it (V3 or V1 classes)."""
    if hasattr(cls, "GET_NODE_INFO_V1"):
        info = dict(cls.GET_NODE_INFO_V1())
    else:
        info = {
            "input": cls.INPUT_TYPES(),
            "output": list(cls.RETURN_TYPES),
            "output_name": list(getattr(cls, "RETURN_NAMES", cls.RETURN_TYPES)),
            "output_is_list": list(getattr(cls, "OUTPUT_IS_LIST", [False] * len(cls.RETURN_TYPES))),
            "name": cls.__name__,
            "display_name": getattr(cls, "DISPLAY_NAME", cls.__name__),
            "category": getattr(cls, "CATEGORY", ""),
            "output_node": bool(getattr(cls, "OUTPUT_NODE", False)),
        }
    keep = (
        "input",
        "input_order",
        "output",
        "output_name",
        "output_is_list",
        "name",
        "display_name",
        "category",
        "output_node",
    )
    return json.loads(json.dumps({key: info[key] for key in keep if key in info}))


def manifest_text(classes: list[type]) -> str:
    """The manifest file's text for these node classes."""
    # Key order is kept: the frontend maps saved widget values to inputs by their order.
    return json.dumps({"nodes": [node_info(cls) for cls in classes]}, indent=1) + "\n"


def current_node_classes() -> list[type]:
    """The real node classes, in registration order (needs the installed package)."""
    from ltx2_efficient.hosts.comfyui import registry

    if hasattr(registry, "node_classes"):
        return list(registry.node_classes())
    classes, _names = registry.node_mappings()
    return list(classes.values())


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("--write", "--check"):
        print(
            "usage: python -m ltx2_efficient.hosts.comfyui.unavailable --write|--check MANIFEST",
            file=sys.stderr,
        )
        return 2
    path = Path(argv[1])
    text = manifest_text(current_node_classes())
    if argv[0] == "--write":
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
        return 0
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        print(f"{path} is stale: rerun with --write")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
