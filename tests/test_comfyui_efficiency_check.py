"""The "LTX2 Efficiency Check" node on the fakes of ComfyUI (tests/comfy_fakes.py, comfy_api_fake.py).

The check samples through the sampler node's own ``sample_efficient`` (the fakes run ComfyUI's
code path), so these tests look at what the check adds: identical outputs for preset off, a lower
PSNR for a lossy setting, the keyframe/interpolated split, one progress bar, the audio metrics of
an LTX-2 latent, the untimed warm-up, the sweep against one dense run within its time budget,
cancel leaving the last result untouched, and clear errors for bad inputs.
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
    assert [o.id for o in schema.outputs] == [
        "dense",
        "efficient",
        "comparison",
        "report_json",
        "pareto_table",
    ]
    # Saved workflows store widget values by position: the sweep inputs come after all others.
    assert [i.id for i in schema.inputs][-3:] == ["temporal_upsampler", "sweep", "time_budget_s"]
    assert ours["sweep"].optional and ours["sweep"].get_io_type() == "STRING"
    assert ours["time_budget_s"].optional and ours["time_budget_s"].default > 0


def test_preset_off_reports_identical_outputs(fakes, node):
    from ltx2_efficient.hosts.comfyui.check_results import last_check

    latent = _video_latent()
    base, _ = fakes.sampler_custom_advanced(
        fakes.Noise_RandomNoise(SEED), _guider(fakes, fakes.LTXVModel(seed=1)), fakes.sampler_object("euler"),
        SIGMAS, latent,
    )  # fmt: skip
    out = _check(fakes, node, latent, "off", vae=VideoVAE())
    dense, efficient, image, report_json, table = out.args
    assert table == ""  # no sweep
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
        ({"sweep": "turbo"}, "sweep takes preset names from"),
        ({"sweep": "fast, fast"}, "sweep names 'fast' twice"),
        ({"sweep": "fast frame_stride=two"}, "frame_stride takes a number"),
        ({"sweep": "fast anchor_frame=maybe"}, "anchor_frame takes on or off"),
        ({"sweep": "fast speed=3"}, "unknown knob 'speed'"),
        ({"sweep": "fast frame_stride"}, "'frame_stride' is not a knob=value setting"),
        ({"sweep": "fast frame_stride=99"}, "sweep entry 'fast frame_stride=99': .*frame_stride"),
        ({"sweep": 3}, "sweep must be text"),
        ({"sweep": "fast", "vae": VideoVAE(), "time_budget_s": 0.0}, "time_budget_s must be a positive"),
        ({"time_budget_s": float("nan")}, "time_budget_s must be a positive"),
        ({"time_budget_s": 1e12}, "time_budget_s must be at most"),
        ({"sweep": "fast"}, "a sweep needs SSIM, and latent frames of 2x3"),
        ({"sweep": "fast interpolation=upsampler", "vae": VideoVAE()}, "connect temporal_upsampler"),
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
    from ltx2_efficient.hosts.comfyui.check_runs import run_node_check
    from ltx2_efficient.sampler.settings import EfficientSettings

    guider = _guider(fakes, fakes.LTXVModel(seed=1))
    args = (fakes.Noise_RandomNoise(SEED), guider, fakes.sampler_object("euler"))
    with pytest.raises(ValueError, match="sigmas must be a 1-D"):
        run_node_check(*args, torch.tensor([1.0]), _video_latent(), EfficientSettings.off())
    with pytest.raises(ValueError, match="latent_image must be a LATENT"):
        run_node_check(*args, SIGMAS, torch.zeros(1), EfficientSettings.off())
    with pytest.raises(ValueError, match="sweep entry 'x' must be an EfficientSettings"):
        run_node_check(*args, SIGMAS, _video_latent(), EfficientSettings.off(), sweep={"x": "fast"},
                       time_budget_s=10.0, vae=VideoVAE())  # fmt: skip


def test_an_untimed_warm_up_loads_the_model_before_the_timed_runs(fakes, node):
    model = fakes.LTXVModel(seed=1)
    out = _check(fakes, node, _video_latent(), "off", model=model)
    report = json.loads(out.args[3])
    # One warm-up call (the schedule's first step), then the two timed runs of STEPS calls each.
    sigmas = [call["sigma"] for call in model.calls]
    assert len(sigmas) == 1 + 2 * STEPS and sigmas[0] == sigmas[1] == float(SIGMAS[0])
    assert report["dense"]["model_calls"] == STEPS and report["warmup_s"] > 0
    assert "warm-up before the timed runs" in out.ui["text"][0]


def test_a_sweep_compares_every_setting_with_one_dense_run(fakes, node):
    from ltx2_efficient.hosts.comfyui.check_results import last_check

    model = fakes.LTXVModel(seed=1)
    entries = ["off window=1", "off frame_stride=2 interpolation=lerp refine_steps=1 refine_strength=0.3",
               "reuse_start=0.5"]  # fmt: skip
    out = _check(fakes, node, _video_latent(), "off", model=model, vae=VideoVAE(), sweep=", ".join(entries),
                 time_budget_s=3600.0, **_lossy())  # fmt: skip
    dense, efficient, _, report_json, table = out.args
    report = json.loads(report_json)
    own = "off frame_stride=2 window=1 interpolation=lerp refine_steps=2 refine_strength=0.4"
    labels = [row["label"] for row in report["sweep"]["rows"]]
    assert labels == [own, *entries]
    assert report["sweep"]["skipped"] == [] and set(report["sweep"]["predicted_s"]) == set(labels[1:])
    # The dense run happened once: warm-up, dense, the node's settings, then the three entries
    # (the last one is the node's settings with reuse_start=0.5: its refine steps too).
    own_calls = STEPS + 2  # keyframe steps + 2 refine steps
    assert len(model.calls) == 1 + STEPS + own_calls + STEPS + (STEPS + 1) + own_calls
    assert table == report["sweep"]["table"] and table.startswith("| point | speedup (CPU)")
    assert all(label in table for label in labels[1:]) and table in out.ui["text"][0]
    # The node's outputs are its own settings' check (the sweep only adds the table).
    assert report["keyframes"] == [0, 2, 4, 6] and not torch.equal(dense["samples"], efficient["samples"])
    assert last_check() == report


def test_a_sweep_skips_what_would_not_fit_the_budget(fakes, node, monkeypatch):
    import ltx2_efficient.hosts.comfyui.check_runs as check_runs

    # A forecast far beyond any budget: every entry is skipped, the node's own check still runs.
    monkeypatch.setattr(check_runs, "predicted_speedup", lambda *args: 1e-9)
    model = fakes.LTXVModel(seed=1)
    out = _check(fakes, node, _video_latent(), "off", model=model, vae=VideoVAE(), sweep="fast, quality",
                 time_budget_s=60.0, attention_window=1)  # fmt: skip
    report = json.loads(out.args[3])
    assert report["sweep"]["skipped"] == ["fast", "quality"]
    assert [row["label"] for row in report["sweep"]["rows"]] == ["off window=1"]
    assert all(seconds > 60.0 for seconds in report["sweep"]["predicted_s"].values())
    assert any("fast, quality left out" in note for note in report["notes"])
    assert len(model.calls) == 1 + 2 * STEPS


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


def test_the_panels_report_fixture_has_the_fields_of_a_real_report(fakes, node):
    """frontend/tests/check_report.json, what the panel's tests show, is a report of today: the
    same run (LTX-2 audio-video latent, both VAEs, a lossy setting, a one-entry sweep) gives every
    field it has, with the same kind of value."""
    from tests.conftest import REPO_ROOT

    fixture = json.loads((REPO_ROOT / "frontend" / "tests" / "check_report.json").read_text())
    latent = {
        "samples": fakes.NestedTensor(
            (torch.zeros((BATCH, 128, FRAMES, HEIGHT, WIDTH)), torch.zeros((BATCH, 8, 9, 16)))
        )
    }
    out = _check(fakes, node, latent, "off", model=fakes.LTXAVModel(seed=2), vae=VideoVAE(), audio_vae=AudioVAE(),
                 sweep="fast", time_budget_s=600.0, **_lossy())  # fmt: skip
    real = json.loads(out.args[3])

    def same_shape(ours, theirs, path):
        if isinstance(ours, dict):
            assert isinstance(theirs, dict), path
            for key, value in ours.items():
                assert key in theirs, f"{path}.{key} is not in a real report"
                same_shape(value, theirs[key], f"{path}.{key}")
        elif isinstance(ours, list):
            assert isinstance(theirs, list) and len(ours) == len(theirs), path
            for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
                same_shape(a, b, f"{path}[{i}]")
        elif isinstance(ours, (int, float)) and not isinstance(ours, bool):
            assert isinstance(theirs, (int, float)) and not isinstance(theirs, bool), path
        else:
            assert type(ours) is type(theirs), path

    same_shape(fixture, real, "report")
