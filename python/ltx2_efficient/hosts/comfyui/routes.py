"""HTTP routes behind the node panel: presets, a live plan estimate and the GPU's thermal state.

The work is done by pure functions (``presets``, ``estimate``, ``thermal_state``) that take and
return plain dicts, so they are tested without a server. ``add_routes`` puts them on an aiohttp
route table under ``/ltx2eff/...``; ``register_with_comfyui`` does that on ComfyUI's own server
when the pack is loaded inside ComfyUI (ComfyUI also serves every such route under ``/api``).
Bad input is answered with HTTP 400 and a message naming the parameter and its allowed range;
bodies pass ``json_body``'s guard first (size, encoding, nesting, number digits), and parsing,
planning and the GPU readings run on a worker thread, never on the server's event loop.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import math
import sys
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import ltx2_efficient as core
from ltx2_efficient import _core
from ltx2_efficient.hosts.comfyui.json_body import BadBody, clip_message, parse_json_body, read_body

ROUTE_PREFIX = "/ltx2eff"
DEFAULT_PRESET = "balanced"

_log = logging.getLogger("ltx2_efficient")

# The request the panel estimates when no latent is connected: LTX-2's common 1280x704 clip.
DEFAULT_REQUEST: dict[str, Any] = {"width": 1280, "height": 704, "frames": 121, "fps": 24.0}

# Knob names in the order of the core's knob table (and GenerationPlan.to_json()["knobs"]).
KNOB_NAMES: tuple[str, ...] = tuple(row["name"] for row in _core.knob_table())


def _shown(value: object) -> str:
    """A bad value in a message: at most ~80 characters, and never a huge integer's digits."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**18:
        return "an integer of more than 18 digits"
    text = repr(value)
    return text if len(text) <= 80 else text[:79] + "..."


def _as_int(name: str, value: object, lo: int, hi: int) -> int:
    # JSON numbers from the browser may arrive as 24.0; accept integral floats, nothing else.
    allowed = f"{name} must be an integer in [{lo}, {hi}]"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{allowed}, got {_shown(value)}")
    if isinstance(value, float) and (not math.isfinite(value) or not value.is_integer()):
        raise ValueError(f"{allowed}, got {_shown(value)}")
    if not lo <= value <= hi:
        raise ValueError(f"{allowed}, got {_shown(value if isinstance(value, int) else int(value))}")
    return int(value)


def _as_float(name: str, value: object, lo: float, hi: float) -> float:
    allowed = f"{name} must be a number in [{lo:g}, {hi:g}]"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{allowed}, got {_shown(value)}")
    if isinstance(value, int) and not lo <= value <= hi:  # before float(): 10**400 has no float
        raise ValueError(f"{allowed}, got {_shown(value)}")
    number = float(value)
    if not (math.isfinite(number) and lo <= number <= hi):
        raise ValueError(f"{allowed}, got {number:g}")
    return number


def _as_preset(value: object) -> str:
    names = list(core.preset_names())
    if not isinstance(value, str) or value not in names:
        raise ValueError(f"preset must be one of {' '.join(names)}, got {_shown(value)}")
    return value


def knobs_to_dict(knobs: core.Knobs) -> dict[str, Any]:
    """The knob values in the names the routes accept (and GenerationPlan.to_json reports)."""
    return dict(knobs.to_dict())


def apply_knob_overrides(knobs: core.Knobs, overrides: Mapping[str, object]) -> core.Knobs:
    """Set the given knobs on ``knobs``; the core's knob table checks each value's type and range."""
    unknown = sorted(str(name)[:80] for name in overrides if name not in KNOB_NAMES)
    if unknown:
        raise ValueError(f"knobs has unknown name(s) {', '.join(unknown)}; known: {', '.join(KNOB_NAMES)}")
    for name, value in overrides.items():
        _core.set_knob(knobs, name, value)
    knobs.validate()
    return knobs


def node_knob_inputs() -> dict[str, Any]:
    """Which node widgets carry each knob and which choice means "the preset's value"."""
    from ltx2_efficient.hosts.comfyui.knob_inputs import node_knob_inputs as describe

    return describe()


