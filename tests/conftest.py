"""Shared pytest fixtures."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

# The ComfyUI nodes are V3 nodes (comfy_api.latest): a real ComfyUI's (COMFYUI_DIR) when there is
# one, else its small fake.
if os.environ.get("COMFYUI_DIR") and os.environ["COMFYUI_DIR"] not in sys.path:
    sys.path.insert(0, os.environ["COMFYUI_DIR"])
sys.path.insert(0, str(Path(__file__).resolve().parent))
import comfy_api_fake  # noqa: E402

COMFY_API_IS_FAKE = comfy_api_fake.install()


@pytest.fixture(scope="session")
def ltx2eff_cli() -> str:
    """Path of the installed C++ ``ltx2eff`` command (next to this Python, or on PATH)."""
    candidate = Path(sys.executable).parent / ("ltx2eff.exe" if os.name == "nt" else "ltx2eff")
    if candidate.exists():
        return str(candidate)
    found = shutil.which("ltx2eff")
    if found is None:
        pytest.fail("the ltx2eff command is not installed (run `pip install .`)")
    return found


def load_repo_file(relative: str, name: str) -> ModuleType:
    """Imports a script of the repository (bench/, scripts/) as module ``name``; registered in
    ``sys.modules`` first, since dataclasses resolve their module through it."""
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / relative)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def repo_script() -> Callable[[str, str], ModuleType]:
    """``repo_script("bench/e2e.py", "bench_e2e")``: a repository script as a module."""
    return load_repo_file


# Knob sets that exercise keyframe diffusion, window attention and step reuse together, for
# tests of the machinery (the presets themselves are tuned for fidelity; docs/PRESETS.md).
TECHNIQUE_SETTINGS: dict[str, dict[str, object]] = {
    "cautious": {
        "window": 4,
        "anchor_frame": True,
        "far_field": 2,
        "reuse_start": 0.5,
        "reuse_threshold": 0.03,
        "max_consecutive_reuse": 1,
    },
    "keyframes": {
        "frame_stride": 2,
        "window": 2,
        "anchor_frame": True,
        "far_field": 4,
        "reuse_start": 0.3,
        "reuse_threshold": 0.08,
        "max_consecutive_reuse": 2,
        "interpolation": "motion",
        "refine_steps": 3,
        "refine_strength": 0.35,
    },
    "aggressive": {
        "frame_stride": 4,
        "window": 1,
        "anchor_frame": True,
        "far_field": 4,
        "reuse_start": 0.2,
        "reuse_threshold": 0.15,
        "max_consecutive_reuse": 3,
        "interpolation": "motion",
        "refine_steps": 2,
        "refine_strength": 0.3,
    },
}


@pytest.fixture
def techniques():
    """``techniques(name, **overrides)``: EfficientSettings with one of TECHNIQUE_SETTINGS."""
    from ltx2_efficient.sampler.settings import EfficientSettings

    def make(name: str, **overrides: object) -> EfficientSettings:
        return EfficientSettings.from_preset("off", **{**TECHNIQUE_SETTINGS[name], **overrides})

    return make
