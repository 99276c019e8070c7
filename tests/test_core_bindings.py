"""The nanobind module exposes the C++ core with typed signatures and C++ error messages."""

from __future__ import annotations

import json

import pytest

import ltx2_efficient as le
from ltx2_efficient import _core


@pytest.mark.parametrize(
    ("width", "height", "frames", "grid", "tokens"),
    [
        (896, 512, 97, (13, 16, 28), 5824),
        (1280, 704, 121, (16, 22, 40), 14080),
        (1920, 1088, 121, (16, 34, 60), 32640),
    ],
)
def test_reference_sizes(width, height, frames, grid, tokens):
    latent = le.latent_from_pixels(le.PixelShape(width, height, frames, 24.0))
    assert tuple(latent) == grid
    assert latent.tokens == tokens


def test_errors_carry_cpp_message_and_are_value_errors():
    with pytest.raises(le.InvalidArgument, match=r"^width must be a multiple of 32") as info:
        le.latent_from_pixels(le.PixelShape(1000, 704, 121, 24.0))
    assert isinstance(info.value, ValueError)
    with pytest.raises(ValueError, match=r"frames must be 8k\+1"):
        le.latent_from_pixels(le.PixelShape(1280, 704, 120, 24.0))
    with pytest.raises(ValueError, match=r"preset must be one of off quality balanced fast laptop"):
        le.resolve_preset("turbo")
    with pytest.raises(ValueError, match=r"frame_stride must be an integer in \[1, 16\], got 0"):
        le.make_keyframe_plan(16, 0)


def test_keyframe_plan_mapping():
    plan = le.make_keyframe_plan(16, 4, 24.0, pinned=[5])
    assert plan.diffused == [0, 4, 5, 8, 12, 15]
    assert plan.effective_fps == 6.0
    src = plan.map[2]
    assert (src.left, src.right, src.t) == (0, 1, 0.5)
    assert le.make_keyframe_plan(16, 1).is_identity


def test_window_plan_pairs():
    plan = le.WindowPlan(le.LatentShape(16, 22, 40), 0, le.WindowSpec(1, False, 0))
    assert plan.pairs().total_fraction == pytest.approx(3 / 16)
    assert not plan.is_dense
    dense = le.WindowPlan(le.LatentShape(16, 22, 40), 0, le.WindowSpec(15, True, 4))
    assert dense.is_dense
    near = plan.frame(0).near
    assert (near.begin, near.end) == (0, 3)


def test_plan_to_json_round_trips():
    knobs = le.resolve_preset("off")
    knobs.frame_stride = 4
    knobs.window = 1
    knobs.refine_steps = 2
    knobs.refine_strength = 0.3
    plan = le.make_plan(le.PixelShape(1280, 704, 121, 24.0), knobs, le.SamplingSpec(steps=20))
    data = json.loads(plan.to_json("custom"))
    assert data["latent"]["tokens"] == 14080
    assert data["keyframes"]["diffused_latent_frames"] == 5
    assert data["sampling"]["steps"] == 20
    assert data["predicted_speedup"] == pytest.approx(plan.predicted_speedup)
    assert data["predicted_speedup"] > 2
    measured = le.make_plan(
        le.PixelShape(1280, 704, 121, 24.0), le.resolve_preset("fast"), le.SamplingSpec(reused_steps=0)
    )
    assert measured.reused_steps == 0 and measured.predicted_speedup == pytest.approx(1.0)


def test_knobs_roundtrip_and_validation():
    k = le.Knobs()
    k.window = 2
    k.anchor_frame = True
    k.far_field = 4
    assert k.attention.window == 2
    k.validate()
    with pytest.raises(ValueError, match=r"^reuse_start must be a number in \[0, 1\], got 2"):
        k.reuse_start = 2.0  # every attribute is checked against its knob-table row
    assert k.reuse_start == 1.0
    for name, value in (
        ("window", 2**31),
        ("frame_stride", 2**63),
        ("window", 1e20),
        ("reuse_start", 10**1000),
    ):
        with pytest.raises(ValueError, match=rf"^{name} must be an? (integer|number) in \["):
            setattr(k, name, value)
    k.precision = "bf16"
    assert k.to_dict()["precision"] == "bf16" and k.to_dict()["window"] == 2


def test_version_and_build_flags():
    assert le.__version__ == le.build_info()["version"]
    assert isinstance(_core.built_with_cuda, bool)


def _allowed(knob: str) -> str:
    return next(row["allowed"] for row in _core.knob_table() if row["name"] == knob)


def test_cost_model_inputs_are_checked_by_their_knob_rows():
    grid = _core.LatentShape(4, 8, 8)
    window = _core.WindowPlan(grid, 0, _core.WindowSpec(1, False, 0))
    dense = _core.WindowPlan(grid, 0, _core.WindowSpec())
    too_many = _core.MAX_DENSE_BLOCKS + 1
    for first, last, name in ((too_many, 0, "dense_first_blocks"), (0, -1, "dense_last_blocks")):
        bad = first if name == "dense_first_blocks" else last
        with pytest.raises(ValueError) as info:
            _core.blended_call_cost(_core.ModelDims(), window, dense, first, last)
        assert str(info.value) == f"{name} must be {_allowed(name)}, got {bad}"
    with pytest.raises(ValueError) as info:
        _core.model_call_cost(_core.ModelDims(), dense, activation_budget_mb=-1)
    assert str(info.value) == f"activation_budget_mb must be {_allowed('activation_budget_mb')}, got -1"
    with pytest.raises(ValueError) as info:
        _core.reuse_forecast(30, 1.5, 2)
    assert str(info.value) == f"reuse_start must be {_allowed('reuse_start')}, got 1.5"
    with pytest.raises(ValueError) as info:
        _core.reuse_forecast(30, 0.3, 99)
    assert str(info.value) == f"max_consecutive_reuse must be {_allowed('max_consecutive_reuse')}, got 99"


def test_sampling_limits_are_bound_with_their_check():
    assert (_core.MAX_STEPS, _core.MAX_CALLS_PER_STEP, _core.MAX_BATCH) == (10000, 8, 4096)
    assert _core.check_sampling("steps", _core.MAX_STEPS) == _core.MAX_STEPS
    assert _core.check_sampling("batch", 2.0) == 2  # JSON numbers may arrive as floats
    pixels = le.PixelShape(768, 512, 97, 24.0)
    for name, top in (
        ("steps", _core.MAX_STEPS),
        ("calls_per_step", _core.MAX_CALLS_PER_STEP),
        ("batch", _core.MAX_BATCH),
    ):
        with pytest.raises(ValueError, match=rf"^{name} must be in \[1, {top}\], got {top + 1}$"):
            _core.check_sampling(name, top + 1)
        with pytest.raises(ValueError, match=rf"^{name} must be in \[1, {top}\], got {top + 1}$"):
            le.make_plan(pixels, le.resolve_preset("off"), le.SamplingSpec(**{name: top + 1}))
        for bad, shown in (
            (2.5, "2.5"),
            ("2", "'2'"),
            (True, "True"),
            (2**70, "an integer of more than 63 bits"),
        ):
            with pytest.raises(ValueError) as info:
                _core.check_sampling(name, bad)
            assert str(info.value) == f"{name} must be an integer in [1, {top}], got {shown}"
    with pytest.raises(ValueError, match="^sampling has no parameter 'colour'"):
        _core.check_sampling("colour", 1)
    spec = le.SamplingSpec(steps=0)
    with pytest.raises(ValueError, match=r"^steps must be in \[1, 10000\], got 0$"):
        spec.validate()
