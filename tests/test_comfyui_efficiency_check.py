"""The "LTX2 Efficiency Check" node on the fakes of ComfyUI (tests/comfy_fakes.py, comfy_api_fake.py).

The check samples through the sampler node's own ``sample_efficient`` (the fakes run ComfyUI's
code path), so these tests look at what the check adds: identical outputs for preset off, a lower
PSNR for a lossy setting, the keyframe/interpolated split, one progress bar, the audio metrics of
an LTX-2 latent, cancel leaving the last result untouched, and clear errors for bad inputs.
"""

from __future__ import annotations

import json
import sys

import pytest

torch = pytest.importorskip("torch")

SIGMAS = torch.tensor([1.0, 0.9, 0.75, 0.55, 0.3, 0.1, 0.0])
STEPS = 6
BATCH, FRAMES, HEIGHT, WIDTH = 1, 7, 2, 3
SEED = 7
AUDIO_RATE = 16000


@pytest.fixture
def fakes(monkeypatch, repo_script):
    module = repo_script("tests/comfy_fakes.py", "comfy_fakes_for_check")
    for name, fake in module.host_modules().items():
        monkeypatch.setitem(sys.modules, name, fake)
    import ltx2_efficient.hosts.comfyui.check_results as results

    monkeypatch.setattr(results, "_last", None)
    return module


@pytest.fixture
def node(fakes):
    from ltx2_efficient.hosts.comfyui.node_efficiency_check import LTX2EfficiencyCheck

    return LTX2EfficiencyCheck


class VideoVAE:
    """Decodes [B, 128, F, H, W] to LTX-shaped frames [B, 8 (F-1) + 1, 8H, 8W, 3]."""

    def decode(self, latent):
        rgb = torch.sigmoid(latent[:, :3])  # [B, 3, F, H, W]
        rgb = torch.cat([rgb[:, :, :1], rgb[:, :, 1:].repeat_interleave(8, dim=2)], dim=2)
        rgb = rgb.repeat_interleave(8, dim=3).repeat_interleave(8, dim=4)
        return rgb.permute(0, 2, 3, 4, 1)


