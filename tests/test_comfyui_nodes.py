"""The node classes without ComfyUI: input definitions, tooltips, validation errors."""

from __future__ import annotations

import pytest

from ltx2_efficient import _core
from ltx2_efficient.hosts.comfyui import node_ids
from ltx2_efficient.hosts.comfyui.knob_inputs import input_name, mode_input_name, settings_from_inputs
from ltx2_efficient.hosts.comfyui.node_model_patch import PATCH_KNOBS
from ltx2_efficient.hosts.comfyui.node_video_sampler import SAMPLER_KNOBS
from ltx2_efficient.hosts.comfyui.registry import node_mappings

KNOWN_TYPES = {
    "INT", "FLOAT", "COMBO", "NOISE", "GUIDER", "SAMPLER", "SIGMAS", "LATENT", "MODEL", "VAE",
    "LATENT_UPSCALE_MODEL", "LTX2_THERMAL_GUARD", "STRING",
}  # fmt: skip
ROWS = {row["name"]: row for row in _core.knob_table()}


def _nodes():
    classes, names = node_mappings()
    return classes, names


def test_registry_lists_every_node_under_its_id_and_display_name():
    classes, names = _nodes()
    assert names == node_ids.DISPLAY_NAMES
    for key, node in classes.items():
        schema = node.GET_SCHEMA()
        assert schema.node_id == key and schema.category == "LTX2 Efficient"
        assert isinstance(schema.description, str) and len(schema.description) > 40
        assert all(o.tooltip for o in schema.outputs)


@pytest.mark.parametrize("name", sorted(node_ids.DISPLAY_NAMES))
def test_input_types_are_well_formed_with_a_tooltip_each(name):
    node = _nodes()[0][name]
    spec = node.GET_NODE_INFO_V1()["input"]
    assert set(spec) <= {"required", "optional", "hidden"}
    # ComfyUI's own hidden inputs (an output node's prompt and workflow) carry no options.
    assert set(spec.get("hidden", {})) <= {"prompt", "extra_pnginfo"}
    for section in (spec[key] for key in ("required", "optional") if key in spec):
        for input_id, definition in section.items():
            kind, options = definition
            assert isinstance(options.get("tooltip"), str) and len(options["tooltip"]) > 10, input_id
            assert kind in KNOWN_TYPES, (input_id, kind)
            if kind == "COMBO":
                assert options["default"] in options["options"], input_id
            if kind in ("INT", "FLOAT"):
                assert options["min"] <= options["default"] <= options["max"], input_id


@pytest.mark.parametrize(
    ("name", "knobs"), [(node_ids.SAMPLER, SAMPLER_KNOBS), (node_ids.MODEL_PATCH, PATCH_KNOBS)]
)
def test_knob_inputs_are_the_tables_rows_without_sentinels(name, knobs):
    required = _nodes()[0][name].GET_NODE_INFO_V1()["input"]["required"]
    assert required["preset"][1]["options"] == list(_core.preset_names())
    for knob in knobs:
        row = ROWS[knob]
        kind, options = required[input_name(knob)]
        assert options["advanced"] is True
        if row["type"] in ("int", "float"):
            # The widget spans exactly the knob's range: min + k*step reaches every value.
            assert (kind, options["min"], options["max"]) == (row["type"].upper(), row["min"], row["max"])
            assert options["default"] == row["presets"]["balanced"]
            assert required[mode_input_name(knob)][1]["options"] == ["preset", "custom"]
            assert required[mode_input_name(knob)][1]["default"] == "preset"
        else:
            assert options["options"][0] == "preset" and options["default"] == "preset"
            assert mode_input_name(knob) not in required


def _defaults(name: str) -> dict[str, object]:
    required = _nodes()[0][name].GET_NODE_INFO_V1()["input"]["required"]
    return {key: options.get("default") for key, (_, options) in required.items()}


def test_the_defaults_take_the_preset_values():
    values = _defaults(node_ids.SAMPLER)
    settings = settings_from_inputs("fast", SAMPLER_KNOBS, values)
    preset = _core.resolve_preset("fast")
    assert settings.to_dict() == {"preset": "fast", **preset.to_dict()}
    assert settings.overrides == ()


def test_custom_knobs_override_the_preset():
    values = _defaults(node_ids.SAMPLER) | {
        "frame_stride_mode": "custom",
        "frame_stride": 3,
        "attention_window_mode": "custom",
        "attention_window": -1,
        "activation_budget_mb_mode": "custom",
        "activation_budget_mb": 0,
        "anchor_frame": "off",
        "precision": "fp32",
        "interpolation": "slerp",
    }
    settings = settings_from_inputs("laptop", SAMPLER_KNOBS, values)
    assert settings.frame_stride == 3
    assert not settings.window_enabled
    assert settings.activation_budget_mb == 0  # laptop's 2048 replaced by "unbounded"
    assert settings.anchor_frame is False
    assert settings.precision == "fp32" and settings.interpolation == "slerp"
    # a value in the widget but the mode at "preset": the preset's value
    values["frame_stride_mode"] = "preset"
    assert settings_from_inputs("laptop", SAMPLER_KNOBS, values).frame_stride == 1


