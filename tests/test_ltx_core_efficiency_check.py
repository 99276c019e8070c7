"""``efficiency_check`` / ``efficiency_sweep`` for ltx-core users, on the shipped demo model (CPU).

Short requests (6 steps) keep it fast; the demo's lossless pixel codec is the video decoder.
"""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("ltx_core")

from ltx2_efficient.demo.latent_codec import decode  # noqa: E402
from ltx2_efficient.demo.model import load_demo_model  # noqa: E402
from ltx2_efficient.demo.prompt import DemoPrompt  # noqa: E402
from ltx2_efficient.demo.reference_sampler import initial_noise, model_sigmas  # noqa: E402
from ltx2_efficient.hosts.ltx_core import (  # noqa: E402
    SamplingCancelled,
    efficiency_check,
    efficiency_sweep,
)
from ltx2_efficient.sampler.settings import EfficientSettings  # noqa: E402

STEPS = 6


@pytest.fixture(scope="module")
def demo():
    model = load_demo_model()
    shape = model.config.latent_shape(1)
    ids = torch.tensor([DemoPrompt.parse("red square orbit radial-gradient").token_ids()])
    with torch.inference_mode():
        context, negative = model.context(ids), model.context(torch.zeros_like(ids))
    request = {
        "video_latent": initial_noise(shape, 3),
        "sigmas": model_sigmas(model.config, STEPS, shape),
        "context": context,
        "frame_rate": model.config.frame_rate,
        "negative_context": negative,
        "cfg_scale": 3.0,
        "decode_video": lambda latent: decode(latent.float(), model.config.patch),
    }
    return model, request


def _check(demo, settings, **kwargs):
    model, request = demo
    return efficiency_check(model.transformer, settings=settings, seed=11, **(request | kwargs))


def test_preset_off_is_identical_to_dense(demo):
    check = _check(demo, EfficientSettings.off())
    assert torch.equal(check.dense.video, check.efficient.video)
    report = json.loads(check.to_json())
    assert report["video"]["identical"] and report["video"]["psnr_db"] is None
    assert report["video"]["ssim"] == pytest.approx(1.0)
    assert report["dense"]["model_calls"] == report["efficient"]["model_calls"] == 2 * STEPS  # CFG
    assert report["dense"]["model_s"] > 0 and report["dense"]["peak_vram_mb"] is None
    assert "identical to dense in every frame" in check.summary()


def test_a_lossy_setting_reports_lower_psnr_and_keyframes_apart(demo):
    settings = EfficientSettings.from_preset(
        "off", frame_stride=2, window=1, interpolation="lerp", refine_steps=2, refine_strength=0.4
    )
    progress = []
    check = _check(demo, settings, progress=lambda done, total, phase: progress.append((done, total, phase)))
    video = check.report["video"]
    assert video["psnr_db"] is not None and video["psnr_db"] < 60 and video["ssim"] < 1.0
    frames = demo[0].config.frames
    assert check.report["keyframes"] == list(range(0, frames, 2))
    assert (
        video["keyframes"]["frames"] == (frames + 1) // 2 and video["interpolated"]["frames"] == frames // 2
    )
    # One progress count over both runs: 6 dense steps, then 6 keyframe + 2 refine steps.
    assert [done for done, _, _ in progress] == list(range(1, 2 * STEPS + 3))
    assert {total for _, total, _ in progress} == {2 * STEPS + 2}
    assert progress[0][2] == "dense denoise" and progress[-1][2] == "efficient refine"
    image = check.comparison_frames()
    assert image.shape[2] == 3 * video_width(check)


def video_width(check):
    return check.frames[0].shape[3]


def test_cancel_raises_and_returns_no_report(demo):
    calls = {"n": 0}

    def cancel():
        calls["n"] += 1
        return calls["n"] > STEPS + 2  # inside the efficient run

    with pytest.raises(SamplingCancelled):
        _check(demo, EfficientSettings.from_preset("off", window=1), cancel=cancel)


def test_bad_arguments_are_named(demo):
    with pytest.raises(ValueError, match="settings must be an EfficientSettings"):
        _check(demo, "balanced")
    with pytest.raises(ValueError, match="sets generator itself"):
        _check(demo, EfficientSettings.off(), generator=torch.Generator())
    with pytest.raises(ValueError, match="seed must be an integer"):
        model, request = demo
        efficiency_check(model.transformer, settings=EfficientSettings.off(), seed=-1, **request)
    with pytest.raises(ValueError, match="decode_audio needs an audio stream"):
        _check(demo, EfficientSettings.off(), decode_audio=lambda x: x, sample_rate=16000)


def test_sweep_writes_the_eval_table_within_the_budget(demo):
    model, request = demo
    candidates = {
        "off": EfficientSettings.off(),
        "window 1": EfficientSettings.from_preset("off", window=1),
        "stride 2": EfficientSettings.from_preset(
            "off", frame_stride=2, interpolation="lerp", refine_steps=2, refine_strength=0.4
        ),
    }
    # A budget no check can exhaust runs every candidate (the budget itself is tested below).
    sweep = efficiency_sweep(model.transformer, candidates=candidates, time_budget_s=1e9, seed=11, **request)
    assert [row["label"] for row in sweep.rows] == list(candidates) and not sweep.skipped
    assert sweep.rows[0]["identical_requests"] == 1 and sweep.rows[1]["psnr_min"] is not None
    assert "| point |" in sweep.table and "window 1" in sweep.table
    json.dumps(sweep.rows, allow_nan=False)
    # A budget shorter than one check runs the first candidate only.
    short = efficiency_sweep(model.transformer, candidates=candidates, time_budget_s=1e-3, seed=11, **request)
    assert list(short.checks) == ["off"] and short.skipped == ["window 1", "stride 2"]
    with pytest.raises(ValueError, match="time_budget_s"):
        efficiency_sweep(model.transformer, candidates=candidates, time_budget_s=0, **request)


def test_eval_check_on_the_demo_model_writes_its_report(tmp_path, capsys):
    from ltx2_efficient.eval.cli import main

    out = tmp_path / "check"
    assert main(["--check", "off", "--steps", "2", "--out", str(out)]) == 0
    report = json.loads((out / "check.json").read_text())
    assert report["video"]["identical"] and report["preset"] == "off"
    assert "identical to dense in every frame" in capsys.readouterr().out
    assert main(["--check", "turbo", "--out", str(tmp_path / "x")]) == 2
    assert "--check takes preset names" in capsys.readouterr().err
    assert main(["--check", "off,fast", "--time-budget", "0", "--out", str(tmp_path / "y")]) == 2
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()