class AudioVAE:
    """Decodes [B, 8, T, 16] to a stereo waveform [B, 64 T, 2] (what ComfyUI's audio VAE returns)."""

    first_stage_model = type("Model", (), {"output_sample_rate": AUDIO_RATE})()

    def decode(self, latent):
        b, c, t, m = latent.shape
        wave = torch.tanh(latent.permute(0, 2, 1, 3).reshape(b, t * c * m // 2, 2))
        return wave


def _guider(fakes, model):
    generator = torch.Generator().manual_seed(3)
    positive = [[torch.randn((1, 7, 6), generator=generator), {"frame_rate": 24.0}]]
    negative = [[torch.randn((1, 7, 6), generator=generator), {"frame_rate": 24.0}]]
    guider = fakes.CFGGuider(fakes.make_patcher(model))
    guider.set_conds(positive, negative)
    guider.set_cfg(3.0)
    return guider


def _knobs(node, **overrides):
    """The node's widget defaults (every knob at "preset") plus ``overrides`` (number knobs given
    here are switched to "custom"), as tests/test_comfyui_sampling.py sets them."""
    fixed = {"noise", "guider", "sampler", "sigmas", "latent_image", "preset", "comparison"}
    required = node.INPUT_TYPES()["required"]
    values = {name: spec[1]["default"] for name, spec in required.items() if name not in fixed} | overrides
    for name in overrides:
        if f"{name}_mode" in required:
            values[f"{name}_mode"] = "custom"
    return values


def _check(fakes, node, latent, preset="off", comparison="dense | efficient | difference", model=None, **kw):
    model = model if model is not None else fakes.LTXVModel(seed=1)
    extra = {k: kw.pop(k) for k in ("vae", "audio_vae", "thermal_guard") if k in kw}
    return node.execute(
        fakes.Noise_RandomNoise(SEED), _guider(fakes, model), fakes.sampler_object("euler"), SIGMAS, latent,
        preset, comparison, **extra, **_knobs(node, **kw),
    )  # fmt: skip


def _video_latent():
    return {"samples": torch.zeros((BATCH, 128, FRAMES, HEIGHT, WIDTH))}


def _lossy():
    return {"frame_stride": 2, "attention_window": 1, "interpolation": "lerp", "refine_steps": 2,
            "refine_strength": 0.4}  # fmt: skip


def test_schema_has_the_sampler_inputs_with_the_same_defaults(node):
    from ltx2_efficient.hosts.comfyui.node_video_sampler import LTX2EfficientVideoSampler

    schema = node.define_schema()
    ours = {i.id: i for i in schema.inputs}
    sampler = LTX2EfficientVideoSampler.INPUT_TYPES()
    for name, spec in sampler["required"].items():
        assert name in ours and not ours[name].optional
        if len(spec) > 1 and "default" in spec[1]:
            assert ours[name].default == spec[1]["default"], name
    for name in sampler["optional"]:
        assert ours[name].optional
    assert ours["audio_vae"].optional and schema.is_output_node
    assert [o.id for o in schema.outputs] == ["dense", "efficient", "comparison", "report_json"]


def test_preset_off_reports_identical_outputs(fakes, node):
    from ltx2_efficient.hosts.comfyui.check_results import last_check

    latent = _video_latent()
    base, _ = fakes.sampler_custom_advanced(
        fakes.Noise_RandomNoise(SEED), _guider(fakes, fakes.LTXVModel(seed=1)), fakes.sampler_object("euler"),
        SIGMAS, latent,
    )  # fmt: skip
    out = _check(fakes, node, latent, "off", vae=VideoVAE())
    dense, efficient, image, report_json = out.args
    assert torch.equal(dense["samples"], base["samples"])  # the reference is SamplerCustomAdvanced
    assert torch.equal(efficient["samples"], dense["samples"])
    report = json.loads(report_json)
    assert report["video"]["identical"] and report["video"]["psnr_db"] is None
    assert report["video_latent"]["identical"] and report["video_latent"]["max_abs_diff"] == 0.0
    assert report["video"]["space"] == "pixels" and report["video"]["frames"] == 1 + 8 * (FRAMES - 1)
    assert report["dense"]["model_calls"] == report["efficient"]["model_calls"] == STEPS
    assert report["dense"]["model_s"] > 0 and report["speedup_wall"] > 0
    assert report["dense"]["peak_vram_mb"] is None  # CPU: no CUDA memory to read
    assert "identical to dense in every frame" in out.ui["text"][0]
    # dense | efficient | difference: three panels, the difference black.
    assert image.shape == (1 + 8 * (FRAMES - 1), 8 * HEIGHT, 3 * 8 * WIDTH, 3)
    assert float(image[:, :, 2 * 8 * WIDTH :].abs().max()) == 0.0
    assert last_check() == report


def test_a_lossy_setting_reports_lower_psnr_and_splits_keyframes(fakes, node):
    out = _check(fakes, node, _video_latent(), "off", vae=VideoVAE(), **_lossy())
    report = json.loads(out.args[3])
    video = report["video"]
    assert not video["identical"] and video["psnr_db"] is not None and video["psnr_db"] < 60
    assert video["ssim"] < 1.0 and len(video["ssim_per_frame"]) == video["frames"]
    assert report["keyframes"] == [0, 2, 4, 6]  # stride 2 over 7 latent frames
    assert video["keyframes"]["frames"] == 1 + 8 * 3 and video["interpolated"]["frames"] == 8 * 3
    assert report["efficient"]["model_calls"] == STEPS + 2  # keyframe steps + 2 refine steps
    assert report["video_latent"]["psnr_db"] is not None
    text = out.ui["text"][0]
    assert "PSNR" in text and "keyframes" in text and "interpolated" in text and "window K=1" in text
    assert float(out.args[2][:, :, 2 * 8 * WIDTH :].abs().max()) > 0.0


def test_without_a_vae_the_latents_are_compared_and_noted(fakes, node):
    out = _check(fakes, node, _video_latent(), "off", comparison="dense | efficient", attention_window=1)
    report = json.loads(out.args[3])
    assert report["video"] is None and report["video_latent"]["space"] == "latent"
    assert report["video_latent"]["ssim"] is None  # 2x3 latent frames are smaller than the SSIM window
    assert any("no VAE" in note for note in report["notes"])
    assert out.args[2].shape == (FRAMES, HEIGHT, 2 * WIDTH, 3)  # latent preview, two panels
    assert report["comparison"]["source"] == "latent preview"


def test_one_progress_bar_runs_through_both_runs(fakes, node):
    start = len(fakes.progress_bars)
    _check(fakes, node, _video_latent(), "off", **_lossy())
    (bar,) = fakes.progress_bars[start:]
    values = [value for value, _, _ in bar.updates]
    dense_units, efficient_units = STEPS, STEPS + 1 + 2
    assert bar.total == dense_units + efficient_units
    assert values == sorted(values) and values[-1] == bar.total
    assert values[STEPS - 1] == dense_units  # the dense run fills its share first


def test_ltx2_audio_video_latent_reports_audio_metrics(fakes, node):
    video = torch.zeros((BATCH, 128, FRAMES, HEIGHT, WIDTH))
    audio = torch.zeros((BATCH, 8, 9, 16))
    latent = {"samples": fakes.NestedTensor((video, audio))}
    model = fakes.LTXAVModel(seed=2)
    same = json.loads(_check(fakes, node, latent, "off", model=model, audio_vae=AudioVAE()).args[3])
    assert same["audio"]["space"] == "waveform" and same["audio"]["identical"]
    assert same["audio"]["log_mel_distance_db"] == 0.0 and same["audio"]["rms_ratio"] == pytest.approx(1.0)
    lossy = json.loads(
        _check(fakes, node, latent, "off", model=model, audio_vae=AudioVAE(), **_lossy()).args[3]
    )
    assert lossy["audio"]["log_mel_distance_db"] > 0.0 and lossy["audio"]["sample_rate"] == AUDIO_RATE
    latent_only = json.loads(_check(fakes, node, latent, "off", model=model, **_lossy()).args[3])
    assert latent_only["audio"]["space"] == "latent" and latent_only["audio"]["relative_error"] > 0.0
    assert any("no audio VAE" in note for note in latent_only["notes"])


@pytest.mark.parametrize("cancel_in", ["dense", "efficient"])
def test_a_cancelled_check_leaves_the_last_result_untouched(fakes, node, cancel_in):
    from ltx2_efficient.hosts.comfyui.check_results import last_check

    first = json.loads(_check(fakes, node, _video_latent(), "off").args[3])
    steps_before_cancel = 2 if cancel_in == "dense" else STEPS + 2

    class CancellingGuard:
        steps = 0

        def between_steps(self):
            self.steps += 1
            if self.steps == steps_before_cancel:
                fakes.interrupt_current_processing(True)

        def finish(self):
            pass

    with pytest.raises(fakes.InterruptProcessingException):
        _check(fakes, node, _video_latent(), "off", thermal_guard=CancellingGuard(), **_lossy())
    assert last_check() == first  # nothing of the cancelled check was published


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"preset": "turbo"}, "preset must be one of"),
        ({"frame_stride": 99}, "frame_stride"),
        ({"comparison": "mosaic"}, "comparison must be one of"),
        ({"audio_vae": AudioVAE()}, "audio_vae is connected but latent_image has no audio"),
        ({"vae": object()}, "vae must be a VAE"),
    ],
)
def test_bad_inputs_give_clear_errors(fakes, node, change, message):
    from ltx2_efficient.hosts.comfyui.check_results import last_check

    preset = change.pop("preset", "off")
    comparison = change.pop("comparison", "dense | efficient | difference")
    with pytest.raises(ValueError, match=message):
        _check(fakes, node, _video_latent(), preset, comparison, **change)
    assert last_check() is None


