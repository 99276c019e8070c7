"""EfficientSettings: presets, overrides and validation."""

from __future__ import annotations

import pytest

from ltx2_efficient import _core
from ltx2_efficient.sampler.settings import ALIASES, FIELDS, EfficientSettings


def test_presets_resolve_to_the_core_values():
    for name in _core.preset_names():
        settings = EfficientSettings.from_preset(name)
        knobs = _core.resolve_preset(name)
        assert settings.preset == name
        assert settings.frame_stride == knobs.frame_stride
        assert settings.window == knobs.window
        assert settings.reuse_start == pytest.approx(knobs.reuse_start)
        assert settings.interpolation == knobs.interpolation
        assert settings.overrides == ()


def test_off_is_the_dense_baseline():
    off = EfficientSettings.off()
    assert not off.window_enabled
    assert not off.reuse_enabled
    assert not off.keyframes_enabled
    assert off.describe().startswith("off: every frame; dense attention; no step reuse")


def test_overrides_apply_and_are_logged():
    s = EfficientSettings.from_preset(
        "balanced", window=1, freeze_ratio=0.4, interpolation="slerp", precision="bf16", frame_stride=3
    )
    assert (s.window, s.reuse_start, s.interpolation, s.precision, s.frame_stride) == (
        1,
        0.4,
        "slerp",
        "bf16",
        3,
    )
    assert s.overrides == ("window", "reuse_start", "interpolation", "precision", "frame_stride")
    text = s.describe()
    assert "balanced + window, reuse_start" in text
    assert "stride 3 (slerp" in text and "window K=1" in text and "precision bf16" in text
    # None keeps the preset's value (what optional node inputs send)
    assert EfficientSettings.from_preset("fast", window=None).window == _core.resolve_preset("fast").window
    assert s.with_overrides(window=-1).window_enabled is False
    assert (
        "precision bf16 (unused: it applies to windowed attention only)"
        in s.with_overrides(window=-1).describe()
    )
    assert "(unused" not in text
    assert s.window == 1  # the original is unchanged


def test_knobs_are_a_copy():
    s = EfficientSettings.from_preset("fast")
    k = s.knobs
    k.window = 9
    assert s.window == _core.resolve_preset("fast").window
    again = EfficientSettings.from_knobs(k, preset="tuned")
    assert again.window == 9 and again.preset == "tuned"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"window": -7}, "window must be an integer in [-1, 256], got -7"),
        ({"frame_stride": 0}, "frame_stride must be an integer in [1, 16], got 0"),
        ({"reuse_start": 1.5}, "reuse_start must be a number in [0, 1], got 1.5"),
        ({"max_consecutive_reuse": 99}, "max_consecutive_reuse must be an integer in [0, 8], got 99"),
        ({"refine_strength": -0.1}, "refine_strength must be a number in [0, 1], got -0.1"),
        ({"activation_budget_mb": -1}, "activation_budget_mb must be an integer in [0, 1048576], got -1"),
        ({"interpolation": "cubic"}, "interpolation must be one of lerp slerp motion upsampler, got 'cubic'"),
        ({"precision": "int4"}, "precision must be one of auto bf16 fp16 fp32 fp8-far-field"),
        ({"window": "2"}, "window must be an integer in [-1, 256], got '2'"),
        ({"anchor_frame": 1}, "anchor_frame must be true or false, got 1"),
        ({"frame_stride": 2.5}, "frame_stride must be an integer in [1, 16], got 2.5"),
        ({"colour": 3}, "unknown setting 'colour'"),
        # Python numbers of any size get the knob's range, never a binding TypeError (issue 20.4).
        ({"window": 2**31}, "window must be an integer in [-1, 256], got 2147483648"),
        (
            {"frame_stride": 2**63},
            "frame_stride must be an integer in [1, 16], got an integer of more than 63 bits",
        ),
        ({"window": 1e20}, "window must be an integer in [-1, 256], got 1e+20"),
        (
            {"reuse_start": 10**1000},
            "reuse_start must be a number in [0, 1], got an integer of more than 63 bits",
        ),
        (
            {"reuse_start": -(10**1000)},
            "reuse_start must be a number in [0, 1], got a negative integer of more than",
        ),
        ({"reuse_threshold": float("nan")}, "reuse_threshold must be a number in [0, 10], got nan"),
        ({"activation_budget_mb": True}, "activation_budget_mb must be an integer in [0, 1048576], got True"),
        ({"interpolation": 2}, "interpolation must be one of lerp slerp motion upsampler, got 2"),
        (
            {"precision": "x" * 500},
            "precision must be one of auto bf16 fp16 fp32 fp8-far-field, got '" + "x" * 79 + "...",
        ),
    ],
)
def test_bad_settings_raise_value_error_naming_the_parameter(overrides, message):
    with pytest.raises(ValueError) as info:
        EfficientSettings.from_preset("balanced", **overrides)
    assert message in str(info.value)


def test_bad_preset_and_knobs():
    with pytest.raises(
        ValueError, match="preset must be one of off quality balanced fast laptop, got 'turbo'"
    ):
        EfficientSettings.from_preset("turbo")
    with pytest.raises(ValueError, match="knobs must be an ltx2_efficient.Knobs"):
        EfficientSettings.from_knobs({"window": 2})  # type: ignore[arg-type]
    bad = _core.resolve_preset("balanced")
    bad.frame_stride = 2
    bad.refine_steps = 3
    bad.refine_strength = 0.0  # refine steps need a strength
    with pytest.raises(ValueError, match="refine_strength must be in \\(0, 1\\] when refine_steps > 0"):
        EfficientSettings.from_knobs(bad)


def test_to_dict_lists_every_field():
    d = EfficientSettings.from_preset("laptop").to_dict()
    assert d["preset"] == "laptop"
    assert set(FIELDS) <= set(d)
    assert d["activation_budget_mb"] == 2048 and d["thermal_guard"] is True


def test_fields_and_aliases_are_the_core_tables():
    rows = _core.knob_table()
    assert list(FIELDS) == [row["name"] for row in rows]
    assert ALIASES == {"attention_window": "window", "freeze_ratio": "reuse_start"}
    assert EfficientSettings.from_preset("off", attention_window=2).window == 2
    for row in rows:
        for preset in _core.preset_names():
            assert getattr(EfficientSettings.from_preset(preset), row["name"]) == row["presets"][preset]


# Step ranges must not end before they start: a bound of one end goes with the other end there.
_RANGE_PARTNER = {
    "window_start": "window_end",
    "window_end": "window_start",
    "keyframe_start": "keyframe_end",
    "keyframe_end": "keyframe_start",
}


def test_every_value_in_range_is_accepted_at_the_bounds():
    for row in _core.knob_table():
        if row["type"] in ("int", "float"):
            for value in (row["min"], row["max"]):
                partner = _RANGE_PARTNER.get(row["name"])
                extra = {partner: value} if partner else {}
                s = EfficientSettings.from_preset("off", **{row["name"]: value, **extra})
                assert getattr(s, row["name"]) == value
        elif row["type"] == "choice":
            for value in row["choices"]:
                assert (
                    getattr(EfficientSettings.from_preset("off", **{row["name"]: value}), row["name"])
                    == value
                )
