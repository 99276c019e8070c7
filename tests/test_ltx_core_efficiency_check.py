"""``efficiency_check`` / ``efficiency_sweep`` for ltx-core users, on the shipped demo model (CPU).

Short requests (6 steps, 3 for the sweep) keep it fast; the demo's lossless pixel codec is the
video decoder. The sweep's budget arithmetic and the parsing of settings are checked on their
own, without running the model.
"""

from __future__ import annotations

import importlib
import json

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("ltx_core")

from ltx2_efficient.demo.latent_codec import decode  # noqa: E402
from ltx2_efficient.demo.model import load_demo_model  # noqa: E402
from ltx2_efficient.demo.prompt import DemoPrompt  # noqa: E402
from ltx2_efficient.demo.reference_sampler import initial_noise, model_sigmas  # noqa: E402
from ltx2_efficient.eval.check_cli import parse_candidates  # noqa: E402
from ltx2_efficient.eval.check_report import SweepBudget  # noqa: E402
from ltx2_efficient.hosts.ltx_core import (  # noqa: E402
    SamplingCancelled,
    efficiency_check,
    efficiency_sweep,
)
from ltx2_efficient.hosts.ltx_core.efficiency_check import dense_reference  # noqa: E402
from ltx2_efficient.sampler.settings import EfficientSettings  # noqa: E402

STEPS = 6
# The module (the package's attribute of the same name is the function).
check_module = importlib.import_module("ltx2_efficient.hosts.ltx_core.efficiency_check")


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


@pytest.fixture(scope="module")
def reference(demo):
    model, request = demo
    return dense_reference(model.transformer, seed=11, **request)


def _check(demo, settings, **kwargs):
    model, request = demo
    return efficiency_check(model.transformer, settings=settings, seed=11, **(request | kwargs))


def test_preset_off_against_a_dense_reference_is_identical(demo, reference):
    check = _check(demo, EfficientSettings.off(), dense=reference)
    assert check.dense is reference.result and torch.equal(check.dense.video, check.efficient.video)
    report = json.loads(check.to_json())
    assert report["video"]["identical"] and report["video"]["psnr_db"] is None
    assert report["video"]["ssim"] == pytest.approx(1.0)
    assert report["dense"]["model_calls"] == report["efficient"]["model_calls"] == 2 * STEPS  # CFG
    assert report["dense"]["model_s"] > 0 and report["dense"]["peak_vram_mb"] is None
    # The untimed warm-up ran before the dense run and is reported apart.
    assert report["warmup_s"] == reference.warmup_s > 0 and reference.decode_s > 0
    assert "identical to dense in every frame" in check.summary()
    assert "warm-up before the timed runs" in check.summary()


def test_a_dense_reference_must_be_of_the_same_request(demo, reference):
    off = EfficientSettings.off()
    with pytest.raises(ValueError, match="dense must be a DenseReference"):
        _check(demo, off, dense="dense")
    with pytest.raises(ValueError, match="dense was run with seed 11, this check has seed 12"):
        model, request = demo
        efficiency_check(model.transformer, settings=off, seed=12, dense=reference, **request)
    with pytest.raises(ValueError, match="decode_video differs from the one dense was decoded with"):
        _check(demo, off, dense=reference, decode_video=lambda latent: latent)
    shorter = demo[1]["sigmas"][:4]
    with pytest.raises(ValueError, match="dense is the reference of another request"):
        _check(demo, off, dense=reference, sigmas=shorter)
    with pytest.raises(ValueError, match="warmup must be True or False"):
        _check(demo, off, warmup="yes")


def test_a_lossy_setting_reports_lower_psnr_and_keyframes_apart(demo):
    settings = EfficientSettings.from_preset(
        "off", frame_stride=2, window=1, interpolation="lerp", refine_steps=2, refine_strength=0.4
    )
    progress = []
    # Without the warm-up the report says so (warmup_s None); the progress is the same either way.
    check = _check(
        demo,
        settings,
        warmup=False,
        progress=lambda done, total, phase: progress.append((done, total, phase)),
    )
    assert check.report["warmup_s"] is None
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


def test_sweep_runs_dense_once_and_writes_the_eval_table(demo, monkeypatch):
    model, request = demo
    request = request | {"sigmas": model_sigmas(model.config, 3, model.config.latent_shape(1))}
    runs = []
    real = check_module.efficient_denoise

    def counted(model_, video, sigmas, context, settings, *args, **kwargs):
        runs.append((settings.preset, len(sigmas) - 1))
        return real(model_, video, sigmas, context, settings, *args, **kwargs)

    monkeypatch.setattr(check_module, "efficient_denoise", counted)
    candidates = {
        "off": EfficientSettings.off(),
        "stride 2": EfficientSettings.from_preset(
            "off", frame_stride=2, window=1, interpolation="lerp", refine_steps=1, refine_strength=0.4
        ),
    }
    # A budget no check can exhaust runs every candidate.
    sweep = efficiency_sweep(model.transformer, candidates=candidates, time_budget_s=1e9, seed=11, **request)
    # One warm-up step and one dense run, then only the candidates' own runs.
    assert runs == [("off", 1), ("off", 3), ("off", 3), ("off", 3)]
    assert [row["label"] for row in sweep.rows] == list(candidates) and not sweep.skipped
    assert sweep.rows[0]["identical_requests"] == 1 and sweep.rows[1]["psnr_min"] is not None
    assert all(check.dense is sweep.dense.result for check in sweep.checks.values())
    assert sweep.table.startswith("| point | speedup (CPU)") and "stride 2" in sweep.table
    assert set(sweep.predicted_s) == set(candidates)
    for row, check in zip(sweep.rows, sweep.checks.values(), strict=True):
        calls = check.report["dense"]["model_calls"], check.report["efficient"]["model_calls"]
        assert row["work_ratio_calls"] == calls[0] / calls[1]  # the table's "fewer calls"
    assert sweep.rows[0]["work_ratio_calls"] == 1.0  # preset off: the dense run's calls
    json.dumps(sweep.rows, allow_nan=False)
    # A budget the dense run alone exceeds: nothing else runs, not even the first candidate.
    runs.clear()
    short = efficiency_sweep(model.transformer, candidates=candidates, time_budget_s=1e-3, seed=11, **request)
    assert runs == [("off", 1), ("off", 3)] and short.checks == {} and short.rows == []
    assert short.skipped == list(candidates) and short.table.startswith("| point |")
    with pytest.raises(ValueError, match="time_budget_s"):
        efficiency_sweep(model.transformer, candidates=candidates, time_budget_s=0, **request)
    with pytest.raises(ValueError, match="candidate 'x' must be an EfficientSettings"):
        efficiency_sweep(model.transformer, candidates={"x": "fast"}, time_budget_s=1, **request)
    with pytest.raises(ValueError, match="runs the dense reference itself"):
        efficiency_sweep(
            model.transformer, candidates=candidates, time_budget_s=1, dense=sweep.dense, **request
        )
    assert runs == [("off", 1), ("off", 3)]  # the bad calls ran nothing


