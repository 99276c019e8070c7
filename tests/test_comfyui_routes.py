"""The panel's backend routes: pure functions and their aiohttp handlers."""

from __future__ import annotations

import asyncio
import json
import random
import sys
import types
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

import ltx2_efficient as core
from ltx2_efficient import _core
from ltx2_efficient.hosts.comfyui import routes


def random_request(rng: random.Random) -> dict[str, Any]:
    return {
        "width": 32 * rng.randint(8, 60),
        "height": 32 * rng.randint(8, 34),
        "frames": 8 * rng.randint(1, 30) + 1,
        "fps": rng.choice([24.0, 25.0, 30.0]),
        "preset": rng.choice(list(core.preset_names())),
        "steps": rng.randint(4, 50),
        "calls_per_step": rng.randint(1, 3),
    }


def test_estimate_reports_what_the_cost_model_plans():
    rng = random.Random()
    for _ in range(20):
        req = random_request(rng)
        out = routes.estimate(req)
        regime = _core.regime_for(req["steps"], req["calls_per_step"])
        plan = core.make_plan(
            core.PixelShape(req["width"], req["height"], req["frames"], req["fps"]),
            core.resolve_preset(req["preset"], regime),
            core.SamplingSpec(steps=req["steps"], calls_per_step=req["calls_per_step"]),
        )
        report = json.loads(plan.to_json(req["preset"]))
        latent = core.latent_from_pixels(
            core.PixelShape(req["width"], req["height"], req["frames"], req["fps"])
        )
        assert out["tokens"] == latent.tokens == report["latent"]["tokens"]
        assert out["latent"] == report["latent"]
        assert out["diffused_pixel_frames"] == report["keyframes"]["diffused_pixel_frames"]
        assert out["pixel_frames"] == req["frames"]
        assert out["pair_fraction"] == report["attention"]["keyframe_pair_fraction"]
        assert out["predicted_speedup"] == pytest.approx(plan.predicted_speedup, rel=1e-9)
        assert out["activation_bytes"] == pytest.approx(plan.peak_activation_bytes, rel=1e-9)
        assert out["steps"] == req["steps"]
        assert out["customized"] is False
        assert out["plan"] == report


def test_estimate_resolves_the_preset_for_the_runs_regime():
    """8 steps without guidance: the distilled presets, as the sampler node resolves them."""
    dev = routes.estimate({"preset": "fast", "steps": 8, "calls_per_step": 2})
    distilled = routes.estimate({"preset": "fast", "steps": 8, "calls_per_step": 1})
    assert (dev["regime"], distilled["regime"]) == ("dev", "distilled")
    assert (
        distilled["knobs"]["max_consecutive_reuse"]
        == core.resolve_preset("fast", "distilled").max_consecutive_reuse
    )
    assert distilled["knobs"] != dev["knobs"] and distilled["customized"] is False
    assert distilled["preset_description"] == _core.describe_preset("fast", "distilled")


def test_estimate_defaults_to_a_1280x704_121_frame_balanced_request():
    out = routes.estimate({})
    assert out["request"] == {"width": 1280, "height": 704, "frames": 121, "fps": 24.0}
    assert out["preset"] == "balanced"
    assert out["tokens"] == 16 * 22 * 40


def test_presets_order_the_speedup_and_off_is_the_dense_baseline():
    speed = {name: routes.estimate({"preset": name})["predicted_speedup"] for name in core.preset_names()}
    assert speed["off"] == pytest.approx(1.0)
    assert speed["off"] < speed["quality"] < speed["balanced"] < speed["fast"]
    off = routes.estimate({"preset": "off"})
    assert off["diffused_pixel_frames"] == off["pixel_frames"]
    assert off["pair_fraction"] == pytest.approx(1.0)


def test_knob_overrides_change_the_plan_and_mark_it_customized():
    base = routes.estimate({"preset": "balanced"})
    narrower = routes.estimate({"preset": "balanced", "knobs": {"window": 1, "far_field": 0}})
    assert narrower["customized"] is True
    assert narrower["knobs"]["window"] == 1 and narrower["knobs"]["far_field"] == 0
    assert narrower["pair_fraction"] < base["pair_fraction"]
    strided = routes.estimate(
        {"preset": "off", "knobs": {"frame_stride": 4, "refine_steps": 2, "refine_strength": 0.3}}
    )
    assert strided["diffused_pixel_frames"] < strided["pixel_frames"]
    assert strided["predicted_speedup"] > 1.0
    same = routes.estimate({"preset": "fast", "knobs": routes.knobs_to_dict(core.resolve_preset("fast"))})
    assert same["customized"] is False


