"""The core's per-step schedule through the bindings and EfficientSettings."""

from __future__ import annotations

import pytest

import ltx2_efficient as core
from ltx2_efficient import _core
from ltx2_efficient.sampler.settings import EfficientSettings, regime_for


def test_settings_expose_the_step_ranges_and_schedule() -> None:
    s = EfficientSettings.from_preset(
        "off", window=2, anchor_frame=True, window_start=0.5, dense_first_blocks=1, dense_last_blocks=1
    )
    assert (s.window_start, s.window_end, s.dense_first_blocks, s.dense_last_blocks) == (0.5, 1.0, 1, 1)
    schedule = s.step_schedule(20)
    assert [schedule.at(i).window for i in range(20)] == [i >= 10 for i in range(20)]
    assert not schedule.keyframed
    assert [schedule.block_windowed(b, 10) for b in range(10)] == [0 < b < 9 for b in range(10)]
    assert "window on steps 11-20 of 20 (blocks 2-9 of 10)" in schedule.summary(10)
    assert "from 50% to 100% of the steps" in s.describe()
    assert s.to_dict()["window_start"] == 0.5


def test_bottleneck_schedule_and_transitions() -> None:
    s = EfficientSettings.from_preset(
        "off", frame_stride=2, keyframe_mode="bottleneck", keyframe_start=0.2, keyframe_end=0.8
    )
    assert s.keyframe_mode == "bottleneck"
    schedule = s.step_schedule(10)
    assert (schedule.restrict_before, schedule.expand_before) == (2, 8)
    assert [schedule.at(i).keyframes for i in range(10)] == [2 <= i < 8 for i in range(10)]
    assert "bottleneck from 20% to 80%" in s.describe()
    refine = EfficientSettings.from_preset("off", frame_stride=2, refine_steps=3, refine_strength=0.35)
    rs = refine.step_schedule(10)
    assert (rs.restrict_before, rs.expand_before, rs.refine_steps) == (0, 10, 3)


@pytest.mark.parametrize(
    ("overrides", "name"),
    [
        ({"window_start": 1.5}, "window_start"),
        ({"window_start": 0.8, "window_end": 0.2}, "window_end"),
        ({"keyframe_start": 0.9, "keyframe_end": 0.1}, "keyframe_end"),
        ({"dense_first_blocks": -1}, "dense_first_blocks"),
        ({"keyframe_mode": "middle"}, "keyframe_mode"),
        ({"keyframe_mode": 3}, "keyframe_mode"),
    ],
)
def test_bad_ranges_name_the_parameter(overrides: dict[str, object], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        EfficientSettings.from_preset("off", **overrides)


def test_plan_costs_per_step() -> None:
    knobs = EfficientSettings.from_preset("off", window=1, anchor_frame=True, window_start=0.5).knobs
    plan = core.make_plan(core.PixelShape(1280, 704, 121, 24), knobs, core.SamplingSpec(steps=30))
    assert [c.windowed for c in plan.step_costs] == [i >= 15 for i in range(30)]
    assert sum(c.seconds for c in plan.step_costs) == pytest.approx(plan.keyframe_phase.seconds)
    assert 1.0 < plan.predicted_speedup
    assert "window on steps 16-30 of 30" in plan.summary()
    assert '"schedule"' in plan.to_json()


def test_regime_decided_by_the_core() -> None:
    assert regime_for(8, 1.0) == "distilled"
    assert regime_for(8, 3.0) == "dev"
    assert regime_for(30, 1.0) == "dev"
    s = EfficientSettings.from_preset("balanced", regime="distilled")
    assert s.regime == "distilled"
    assert "(distilled)" in s.describe()
    with pytest.raises(ValueError, match="regime"):
        EfficientSettings.from_preset("balanced", regime="turbo")
    assert _core.DISTILLED_MAX_STEPS == 12


def test_distilled_presets_resolve_to_their_own_reuse_and_keep_a_ladder() -> None:
    """At 8 steps the dev presets' reuse moved the motion (balanced) or tied dense with fewer
    steps (fast); the distilled regime has its own values (docs/PRESETS.md), dev keeps its own."""
    dev = {name: EfficientSettings.from_preset(name) for name in ("quality", "balanced", "fast", "laptop")}
    distilled = {name: s.for_regime("distilled") for name, s in dev.items()}
    assert (dev["balanced"].max_consecutive_reuse, distilled["balanced"].max_consecutive_reuse) == (2, 1)
    assert (distilled["fast"].reuse_threshold, distilled["fast"].max_consecutive_reuse) == (0.2, 3)
    assert distilled["laptop"].max_consecutive_reuse == distilled["balanced"].max_consecutive_reuse
    assert distilled["quality"].to_dict() | {"preset": ""} == dev["quality"].to_dict() | {"preset": ""}
    reused = {
        name: _core.max_reusable_steps(8, s.reuse_start, s.max_consecutive_reuse)
        for name, s in distilled.items()
    }
    assert reused["quality"] <= reused["balanced"] < reused["fast"]
    assert "up to 3 in a row" in _core.describe_preset("fast", "distilled")