class Clock:
    def __init__(self, now=0.0):
        self.now = now

    def __call__(self):
        return self.now


def test_the_budget_predicts_each_candidate_from_the_dense_run():
    fast, slow = EfficientSettings.from_preset("fast"), EfficientSettings.off()
    speedups = {fast.describe(): 4.0, slow.describe(): 1.0}
    clock = Clock(10.0)  # the dense run (10 s) is over
    budget = SweepBudget(
        30.0, 10.0, lambda s: speedups[s.describe()], started=0.0, overhead_s=1.0, clock=clock
    )
    assert budget.admit("fast", fast) and budget.predicted_s["fast"] == pytest.approx(10.0 / 4 + 1.0)
    # Slower than predicted (5 s, not 2.5 s): later forecasts double.
    budget.record(fast, 5.0)
    clock.now = 16.0
    assert budget.admit("fast again", fast) and budget.predicted_s["fast again"] == pytest.approx(6.0)
    clock.now = 22.0
    # The dense-cost candidate would end at 22 + 2 x 10 + 1 = 43 s > 30 s: skipped, first or not.
    assert not budget.admit("off", slow) and budget.predicted_s["off"] == pytest.approx(21.0)
    # Faster than predicted never lowers the forecast below the cost model's.
    budget.record(fast, 0.1)
    assert budget.scale == pytest.approx(2.0)


def test_the_budget_rejects_bad_values_and_survives_odd_requests():
    def out_of_range(settings):
        raise ValueError("width out of range")

    budget = SweepBudget(5.0, 10.0, out_of_range, started=0.0, clock=Clock(0.0))
    assert not budget.admit("x", EfficientSettings.off()) and budget.predicted_s["x"] == 10.0  # as dense
    for bad in (0, -1.0, float("nan"), float("inf"), True, "60"):
        with pytest.raises(ValueError, match="time_budget_s must be a positive number of seconds"):
            SweepBudget(bad, 1.0, lambda s: 1.0, started=0.0)


def test_settings_to_check_are_parsed_with_clear_errors():
    fast = EfficientSettings.from_preset("fast")
    parsed = parse_candidates(" fast ,balanced  frame_stride=3 anchor_frame=off reuse_start=0.25")
    assert list(parsed) == ["fast", "balanced frame_stride=3 anchor_frame=off reuse_start=0.25"]
    custom = parsed["balanced frame_stride=3 anchor_frame=off reuse_start=0.25"]
    assert (custom.preset, custom.frame_stride, custom.anchor_frame, custom.reuse_start) == (
        "balanced",
        3,
        False,
        0.25,
    )
    assert parsed["fast"].to_dict() == fast.to_dict()
    on_base = parse_candidates("attention_window=2, interpolation=lerp", base=fast, what="sweep")
    assert on_base["attention_window=2"].window == 2 and on_base["attention_window=2"].preset == "fast"
    assert on_base["interpolation=lerp"].interpolation == "lerp"
    for text, message in [
        ("", "--check takes preset names from"),
        (" , ", "--check takes preset names from"),
        ("turbo", "got 'turbo' in 'turbo'"),
        ("frame_stride=2", "must start with a preset name"),
        ("fast 2", "'2' is not a knob=value setting"),
        ("fast frame_stride=", "'frame_stride=' is not a knob=value setting"),
        ("fast speed=2", "unknown knob 'speed'"),
        ("fast reuse_start=soon", "reuse_start takes a number"),
        ("fast anchor_frame=2", "anchor_frame takes on or off"),
        ("fast interpolation=cubic", "--check entry 'fast interpolation=cubic': .*interpolation"),
        ("fast, fast", "names 'fast' twice"),
    ]:
        with pytest.raises(ValueError, match=message):
            parse_candidates(text)
    with pytest.raises(ValueError, match="sweep must be text"):
        parse_candidates(None, what="sweep")


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
    assert "--time-budget must be a positive number of seconds" in capsys.readouterr().err
    assert main(["--check", "off frame_stride=x", "--out", str(tmp_path / "z")]) == 2
    assert "frame_stride takes a number" in capsys.readouterr().err
    assert not any((tmp_path / name).exists() for name in "xyz")
