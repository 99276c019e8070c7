"""HTTP routes behind the node panel: presets, a live plan estimate and the GPU's thermal state.

The work is done by pure functions (``presets``, ``estimate``, ``thermal_state``) that take and
return plain dicts, so they are tested without a server. ``add_routes`` puts them on an aiohttp
route table under ``/ltx2eff/...``; ``register_with_comfyui`` does that on ComfyUI's own server
when the pack is loaded inside ComfyUI (ComfyUI also serves every such route under ``/api``).
Bad input is answered with HTTP 400 and a message naming the parameter and its allowed range.
"""

from __future__ import annotations

import json
import logging
import math
import sys
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import ltx2_efficient as core
from ltx2_efficient import _core

ROUTE_PREFIX = "/ltx2eff"
DEFAULT_PRESET = "balanced"

_log = logging.getLogger("ltx2_efficient")

# The request the panel estimates when no latent is connected: LTX-2's common 1280x704 clip.
DEFAULT_REQUEST: dict[str, Any] = {"width": 1280, "height": 704, "frames": 121, "fps": 24.0}

# Knob name -> kind, in the names of Knobs / GenerationPlan.to_json()["knobs"].
_INT_KNOBS = ("frame_stride", "window", "far_field", "max_consecutive_reuse", "refine_steps")
_INT_KNOBS += ("activation_budget_mb",)
_FLOAT_KNOBS = ("reuse_start", "reuse_threshold", "refine_strength")
_BOOL_KNOBS = ("anchor_frame", "thermal_guard")
_CHOICE_KNOBS = ("precision", "interpolation")
KNOB_NAMES = _INT_KNOBS + _FLOAT_KNOBS + _BOOL_KNOBS + _CHOICE_KNOBS

_MAX_STEPS = 1000
_MAX_CALLS_PER_STEP = 4
_MAX_BATCH = 64


def _as_int(name: str, value: object, lo: int, hi: int) -> int:
    # JSON numbers from the browser may arrive as 24.0; accept integral floats, nothing else.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be an integer in [{lo}, {hi}], got {value!r}")
    if isinstance(value, float) and (not math.isfinite(value) or not value.is_integer()):
        raise ValueError(f"{name} must be an integer in [{lo}, {hi}], got {value!r}")
    number = int(value)
    if not lo <= number <= hi:
        raise ValueError(f"{name} must be in [{lo}, {hi}], got {number}")
    return number


