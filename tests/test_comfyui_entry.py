"""The ComfyUI entry file imports without ComfyUI and declares the web directory."""

from __future__ import annotations

import importlib.util
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def load_entry():
    spec = importlib.util.spec_from_file_location("ltx2_efficient_pack", REPO_ROOT / "__init__.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_entry_imports_without_comfyui():
    module = load_entry()
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
