"""The ComfyUI entry file imports without ComfyUI and declares the web directory."""

from __future__ import annotations

import pytest


@pytest.fixture
def entry(repo_script):
    """The pack's ComfyUI entry file (the repository's __init__.py), freshly imported."""
    return repo_script("__init__.py", "ltx2_efficient_pack")


def test_entry_imports_without_comfyui(entry):
    module = entry
    assert module.WEB_DIRECTORY == "./web"
    assert isinstance(module.NODE_CLASS_MAPPINGS, dict)
    assert set(module.NODE_DISPLAY_NAME_MAPPINGS) <= set(module.NODE_CLASS_MAPPINGS)
    # The package is installed here, so every node of the pack is registered with its name.
    assert {
        "LTX2EfficientVideoSampler",
        "LTX2EfficientModelPatch",
        "LTX2LatentInterpolate",
        "LTX2ThermalGuard",
        "LTX2ThermalGuardModel",
    } <= set(module.NODE_CLASS_MAPPINGS)
    assert module.NODE_DISPLAY_NAME_MAPPINGS["LTX2EfficientVideoSampler"] == "LTX2 Efficient Video Sampler"