def _allowed(knob: str) -> str:
    """The core's text for a knob's allowed values ("an integer in [1, 16]")."""
    return next(row["allowed"] for row in _core.knob_table() if row["name"] == knob)


_SIDE = f"[{_core.SPATIAL_FACTOR}, {_core.MAX_PIXEL_SIDE}]"
_FPS = f"[{_core.MIN_FPS:g}, {_core.MAX_FPS:g}]"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"width": 1000}, f"width must be a multiple of {_core.SPATIAL_FACTOR} in {_SIDE}, got 1000"),
        ({"height": 0}, f"height must be an integer in {_SIDE}, got 0"),
        ({"width": "wide"}, f"width must be an integer in {_SIDE}, got 'wide'"),
        ({"frames": 120}, f"frames must be 8k+1 (1, 9, 17, ..., {_core.MAX_PIXEL_FRAMES}), got 120"),
        ({"frames": 12.5}, f"frames must be an integer in [1, {_core.MAX_PIXEL_FRAMES}], got 12.5"),
        ({"fps": -1}, f"fps must be a number in {_FPS}, got -1"),
        ({"fps": True}, f"fps must be a number in {_FPS}, got True"),
        ({"preset": "turbo"}, f"preset must be one of {' '.join(core.preset_names())}, got 'turbo'"),
        # The sampling bounds are the core's (the limits make_plan checks), with its messages.
        ({"steps": 0}, f"steps must be in [1, {_core.MAX_STEPS}], got 0"),
        (
            {"steps": _core.MAX_STEPS + 1},
            f"steps must be in [1, {_core.MAX_STEPS}], got {_core.MAX_STEPS + 1}",
        ),
        ({"steps": 30.5}, f"steps must be an integer in [1, {_core.MAX_STEPS}], got 30.5"),
        ({"steps": "30"}, f"steps must be an integer in [1, {_core.MAX_STEPS}], got '30'"),
        ({"calls_per_step": 9}, f"calls_per_step must be in [1, {_core.MAX_CALLS_PER_STEP}], got 9"),
        (
            {"calls_per_step": True},
            f"calls_per_step must be an integer in [1, {_core.MAX_CALLS_PER_STEP}], got True",
        ),
        ({"batch": 0}, f"batch must be in [1, {_core.MAX_BATCH}], got 0"),
        (
            {"batch": 10**30},
            f"batch must be an integer in [1, {_core.MAX_BATCH}], got an integer of more than 63 bits",
        ),
        ({"knobs": {"frame_stride": 99}}, f"frame_stride must be {_allowed('frame_stride')}, got 99"),
        ({"knobs": {"window": -7}}, f"window must be {_allowed('window')}, got -7"),
        ({"knobs": {"reuse_start": 1.5}}, f"reuse_start must be {_allowed('reuse_start')}, got 1.5"),
        ({"knobs": {"precision": "fp9"}}, f"precision must be {_allowed('precision')}, got 'fp9'"),
        ({"knobs": {"interpolation": 3}}, f"interpolation must be {_allowed('interpolation')}, got 3"),
        (
            {"knobs": {"thermal_guard": "yes"}},
            f"thermal_guard must be {_allowed('thermal_guard')}, got 'yes'",
        ),
        ({"knobs": {"frame_stride": 2.5}}, f"frame_stride must be {_allowed('frame_stride')}, got 2.5"),
        ({"knobs": {"window_start": -0.5}}, f"window_start must be {_allowed('window_start')}, got -0.5"),
        (
            {"knobs": {"dense_first_blocks": _core.MAX_DENSE_BLOCKS + 1}},
            f"dense_first_blocks must be {_allowed('dense_first_blocks')}, got {_core.MAX_DENSE_BLOCKS + 1}",
        ),
        ({"knobs": {"turbo": 1}}, f"knobs has unknown name(s) turbo; known: {', '.join(routes.KNOB_NAMES)}"),
        ({"knobs": [1, 2]}, "knobs must be an object of knob values, got [1, 2]"),
        ({"colour": "red"}, "unknown parameter(s) colour; known: batch, calls_per_step, fps, frames, height"),
    ],
)
def test_bad_input_raises_a_value_error_naming_the_parameter_and_its_range(params, message):
    with pytest.raises(ValueError) as info:
        routes.estimate(params)
    assert str(info.value).startswith(message), str(info.value)