def _as_float(name: str, value: object, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a number in [{lo:g}, {hi:g}], got {value!r}")
    number = float(value)
    if not lo <= number <= hi:
        raise ValueError(f"{name} must be in [{lo:g}, {hi:g}], got {number:g}")
    return number


def _as_bool(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false, got {value!r}")
    return value


def _as_preset(value: object) -> str:
    names = list(core.preset_names())
    if not isinstance(value, str) or value not in names:
        raise ValueError(f"preset must be one of {' '.join(names)}, got {value!r}")
    return value


def knobs_to_dict(knobs: core.Knobs) -> dict[str, Any]:
    """The knob values in the names the routes accept (and GenerationPlan.to_json reports)."""
    return {
        "frame_stride": knobs.frame_stride,
        "window": knobs.window,
        "anchor_frame": knobs.anchor_frame,
        "far_field": knobs.far_field,
        "reuse_start": knobs.reuse_start,
        "reuse_threshold": knobs.reuse_threshold,
        "max_consecutive_reuse": knobs.max_consecutive_reuse,
        "precision": _core.precision_name(knobs.precision),
        "interpolation": _core.interpolation_name(knobs.interpolation),
        "refine_steps": knobs.refine_steps,
        "refine_strength": knobs.refine_strength,
        "activation_budget_mb": knobs.activation_budget_mb,
        "thermal_guard": knobs.thermal_guard,
    }


def apply_knob_overrides(knobs: core.Knobs, overrides: Mapping[str, object]) -> core.Knobs:
    """Set the given knobs on ``knobs`` (type-checked here, range-checked by the core)."""
    unknown = sorted(set(overrides) - set(KNOB_NAMES))
    if unknown:
        raise ValueError(f"knobs has unknown name(s) {', '.join(unknown)}; known: {', '.join(KNOB_NAMES)}")
    for name, value in overrides.items():
        if name in _INT_KNOBS:
            # The core checks the real range; this bound only rejects absurd numbers early.
            setattr(knobs, name, _as_int(name, value, -(2**31), 2**31 - 1))
        elif name in _FLOAT_KNOBS:
            setattr(knobs, name, _as_float(name, value, -math.inf, math.inf))
        elif name in _BOOL_KNOBS:
            setattr(knobs, name, _as_bool(name, value))
        elif name == "precision":
            if not isinstance(value, str):
                raise ValueError(f"precision must be a name, got {value!r}")
            knobs.precision = _core.parse_precision(value)
        else:
            if not isinstance(value, str):
                raise ValueError(f"interpolation must be a name, got {value!r}")
            knobs.interpolation = _core.parse_interpolation(value)
    knobs.validate()
    return knobs


def node_knob_inputs() -> dict[str, Any]:
    """How the nodes' knob inputs map to knob names, and which value means "the preset's"."""
    from ltx2_efficient.hosts.comfyui.knob_inputs import PRESET_SENTINELS, SETTING_NAMES

    return {
        "names": dict(SETTING_NAMES),
        "sentinels": dict(PRESET_SENTINELS),
        "choices": {"anchor_frame": ["on", "off"]},
    }


def presets() -> dict[str, Any]:
    """Every preset with its plain-language description and resolved knob values, and how the
    nodes' inputs carry the knobs (see ``node_knob_inputs``)."""
    return {
        "default": DEFAULT_PRESET,
        "node_inputs": node_knob_inputs(),
        "presets": [
            {
                "name": name,
                "description": _core.describe_preset(name),
                "knobs": knobs_to_dict(core.resolve_preset(name)),
            }
            for name in core.preset_names()
        ],
        "limits": {
            "max_frame_stride": _core.MAX_FRAME_STRIDE,
            "window_off": _core.WINDOW_OFF,
            "max_refine_steps": _core.MAX_REFINE_STEPS,
            "max_consecutive_reuse": _core.MAX_CONSECUTIVE_REUSE,
            "min_computed_start_share": _core.MIN_COMPUTED_START_SHARE,
        },
    }


def estimate(params: Mapping[str, object]) -> dict[str, Any]:
    """Plan a request with the C++ cost model and summarise what the panel shows.

    ``params``: width, height, frames (pixel frames), fps, preset, knobs (overrides of the
    preset, in the names of ``KNOB_NAMES``), steps, calls_per_step (1 without guidance, 2 with
    CFG, 3 with CFG + STG) and batch; all optional. Raises ValueError naming the bad parameter.
    """
    if not isinstance(params, Mapping):
        raise ValueError(f"the request must be a JSON object, got {type(params).__name__}")
    allowed = {"width", "height", "frames", "fps", "preset", "knobs", "steps", "calls_per_step", "batch"}
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ValueError(f"unknown parameter(s) {', '.join(unknown)}; known: {', '.join(sorted(allowed))}")

    request = {**DEFAULT_REQUEST, **{k: v for k, v in params.items() if k in DEFAULT_REQUEST}}
    # Loose bounds here; the core checks multiples of 32 and 8k+1 frames and names the nearest.
    width = _as_int("width", request["width"], 1, 1 << 16)
    height = _as_int("height", request["height"], 1, 1 << 16)
    frames = _as_int("frames", request["frames"], 1, 1 << 16)
    fps = _as_float("fps", request["fps"], 0.01, 1000.0)
    preset = _as_preset(params.get("preset", DEFAULT_PRESET))
    overrides = params.get("knobs", {})
    if not isinstance(overrides, Mapping):
        raise ValueError(f"knobs must be an object of knob values, got {overrides!r}")
    steps = _as_int("steps", params.get("steps", 30), 1, _MAX_STEPS)
    calls = _as_int("calls_per_step", params.get("calls_per_step", 2), 1, _MAX_CALLS_PER_STEP)
    batch = _as_int("batch", params.get("batch", 1), 1, _MAX_BATCH)

    knobs = apply_knob_overrides(core.resolve_preset(preset), overrides)
    pixels = core.PixelShape(width, height, frames, fps)
    sampling = core.SamplingSpec(steps=steps, calls_per_step=calls, batch=batch)
    plan = core.make_plan(pixels, knobs, sampling)
    report = json.loads(plan.to_json(preset))
    keyframes = report["keyframes"]
    attention = report["attention"]
    return {
        "preset": preset,
        "customized": knobs_to_dict(knobs) != knobs_to_dict(core.resolve_preset(preset)),
        "request": {"width": width, "height": height, "frames": frames, "fps": fps},
        "latent": report["latent"],
        "keyframe_latent": report["keyframe_latent"],
        "tokens": report["latent"]["tokens"],
        "diffused_tokens": report["keyframe_latent"]["tokens"],
        "pixel_frames": keyframes["full_pixel_frames"],
        "diffused_pixel_frames": keyframes["diffused_pixel_frames"],
        "effective_fps": keyframes["effective_fps"],
        "pair_fraction": attention["keyframe_pair_fraction"],
        "refine_pair_fraction": attention["refine_pair_fraction"],
        "predicted_speedup": report["predicted_speedup"],
        "flops_ratio": report["flops_ratio"],
        "activation_bytes": report["peak_activation_bytes"],
        "dense_activation_bytes": report["dense_peak_activation_bytes"],
        "dense_seconds": report["dense_seconds"],
        "plan_seconds": report["plan_seconds"],
        "steps": steps,
        "max_reused_steps": report["max_reused_steps"],
        "refine_steps": knobs.refine_steps if knobs.frame_stride > 1 else 0,
        "summary": report["summary"],
        "knobs": knobs_to_dict(knobs),
        "plan": report,
    }


def _unavailable(reason: str) -> dict[str, Any]:
    return {"available": False, "reason": reason}


# Clock event reasons that mean the GPU is holding itself back (idle, application clocks, sync
# boost and display clocks are not slowdowns).
SLOWDOWN_REASONS = ("sw_power_cap", "hw_slowdown", "sw_thermal", "hw_thermal", "power_brake")


def thermal_state() -> dict[str, Any]:
    """The GPU's live temperature, power and throttling, or why they cannot be read.

    Reads through the governor's ``ltx2_efficient.thermal.live_state()`` and adds ``throttling``
    and ``throttle_reasons`` (the slowdown reasons among the clock event reasons). Never raises:
    no NVML, no NVIDIA GPU or a driver fault give ``{"available": False, "reason": ...}``.
    """
    try:
        from ltx2_efficient import thermal
    except ImportError:
        return _unavailable("this build has no GPU monitoring")
    reader = getattr(thermal, "live_state", None)
    if reader is None:
        return _unavailable("this build has no GPU monitoring")
    try:
        state = dict(reader())
    except Exception as exc:  # a driver fault must never break the panel
        _log.warning("ltx2eff: reading the GPU thermal state failed: %s", exc)
        return _unavailable(f"reading the GPU failed: {exc}")
    if not state.get("available", True):
        return _unavailable(str(state.get("reason") or "no readings"))
    reasons = [str(r) for r in state.get("clock_event_reasons") or []]
    slowdowns = [r for r in reasons if r in SLOWDOWN_REASONS]
    state.setdefault("throttling", bool(slowdowns))
    state.setdefault("throttle_reasons", slowdowns)
    state["available"] = True
    return state


Handler = Callable[[Any], Awaitable[Any]]


def make_handlers() -> dict[str, tuple[str, Handler]]:
    """route path -> (method, aiohttp handler). Imports aiohttp only when called."""
    from aiohttp import web

    def bad_request(message: str) -> Any:
        return web.json_response({"error": message}, status=400)

    async def get_presets(request: web.Request) -> web.Response:
        return web.json_response(presets())

    async def post_estimate(request: web.Request) -> web.Response:
        try:
            params = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            return bad_request(f"the request body must be JSON: {exc}")
        try:
            return web.json_response(estimate(params))
        except ValueError as exc:  # InvalidArgument is a ValueError
            return bad_request(str(exc))

    async def get_thermal(request: web.Request) -> web.Response:
        return web.json_response(thermal_state())

    async def get_last_check(request: web.Request) -> web.Response:
        from ltx2_efficient.hosts.comfyui.check_results import last_check_state

        return web.json_response(last_check_state())

    return {
        f"{ROUTE_PREFIX}/presets": ("GET", get_presets),
        f"{ROUTE_PREFIX}/estimate": ("POST", post_estimate),
        f"{ROUTE_PREFIX}/thermal": ("GET", get_thermal),
        f"{ROUTE_PREFIX}/last_check": ("GET", get_last_check),
    }


def add_routes(routes: Any, prefix: str = "") -> None:
    """Add the routes to an aiohttp RouteTableDef (or anything with ``.route(method, path)``)."""
    for path, (method, handler) in make_handlers().items():
        routes.route(method, prefix + path)(handler)


_registered = False


def register_with_comfyui() -> bool:
    """Add the routes to the running ComfyUI server; False (and nothing done) outside ComfyUI.

    Never raises: a failure is logged and the nodes keep working without the panel's estimates.
    """
    global _registered
    if _registered:
        return True
    # ComfyUI imports its `server` module before it loads custom nodes; never import a module
    # of that name ourselves (outside ComfyUI it may be something else entirely).
    server = sys.modules.get("server")
    prompt_server = getattr(getattr(server, "PromptServer", None), "instance", None)
    routes = getattr(prompt_server, "routes", None)
    if routes is None:
        return False
    try:
        add_routes(routes)
    except Exception as exc:  # the nodes must load even if the panel's routes cannot
        _log.error("ltx2eff: could not add the panel routes (the panel shows no estimates): %s", exc)
        return False
    _registered = True
    _log.info("ltx2eff: panel routes added under %s", ROUTE_PREFIX)
    return True