def test_a_vae_that_cannot_decode_the_video_keeps_both_runs_and_says_why(fakes, node):
    class ImageVAE:
        def decode(self, latent):
            return torch.zeros((1, 8, 8, 3))[None, None]  # not frames of this latent

    out = _check(fakes, node, _video_latent(), "off", vae=ImageVAE())
    report = json.loads(out.args[3])
    assert report["video"] is None and out.args[0]["samples"].shape == (BATCH, 128, FRAMES, HEIGHT, WIDTH)
    assert any(note.startswith("video not decoded: vae:") for note in report["notes"])


def test_bad_sigmas_and_latent_are_named(fakes, node):
    from ltx2_efficient.hosts.comfyui.efficiency_check import run_check
    from ltx2_efficient.sampler.settings import EfficientSettings

    guider = _guider(fakes, fakes.LTXVModel(seed=1))
    args = (fakes.Noise_RandomNoise(SEED), guider, fakes.sampler_object("euler"))
    with pytest.raises(ValueError, match="sigmas must be a 1-D"):
        run_check(*args, torch.tensor([1.0]), _video_latent(), EfficientSettings.off())
    with pytest.raises(ValueError, match="latent_image must be a LATENT"):
        run_check(*args, SIGMAS, torch.zeros(1), EfficientSettings.off())


def test_registered_next_to_the_sampler(fakes):
    from ltx2_efficient.hosts.comfyui.registry import node_mappings

    classes, names = node_mappings()
    assert names["LTX2EfficiencyCheck"] == "LTX2 Efficiency Check"
    assert classes["LTX2EfficiencyCheck"].define_schema().node_id == "LTX2EfficiencyCheck"


def test_the_last_check_route_serves_the_last_finished_report(fakes, node):
    import asyncio

    from ltx2_efficient.hosts.comfyui.routes import make_handlers

    method, handler = make_handlers()["/ltx2eff/last_check"]
    assert method == "GET"

    def served():
        return json.loads(asyncio.run(handler(None)).text)

    assert served() == {"available": False}
    report = json.loads(_check(fakes, node, _video_latent(), "off", attention_window=1).args[3])
    assert served() == {"available": True, "report": report}