def test_the_sampling_bounds_are_the_cores():
    top = routes.estimate(
        {"steps": _core.MAX_STEPS, "calls_per_step": _core.MAX_CALLS_PER_STEP, "batch": _core.MAX_BATCH}
    )
    assert top["steps"] == _core.MAX_STEPS
    assert top["plan"]["sampling"] == {
        "steps": _core.MAX_STEPS,
        "calls_per_step": _core.MAX_CALLS_PER_STEP,
        "batch": _core.MAX_BATCH,
        "global_tokens": 0,
        "reused_steps": -1,
    }
    assert routes.estimate({"steps": 24.0, "batch": 2.0})["plan"]["sampling"]["batch"] == 2  # JSON's 2.0


def test_presets_list_every_preset_with_its_description_and_values():
    out = routes.presets()
    assert [p["name"] for p in out["presets"]] == list(core.preset_names())
    assert out["default"] in core.preset_names()
    for entry in out["presets"]:
        assert entry["description"] == _core.describe_preset(entry["name"])
        assert entry["knobs"] == routes.knobs_to_dict(core.resolve_preset(entry["name"]))
        assert set(entry["knobs"]) == set(routes.KNOB_NAMES)
    assert out["limits"]["window_off"] == _core.WINDOW_OFF


def test_presets_describe_every_knob_input_of_the_nodes_for_the_panel():
    from ltx2_efficient.hosts.comfyui.registry import node_mappings

    out = routes.presets()
    assert [row["name"] for row in out["knobs"]] == list(routes.KNOB_NAMES)
    assert out["knobs"] == _core.knob_table()
    inputs = out["node_inputs"]
    assert set(inputs["knobs"]) <= set(routes.KNOB_NAMES)
    classes, _ = node_mappings()
    panel_nodes = [cls for cls in classes.values() if "preset" in cls.INPUT_TYPES()["required"]]
    assert len(panel_nodes) >= 2
    for cls in panel_nodes:
        required = cls.INPUT_TYPES()["required"]
        carried = {knob: where for knob, where in inputs["knobs"].items() if where["widget"] in required}
        assert carried, cls.__name__
        for knob, where in carried.items():
            # Each knob starts at "the preset's value", which the panel must recognise.
            if where["mode_widget"] is None:
                assert required[where["widget"]][1]["default"] == inputs["preset_choice"], (cls, knob)
            else:
                assert required[where["mode_widget"]][1]["default"] == inputs["preset_choice"], (cls, knob)


def test_knobs_to_dict_round_trips_through_overrides():
    rng = random.Random()
    for name in core.preset_names():
        values = routes.knobs_to_dict(core.resolve_preset(name))
        fresh = routes.apply_knob_overrides(
            core.resolve_preset(rng.choice(list(core.preset_names()))), values
        )
        assert routes.knobs_to_dict(fresh) == values


def test_thermal_state_without_the_governor_api_says_why(monkeypatch):
    monkeypatch.setitem(sys.modules, "ltx2_efficient.thermal", None)  # import fails
    state = routes.thermal_state()
    assert state["available"] is False
    assert state["reason"]


