"""The knob inputs the nodes share, and turning their widget values into EfficientSettings.

Every knob defaults to a "take the preset's value" sentinel, so a node set to a preset behaves
exactly like the preset until the user changes a knob: ``-1`` for numbers (``-2`` for
``attention_window``, whose ``-1`` means dense attention, as in the C++ core), ``"preset"`` for
choices. ``PRESET_SENTINELS`` lists them for the frontend panel.
"""

from __future__ import annotations

from typing import Any

from ltx2_efficient import _core
from ltx2_efficient.sampler.settings import KNOB_ROWS, EfficientSettings

_MAX = {row["name"]: row["max"] for row in KNOB_ROWS}

PRESET = "preset"
DEFAULT_PRESET = "balanced"
PRECISIONS = ("auto", "bf16", "fp16", "fp32", "fp8-far-field")
INTERPOLATIONS = ("lerp", "slerp", "motion", "upsampler")

# node input name -> EfficientSettings field
SETTING_NAMES: dict[str, str] = {
    "frame_stride": "frame_stride",
    "attention_window": "window",
    "anchor_frame": "anchor_frame",
    "far_field": "far_field",
    "reuse_start": "reuse_start",
    "reuse_threshold": "reuse_threshold",
    "max_consecutive_reuse": "max_consecutive_reuse",
    "precision": "precision",
    "interpolation": "interpolation",
    "refine_steps": "refine_steps",
    "refine_strength": "refine_strength",
    "activation_budget_mb": "activation_budget_mb",
}

PRESET_SENTINELS: dict[str, Any] = {
    "frame_stride": -1,
    "attention_window": -2,
    "anchor_frame": PRESET,
    "far_field": -1,
    "reuse_start": -1.0,
    "reuse_threshold": -1.0,
    "max_consecutive_reuse": -1,
    "precision": PRESET,
    "interpolation": PRESET,
    "refine_steps": -1,
    "refine_strength": -1.0,
    "activation_budget_mb": -1,
}


def preset_input() -> tuple[list[str], dict[str, Any]]:
    names = list(_core.preset_names())
    lines = "; ".join(f"{n}: {_core.describe_preset(n)}" for n in names)
    return (
        names,
        {
            "default": DEFAULT_PRESET,
            "tooltip": f"Named set of knob values; every knob left at its 'preset' value takes it from here. {lines}.",
        },
    )


