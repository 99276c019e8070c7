"""The ComfyUI entry file imports without ComfyUI and declares the web directory."""

from __future__ import annotations

import pytest


@pytest.fixture
def entry(repo_script):
    """The pack's ComfyUI entry file (the repository's __init__.py), freshly imported."""
    return repo_script("__init__.py", "ltx2_efficient_pack")


def test_entry_is_a_v3_extension_listing_every_node(entry):
    import asyncio

    from ltx2_efficient.hosts.comfyui import node_ids

    assert entry.WEB_DIRECTORY == "./web"
    # ComfyUI takes a module with NODE_CLASS_MAPPINGS as a V1 pack and never calls the entry point.
    assert not hasattr(entry, "NODE_CLASS_MAPPINGS")
    extension = asyncio.run(entry.comfy_entrypoint())
    asyncio.run(extension.on_load())  # outside ComfyUI: no server, the routes are not added
    nodes = asyncio.run(extension.get_node_list())
    schemas = [node.GET_SCHEMA() for node in nodes]
    assert {s.node_id: s.display_name for s in schemas} == node_ids.DISPLAY_NAMES
    assert node_ids.DISPLAY_NAMES["LTX2EfficientVideoSampler"] == "LTX2 Efficient Video Sampler"


def test_node_ids_module_needs_no_compiled_core():
    import subprocess
    import sys

    code = (
        "import sys, importlib.util, pathlib; "
        "sys.modules['ltx2_efficient._core'] = None; "  # an import of the core would fail
        "spec = importlib.util.find_spec('ltx2_efficient'); "
        "path = pathlib.Path(spec.origin).parent / 'hosts' / 'comfyui' / 'node_ids.py'; "
        "s = importlib.util.spec_from_file_location('node_ids', path); m = importlib.util.module_from_spec(s); "
        "s.loader.exec_module(m); print(len(m.DISPLAY_NAMES))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    from ltx2_efficient.hosts.comfyui.node_ids import DISPLAY_NAMES

    assert out.stdout.strip() == str(len(DISPLAY_NAMES))