def test_thermal_state_passes_on_live_readings_and_names_slowdowns(monkeypatch):
    fake = types.ModuleType("ltx2_efficient.thermal")
    reading: dict[str, Any] = {
        "available": True,
        "device": "GPU 0",
        "temperature_c": 66.0,
        "power_w": 140.0,
        "power_limit_w": 170.0,
        "clock_event_reasons": ["idle"],
    }
    fake.live_state = lambda: dict(reading)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "ltx2_efficient.thermal", fake)
    monkeypatch.setattr(sys.modules["ltx2_efficient"], "thermal", fake, raising=False)
    assert routes.thermal_state() == {**reading, "throttling": False, "throttle_reasons": []}

    reading["clock_event_reasons"] = ["sw_thermal", "idle", "sw_power_cap"]
    state = routes.thermal_state()
    assert state["throttling"] is True
    assert state["throttle_reasons"] == ["sw_thermal", "sw_power_cap"]

    fake.live_state = lambda: {"available": False, "reason": "no NVIDIA driver here"}  # type: ignore[attr-defined]
    assert routes.thermal_state() == {"available": False, "reason": "no NVIDIA driver here"}


def test_thermal_state_survives_a_failing_driver(monkeypatch):
    fake = types.ModuleType("ltx2_efficient.thermal")

    def broken() -> dict[str, Any]:
        raise RuntimeError("NVML_ERROR_GPU_IS_LOST")

    fake.live_state = broken  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "ltx2_efficient.thermal", fake)
    monkeypatch.setattr(sys.modules["ltx2_efficient"], "thermal", fake, raising=False)
    state = routes.thermal_state()
    assert state["available"] is False
    assert "NVML_ERROR_GPU_IS_LOST" in state["reason"]


def test_thermal_state_of_this_machine_says_what_the_sensor_says():
    from ltx2_efficient.thermal import open_sensor

    sensor = open_sensor()
    state = routes.thermal_state()
    assert state["available"] is bool(sensor.available)
    if sensor.available:  # a GPU machine: live readings of that GPU
        assert state["device"] == sensor.description
        assert isinstance(state["throttling"], bool) and state["temperature_c"] > 0
    else:  # CI: no NVIDIA driver, and the panel is told why
        assert state == {"available": False, "reason": sensor.unavailable_reason}
        assert sensor.unavailable_reason


def test_register_with_comfyui_adds_the_routes_to_the_running_server_only(monkeypatch):
    monkeypatch.setattr(routes, "_registered", False)
    monkeypatch.delitem(sys.modules, "server", raising=False)
    assert routes.register_with_comfyui() is False

    table = web.RouteTableDef()
    server = types.ModuleType("server")
    server.PromptServer = types.SimpleNamespace(instance=types.SimpleNamespace(routes=table))  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "server", server)
    assert routes.register_with_comfyui() is True
    assert routes.register_with_comfyui() is True  # once only
    paths = sorted((r.method, r.path) for r in table if isinstance(r, web.RouteDef))
    assert paths == [
        ("GET", "/ltx2eff/last_check"),
        ("GET", "/ltx2eff/presets"),
        ("GET", "/ltx2eff/thermal"),
        ("POST", "/ltx2eff/estimate"),
    ]


def test_register_with_comfyui_never_breaks_loading_the_pack(monkeypatch, caplog):
    monkeypatch.setattr(routes, "_registered", False)

    class BrokenRoutes:
        def route(self, method: str, path: str) -> Any:
            raise RuntimeError("router is frozen")

    server = types.ModuleType("server")
    server.PromptServer = types.SimpleNamespace(instance=types.SimpleNamespace(routes=BrokenRoutes()))  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "server", server)
    assert routes.register_with_comfyui() is False
    assert "router is frozen" in caplog.text


# ---- the aiohttp handlers ----


def with_client(test: Callable[[TestClient], Awaitable[None]]) -> None:
    async def run() -> None:
        table = web.RouteTableDef()
        routes.add_routes(table)
        app = web.Application()
        app.add_routes(table)
        async with TestClient(TestServer(app)) as client:
            await test(client)

    asyncio.run(run())


def test_estimate_route_answers_json():
    async def check(client: TestClient) -> None:
        response = await client.post("/ltx2eff/estimate", json={"width": 768, "height": 512, "frames": 97})
        assert response.status == 200
        body = await response.json()
        assert body["tokens"] == 13 * 16 * 24
        assert body == routes.estimate({"width": 768, "height": 512, "frames": 97})

    with_client(check)