def presets() -> dict[str, Any]:
    """The knob table (``knobs``: one row per knob, as the core defines it), every preset with its
    plain-language description and resolved knob values, and how the nodes' inputs carry the
    knobs (see ``node_knob_inputs``)."""
    return {
        "default": DEFAULT_PRESET,
        "knobs": list(_core.knob_table()),
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
            "window_off": _core.WINDOW_OFF,
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
    # The core's bounds; it also checks multiples of 32 and 8k+1 frames and names the nearest.
    width = _as_int("width", request["width"], _core.SPATIAL_FACTOR, _core.MAX_PIXEL_SIDE)
    height = _as_int("height", request["height"], _core.SPATIAL_FACTOR, _core.MAX_PIXEL_SIDE)
    frames = _as_int("frames", request["frames"], 1, _core.MAX_PIXEL_FRAMES)
    fps = _as_float("fps", request["fps"], _core.MIN_FPS, _core.MAX_FPS)
    preset = _as_preset(params.get("preset", DEFAULT_PRESET))
    overrides = params.get("knobs", {})
    if not isinstance(overrides, Mapping):
        raise ValueError(f"knobs must be an object of knob values, got {_shown(overrides)}")
    # The core's bounds (MAX_STEPS, MAX_CALLS_PER_STEP, MAX_BATCH) and its messages.
    steps = _core.check_sampling("steps", params.get("steps", 30))
    calls = _core.check_sampling("calls_per_step", params.get("calls_per_step", 2))
    batch = _core.check_sampling("batch", params.get("batch", 1))

    # The preset as the run will resolve it: the core decides the regime from steps and guidance.
    regime = _core.regime_for(steps, calls)
    knobs = apply_knob_overrides(core.resolve_preset(preset, regime), overrides)
    pixels = core.PixelShape(width, height, frames, fps)
    sampling = core.SamplingSpec(steps=steps, calls_per_step=calls, batch=batch)
    plan = core.make_plan(pixels, knobs, sampling)
    report = json.loads(plan.to_json(preset))
    keyframes = report["keyframes"]
    attention = report["attention"]
    return {
        "preset": preset,
        "regime": regime,
        "preset_description": _core.describe_preset(preset, regime),
        "customized": knobs_to_dict(knobs) != knobs_to_dict(core.resolve_preset(preset, regime)),
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


def estimate_body(raw: bytes, charset: str | None = None) -> tuple[int, dict[str, Any]]:
    """``estimate`` of a raw request body: (HTTP status, JSON answer); never raises.

    Bad bodies and bad parameters give 4xx with ``{"error": one short line}``; anything else
    that fails is logged and answered 500 without its traceback.
    """
    try:
        return 200, estimate(parse_json_body(raw, charset))
    except BadBody as exc:
        return exc.status, {"error": clip_message(str(exc))}
    except (ValueError, TypeError, OverflowError) as exc:  # InvalidArgument is a ValueError
        return 400, {"error": clip_message(str(exc))}
    except Exception:
        _log.exception("ltx2eff: /estimate failed")
        return 500, {"error": "the estimate failed on the server (see its log)"}


@functools.cache
def _workers() -> ThreadPoolExecutor:
    # Two threads: a burst of panel requests queues here instead of in the server's own pool.
    return ThreadPoolExecutor(max_workers=2, thread_name_prefix="ltx2eff-routes")


async def _off_loop(function: Callable[..., Any], *args: Any) -> Any:
    return await asyncio.get_running_loop().run_in_executor(_workers(), function, *args)


Handler = Callable[[Any], Awaitable[Any]]


def make_handlers() -> dict[str, tuple[str, Handler]]:
    """route path -> (method, aiohttp handler). Imports aiohttp only when called."""
    from aiohttp import web

    async def get_presets(request: web.Request) -> web.Response:
        return web.json_response(presets())

    async def post_estimate(request: web.Request) -> web.Response:
        try:
            raw = await read_body(request)
        except BadBody as exc:
            return web.json_response({"error": clip_message(str(exc))}, status=exc.status)
        status, answer = await _off_loop(estimate_body, raw, request.charset)
        return web.json_response(answer, status=status)

    async def get_thermal(request: web.Request) -> web.Response:
        return web.json_response(await _off_loop(thermal_state))

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