def knob_inputs(names: tuple[str, ...]) -> dict[str, tuple[Any, ...]]:
    """ComfyUI input definitions of the knobs ``names`` (in that order)."""
    all_inputs: dict[str, tuple[Any, ...]] = {
        "frame_stride": (
            "INT",
            {
                "default": -1,
                "min": -1,
                "max": _MAX["frame_stride"],
                "step": 1,
                "tooltip": "Keyframe diffusion: diffuse every s-th latent frame (8 pixel frames each) at "
                "frame_rate/s, interpolate the rest, then refine. 1 = every frame (plain sampling). "
                "-1 = the preset's value.",
            },
        ),
        "attention_window": (
            "INT",
            {
                "default": -2,
                "min": -2,
                "max": 256,
                "step": 1,
                "tooltip": "Temporal attention window K: video tokens attend to latent frames within +-K "
                "(plus the anchor frame and keyframe guides). -1 = dense attention, -2 = the preset's value.",
            },
        ),
        "anchor_frame": (
            [PRESET, "on", "off"],
            {
                "default": PRESET,
                "tooltip": "Keep latent frame 0 visible to every frame in windowed attention.",
            },
        ),
        "far_field": (
            "INT",
            {
                "default": -1,
                "min": -1,
                "max": 16,
                "step": 1,
                "tooltip": "Frames outside the window are seen through keys/values pooled p x p "
                "(low-rank far field). 0 = off, -1 = the preset's value.",
            },
        ),
        "reuse_start": (
            "FLOAT",
            {
                "default": -1.0,
                "min": -1.0,
                "max": 1.0,
                "step": 0.01,
                "tooltip": "Share of steps always computed before step reuse may start (the original "
                "pack's freeze_ratio; at least 15%). 1 = reuse off, -1 = the preset's value.",
            },
        ),
        "reuse_threshold": (
            "FLOAT",
            {
                "default": -1.0,
                "min": -1.0,
                "max": 10.0,
                "step": 0.01,
                "tooltip": "Accumulated predicted relative change of the model output allowed before a "
                "step is computed again; higher reuses more. 0 = reuse off, -1 = the preset's value.",
            },
        ),
        "max_consecutive_reuse": (
            "INT",
            {
                "default": -1,
                "min": -1,
                "max": _MAX["max_consecutive_reuse"],
                "step": 1,
                "tooltip": "Most steps reused in a row. 0 = reuse off, -1 = the preset's value.",
            },
        ),
        "precision": (
            [PRESET, *PRECISIONS],
            {
                "default": PRESET,
                "tooltip": "Precision of the windowed attention kernels (auto = the model's dtype); dense attention "
                "(window off) keeps the host's own precision.",
            },
        ),
        "interpolation": (
            [PRESET, *INTERPOLATIONS],
            {
                "default": PRESET,
                "tooltip": "How the frames between keyframes are rebuilt: lerp, slerp, motion "
                "(motion-compensated warp in latent space) or upsampler (the connected LTX temporal "
                "latent upsampler).",
            },
        ),
        "refine_steps": (
            "INT",
            {
                "default": -1,
                "min": -1,
                "max": _MAX["refine_steps"],
                "step": 1,
                "tooltip": "Steps that refine the interpolated full-length video (stride > 1). "
                "0 = no refinement, -1 = the preset's value.",
            },
        ),
        "refine_strength": (
            "FLOAT",
            {
                "default": -1.0,
                "min": -1.0,
                "max": 1.0,
                "step": 0.01,
                "tooltip": "Sigma the interpolated video is re-noised to before refining (0-1; higher "
                "changes more). -1 = the preset's value.",
            },
        ),
        "activation_budget_mb": (
            "INT",
            {
                "default": -1,
                "min": -1,
                "max": 1 << 20,
                "step": 64,
                "tooltip": "Activation memory budget in MB: the feed-forward and dense attention run over "
                "token chunks sized by the cost model to stay under it. 0 = unbounded, -1 = the preset's value.",
            },
        ),
    }
    return {name: all_inputs[name] for name in names}


def settings_from_inputs(preset: str, **values: Any) -> EfficientSettings:
    """EfficientSettings from a preset and node widget values (sentinels keep the preset's value).

    Raises ValueError naming the node input for a bad value.
    """
    names = list(_core.preset_names())
    if preset not in names:
        raise ValueError(f"preset must be one of {' '.join(names)}, got {preset!r}")
    overrides: dict[str, Any] = {}
    for name, value in values.items():
        if name not in SETTING_NAMES:
            raise ValueError(f"unknown knob input {name!r}")
        if value is None or value == PRESET_SENTINELS[name]:
            continue
        if name == "anchor_frame":
            if value not in ("on", "off"):
                raise ValueError(f"anchor_frame must be one of preset on off, got {value!r}")
            value = value == "on"
        elif name in ("precision", "interpolation"):
            allowed = PRECISIONS if name == "precision" else INTERPOLATIONS
            if value not in allowed:
                raise ValueError(f"{name} must be one of preset {' '.join(allowed)}, got {value!r}")
        overrides[SETTING_NAMES[name]] = value
    try:
        return EfficientSettings.from_preset(preset, **overrides)
    except ValueError as exc:
        message = str(exc)
        for node_name, field in SETTING_NAMES.items():
            if node_name != field and message.startswith(field + " "):
                raise ValueError(node_name + message[len(field) :]) from exc
        raise