def test_estimate_route_answers_400_naming_the_parameter():
    async def check(client: TestClient) -> None:
        response = await client.post("/ltx2eff/estimate", json={"frames": 120})
        assert response.status == 400
        assert (await response.json())["error"].startswith("frames must be 8k+1")
        response = await client.post("/ltx2eff/estimate", json={"knobs": {"window": -7}})
        assert response.status == 400
        assert (await response.json())["error"] == "window must be an integer in [-1, 256], got -7"
        response = await client.post("/ltx2eff/estimate", json={"steps": 0})
        assert response.status == 400
        assert (await response.json())["error"] == f"steps must be in [1, {_core.MAX_STEPS}], got 0"
        response = await client.post(
            "/ltx2eff/estimate", data=b"{not json", headers={"Content-Type": "application/json"}
        )
        assert response.status == 400
        assert "JSON" in (await response.json())["error"]
        response = await client.post("/ltx2eff/estimate", json=[1, 2, 3])
        assert response.status == 400

    with_client(check)


def test_presets_and_thermal_routes():
    async def check(client: TestClient) -> None:
        response = await client.get("/ltx2eff/presets")
        assert response.status == 200
        assert await response.json() == routes.presets()
        response = await client.get("/ltx2eff/thermal")
        assert response.status == 200
        answer = await response.json()
        direct = routes.thermal_state()
        assert answer["available"] is direct["available"]
        if not direct["available"]:
            assert answer == direct  # the reason, as the route's function gives it

    with_client(check)


# ---- bad bodies: every one gets a short 4xx, none a traceback or an echo ----

_JSON = {"Content-Type": "application/json"}
_BOGUS = {"Content-Type": "application/json; charset=bogus-enc"}
_BAD_BODIES = [
    # (id, body, headers, status, words in the message)
    ("empty", b"", _JSON, 400, "empty"),
    ("blank", b"  \n", _JSON, 400, "empty"),
    ("not json", b"{not json", _JSON, 400, "must be JSON"),
    ("truncated", b'{"width": 768', _JSON, 400, "must be JSON"),
    ("trailing data", b'{"width": 768} {}', _JSON, 400, "must be JSON"),
    ("single quotes", b"{'width': 768}", _JSON, 400, "must be JSON"),
    ("deep nesting", b"[" * 100_000, _JSON, 413, "at most"),
    ("deep nesting within the size", b"[" * 60_000, _JSON, 400, "nests deeper"),
    ("nesting past the depth bound", b'{"knobs": ' * 9 + b"1" + b"}" * 9, _JSON, 400, "nests deeper"),
    ("5000-digit integer", b'{"width": ' + b"9" * 5000 + b"}", _JSON, 400, "5000 digits"),
    ("5000-digit float", b'{"fps": 1.' + b"0" * 5000 + b"}", _JSON, 400, "digits"),
    ("float overflow", b'{"fps": 1e999}', _JSON, 400, "out of range"),
    ("NaN", b'{"fps": NaN}', _JSON, 400, "NaN is not a JSON number"),
    ("Infinity", b'{"fps": -Infinity}', _JSON, 400, "-Infinity is not a JSON number"),
    ("bogus charset", b"{}", _BOGUS, 400, "charset 'bogus-enc'"),
    ("latin-1 charset", b"{}", {"Content-Type": "application/json; charset=latin-1"}, 400, "UTF-8"),
    ("invalid utf-8", b'{"preset": "\xff\xfe"}', _JSON, 400, "not valid UTF-8 (byte 12)"),
    ("utf-16", '{"width": 768}'.encode("utf-16"), _JSON, 400, "not valid UTF-8"),
    ("long string", b'{"preset": "' + b"x" * 5000 + b'"}', _JSON, 400, "5000 characters"),
    ("long key", b'{"' + b"k" * 200 + b'": 1}', _JSON, 400, "200 characters"),
    ("duplicate key", b'{"width": 768, "width": 512}', _JSON, 400, "names 'width' twice"),
    ("many keys", json.dumps({f"k{i}": i for i in range(300)}).encode(), _JSON, 400, "300 members"),
    ("long array", json.dumps({"knobs": list(range(300))}).encode(), _JSON, 400, "300 elements"),
    ("a json array", b"[1, 2, 3]", _JSON, 400, "JSON object"),
    ("a json string", b'"hello"', _JSON, 400, "JSON object"),
    ("json null", b"null", _JSON, 400, "JSON object"),
    ("unknown parameter", b'{"colour": 1}', _JSON, 400, "unknown parameter(s) colour"),
    ("wrong type", b'{"width": "768"}', _JSON, 400, "width must be an integer"),
    ("bool for int", b'{"width": true}', _JSON, 400, "width must be an integer"),
    ("knobs not an object", b'{"knobs": [1]}', _JSON, 400, "knobs must be an object"),
    ("unknown knob", b'{"knobs": {"warp": 1}}', _JSON, 400, "unknown name(s) warp"),
    ("huge knob", b'{"knobs": {"window": 1e20}}', _JSON, 400, "window"),
    ("oversized declared", b"{}" + b" " * 70_000, _JSON, 413, "at most 65536 bytes"),
    ("no content type", b'{"width": 768, "height": 512, "frames": 97}', {}, 200, ""),
    ("byte order mark", b'\xef\xbb\xbf{"width": 768, "height": 512, "frames": 97}', _JSON, 200, ""),
    ("charset utf-8", b"{}", {"Content-Type": "application/json; charset=UTF-8"}, 200, ""),
]


