"""LTX2 Efficient Video Sampler.

The compute core is C++ (``ltx2_efficient._core``); this package adds the torch glue and the
host adapters (ComfyUI, ltx-core). Importing it needs no torch: torch-dependent parts load on
first use.
"""

from __future__ import annotations

from typing import Any

from ltx2_efficient._core import (
    InvalidArgument,
    Knobs,
    LatentShape,
    PixelShape,
    SamplingSpec,
    Unavailable,
    WindowPlan,
    WindowSpec,
    __version__,
    build_info,
    built_with_cuda,
    latent_from_pixels,
    make_keyframe_plan,
    make_plan,
    preset_names,
    resolve_preset,
)

__all__ = [
    "InvalidArgument",
    "Knobs",
    "LatentShape",
    "PixelShape",
    "SamplingSpec",
    "Unavailable",
    "WindowPlan",
    "WindowSpec",
    "__version__",
    "build_info",
    "built_with_cuda",
    "latent_from_pixels",
    "make_keyframe_plan",
    "make_plan",
    "preset_names",
    "resolve_preset",
]

# name -> module that defines it; imported on first access because they need torch.
_LAZY: dict[str, str] = {
    "EfficientSettings": "ltx2_efficient.sampler.settings",
    "RunReport": "ltx2_efficient.sampler.report",
    "StepReuse": "ltx2_efficient.sampler.reuse",
    "WindowedSelfAttention": "ltx2_efficient.sampler.attention_patch",
    "interpolate_latent": "ltx2_efficient.torch_glue.interpolation",
    "window_attention": "ltx2_efficient.torch_glue.attention",
    "apply_efficient": "ltx2_efficient.hosts.ltx_core",
    "efficient_denoise": "ltx2_efficient.hosts.ltx_core",
    "ThermalGuard": "ltx2_efficient.thermal",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ltx2_efficient' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