@pytest.mark.parametrize(
    ("knobs", "message"),
    [
        (
            {"attention_window_mode": "custom", "attention_window": 300},
            "attention_window must be an integer in",
        ),
        ({"reuse_start_mode": "custom", "reuse_start": -0.5}, "reuse_start must be a number in [0, 1]"),
        ({"refine_strength_mode": "custom", "refine_strength": 1.5}, "refine_strength must be"),
        ({"frame_stride_mode": "custom", "frame_stride": 40}, "frame_stride must be an integer in [1, 16]"),
        ({"frame_stride_mode": "custom", "frame_stride": None}, "frame_stride needs a value"),
        ({"frame_stride_mode": "sometimes"}, "frame_stride_mode must be one of preset custom"),
        ({"precision": "fp4"}, "precision must be one of"),
        ({"anchor_frame": "maybe"}, "anchor_frame must be one of preset on off"),
    ],
)
def test_bad_values_raise_naming_the_node_input(knobs, message):
    with pytest.raises(ValueError) as info:
        settings_from_inputs("balanced", SAMPLER_KNOBS, knobs)
    assert str(info.value).startswith(message)


def test_unknown_preset_is_rejected():
    with pytest.raises(ValueError, match="preset must be one of"):
        settings_from_inputs("turbo", SAMPLER_KNOBS, {})


def test_model_patch_rejects_a_non_ltx_model_naming_its_class():
    torch = pytest.importorskip("torch")

    class SDXL(torch.nn.Module):
        pass

    class UNetModel(torch.nn.Module):
        pass

    base = SDXL()
    base.diffusion_model = UNetModel()
    patcher = type("ModelPatcher", (), {"model": base})()
    node = _nodes()[0]["LTX2EfficientModelPatch"]
    with pytest.raises(ValueError, match="SDXL with diffusion model UNetModel"):
        node.execute(patcher, "balanced")


def test_latent_interpolate_checks_the_keyframe_count():
    torch = pytest.importorskip("torch")
    node = _nodes()[0]["LTX2LatentInterpolate"]
    keyframes = torch.zeros(1, 4, 3, 2, 2)
    with pytest.raises(ValueError, match="samples has 3 latent frames, but frames=97"):
        node.execute({"samples": keyframes}, 97, 2, "lerp")
    with pytest.raises(ValueError, match=r"frame_stride must be an integer in \[1, 16\]"):
        node.execute({"samples": keyframes}, 97, 0, "lerp")
    with pytest.raises(ValueError, match="temporal_upsampler and vae"):
        node.execute({"samples": keyframes}, 17, 1, "upsampler")


def test_latent_interpolate_expands_and_carries_the_keyframe_mask():
    torch = pytest.importorskip("torch")
    node = _nodes()[0]["LTX2LatentInterpolate"]
    keyframes = torch.randn(1, 4, 3, 2, 2, generator=torch.Generator().manual_seed(0))
    mask = torch.ones(1, 1, 3, 1, 1)
    mask[:, :, 0] = 0.0
    (out,) = node.execute({"samples": keyframes, "noise_mask": mask}, 33, 2, "slerp")  # 5 latent frames
    assert out["samples"].shape == (1, 4, 5, 2, 2)
    assert torch.equal(out["samples"][:, :, 4], keyframes[:, :, 2])
    assert out["noise_mask"][0, 0, :, 0, 0].tolist() == [0.0, 1.0, 1.0, 1.0, 1.0]


def test_refine_sigmas_follow_the_schedule_tail():
    torch = pytest.importorskip("torch")
    from ltx2_efficient.hosts.comfyui.refine_schedule import refine_sigmas

    schedule = torch.tensor([1.0, 0.9, 0.7, 0.5, 0.3, 0.1, 0.0])
    tail = refine_sigmas(schedule, 3, 0.5)
    assert tail.tolist() == pytest.approx([0.5, 0.3, 0.1, 0.0])
    tail = refine_sigmas(schedule, 2, 0.6)
    assert tail[0] == pytest.approx(0.6) and tail[-1] == 0.0 and len(tail) == 3
    assert all(a > b for a, b in zip(tail.tolist(), tail.tolist()[1:], strict=False))
    with pytest.raises(ValueError, match="refine_strength"):
        refine_sigmas(schedule, 2, 0.0)
    with pytest.raises(ValueError, match="refine_steps"):
        refine_sigmas(schedule, 0, 0.5)