@pytest.mark.parametrize(("body", "headers", "status", "words"), [c[1:] for c in _BAD_BODIES],
                         ids=[c[0] for c in _BAD_BODIES])  # fmt: skip
def test_bad_bodies_get_a_short_answer(body: bytes, headers: dict[str, str], status: int, words: str):
    async def check(client: TestClient) -> None:
        response = await client.post("/ltx2eff/estimate", data=body, headers=headers)
        assert response.status == status, await response.text()
        answer = await response.json()
        if status == 200:
            assert answer["tokens"] > 0
            return
        assert set(answer) == {"error"}
        message = answer["error"]
        assert words in message
        assert len(message) <= 4 * 80 and "\n" not in message and "Traceback" not in message

    with_client(check)


def test_a_huge_body_is_refused_without_reading_or_echoing_it():
    async def check(client: TestClient) -> None:
        huge = b'{"preset": "' + b"x" * (50 << 20) + b'"}'
        response = await client.post("/ltx2eff/estimate", data=huge, headers=_JSON)
        assert response.status == 413
        assert len(await response.read()) < 200

        async def chunks():  # no Content-Length: the limit holds while the body streams in
            yield b'{"preset": "'
            for _ in range(64):
                yield b"x" * 4096
            yield b'"}'

        response = await client.post("/ltx2eff/estimate", data=chunks(), headers=_JSON)
        assert response.status == 413
        assert "at most 65536 bytes" in (await response.json())["error"]

    with_client(check)


def test_values_quoted_in_messages_are_cut():
    from ltx2_efficient.hosts.comfyui.json_body import clip_message, quote

    assert quote("balanced") == "'balanced'"
    cut = quote("y" * 10_000)
    assert len(cut) < 110 and "10000 characters" in cut
    assert len(quote(list(range(10_000)))) < 110
    assert clip_message("a\nb  c") == "a b c"
    assert len(clip_message("z" * 10_000)) == 320


def test_an_unexpected_failure_is_a_short_500_and_logged(monkeypatch, caplog):
    def broken(params):
        raise RuntimeError("boom " * 1000)

    monkeypatch.setattr(routes, "estimate", broken)
    with caplog.at_level("ERROR", logger="ltx2_efficient"):
        status, answer = routes.estimate_body(b"{}")
    assert status == 500 and "boom" not in answer["error"]
    assert any(r.exc_info for r in caplog.records)  # the traceback goes to the log


def test_a_slow_estimate_does_not_hold_other_requests(monkeypatch):
    import threading
    import time

    release = threading.Event()
    original = routes.estimate

    def slow(params):
        release.wait(5.0)  # held until the concurrent GET has been answered
        return original(params)

    monkeypatch.setattr(routes, "estimate", slow)

    async def check(client: TestClient) -> None:
        post = asyncio.ensure_future(client.post("/ltx2eff/estimate", json={}))
        await asyncio.sleep(0.05)
        started = time.monotonic()
        response = await client.get("/ltx2eff/presets")
        assert response.status == 200
        assert time.monotonic() - started < 2.0 and not post.done()
        release.set()
        assert (await post).status == 200

    with_client(check)
