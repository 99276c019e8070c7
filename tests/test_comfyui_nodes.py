"""The node classes without ComfyUI: input definitions, tooltips, validation errors."""

from __future__ import annotations

import pytest

from ltx2_efficient import _core
from ltx2_efficient.hosts.comfyui.knob_inputs import PRESET_SENTINELS, settings_from_inputs
from ltx2_efficient.hosts.comfyui.registry import node_mappings

KNOWN_TYPES = {
    "INT", "FLOAT", "NOISE", "GUIDER", "SAMPLER", "SIGMAS", "LATENT", "MODEL", "VAE",
    "LATENT_UPSCALE_MODEL", "LTX2_THERMAL_GUARD",
}  # fmt: skip


def _nodes():
    classes, names = node_mappings()
    return classes, names


OURS = {
    "LTX2EfficientVideoSampler": "LTX2 Efficient Video Sampler",
    "LTX2EfficientModelPatch": "LTX2 Efficient Model Patch",
    "LTX2LatentInterpolate": "LTX2 Latent Interpolate",
}


def test_registry_lists_the_sampler_nodes_with_display_names():
    classes, names = _nodes()
    assert {key: names.get(key) for key in OURS} == OURS
    for key in OURS:
        node = classes[key]
        assert node.CATEGORY == "LTX2 Efficient"
        assert isinstance(node.DESCRIPTION, str) and len(node.DESCRIPTION) > 40
        assert len(node.OUTPUT_TOOLTIPS) == len(node.RETURN_TYPES) == len(node.RETURN_NAMES)
        assert callable(getattr(node, node.FUNCTION))


@pytest.mark.parametrize("name", sorted(OURS))
def test_input_types_are_well_formed_with_a_tooltip_each(name):
    node = _nodes()[0][name]
    spec = node.INPUT_TYPES()
    assert set(spec) <= {"required", "optional"}
    for section in spec.values():
        for input_name, definition in section.items():
            kind, options = definition
            assert isinstance(options.get("tooltip"), str) and len(options["tooltip"]) > 10, input_name
            if isinstance(kind, list):
                assert options["default"] in kind, input_name
            else:
                assert kind in KNOWN_TYPES, (input_name, kind)
            if kind in ("INT", "FLOAT"):
                assert options["min"] <= options["default"] <= options["max"], input_name


def test_every_knob_defaults_to_its_preset_sentinel():
    node = _nodes()[0]["LTX2EfficientVideoSampler"]
    required = node.INPUT_TYPES()["required"]
    for knob, sentinel in PRESET_SENTINELS.items():
        assert required[knob][1]["default"] == sentinel, knob
    assert required["preset"][0] == list(_core.preset_names())


def test_sentinels_take_the_preset_values():
    settings = settings_from_inputs("fast", **PRESET_SENTINELS)
    preset = _core.resolve_preset("fast")
    assert settings.frame_stride == preset.frame_stride
    assert settings.window == preset.window
    assert settings.reuse_start == pytest.approx(preset.reuse_start)
    assert settings.overrides == ()


def test_knobs_override_the_preset():
    settings = settings_from_inputs(
        "balanced",
        frame_stride=3,
        attention_window=-1,
        anchor_frame="off",
        precision="fp32",
        interpolation="slerp",
    )
    assert settings.frame_stride == 3
    assert not settings.window_enabled
    assert settings.anchor_frame is False
    assert settings.precision == "fp32" and settings.interpolation == "slerp"


@pytest.mark.parametrize(
    ("knobs", "name"),
    [
        ({"attention_window": 300}, "attention_window"),
        ({"reuse_start": -0.5}, "reuse_start"),
        ({"refine_strength": 1.5}, "refine_strength"),
        ({"frame_stride": 40}, "frame_stride"),
        ({"precision": "fp4"}, "precision"),
        ({"anchor_frame": "maybe"}, "anchor_frame"),
    ],
)
def test_bad_values_raise_naming_the_node_input(knobs, name):
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        settings_from_inputs("balanced", **knobs)


def test_unknown_preset_is_rejected():
    with pytest.raises(ValueError, match="preset must be one of"):
        settings_from_inputs("turbo")


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
        node().patch(patcher, "balanced")


def test_latent_interpolate_checks_the_keyframe_count():
    torch = pytest.importorskip("torch")
    node = _nodes()[0]["LTX2LatentInterpolate"]()
    keyframes = torch.zeros(1, 4, 3, 2, 2)
    with pytest.raises(ValueError, match="samples has 3 latent frames, but frames=97"):
        node.interpolate({"samples": keyframes}, 97, 2, "lerp")
    with pytest.raises(ValueError, match="frame_stride must be in"):
        node.interpolate({"samples": keyframes}, 97, 0, "lerp")
    with pytest.raises(ValueError, match="temporal_upsampler and vae"):
        node.interpolate({"samples": keyframes}, 17, 1, "upsampler")


def test_latent_interpolate_expands_and_carries_the_keyframe_mask():
    torch = pytest.importorskip("torch")
    node = _nodes()[0]["LTX2LatentInterpolate"]()
    keyframes = torch.randn(1, 4, 3, 2, 2, generator=torch.Generator().manual_seed(0))
    mask = torch.ones(1, 1, 3, 1, 1)
    mask[:, :, 0] = 0.0
    (out,) = node.interpolate({"samples": keyframes, "noise_mask": mask}, 33, 2, "slerp")  # 5 latent frames
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
