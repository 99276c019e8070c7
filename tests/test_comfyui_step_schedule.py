"""The ComfyUI host following the core's step schedule, on the fakes of ComfyUI (CPU).

Window attention only on the scheduled steps (with samplers that evaluate between the schedule's
sigmas), dense first/last blocks, the keyframe bottleneck (every frame, keyframes, every frame
on one trajectory), phases that continue a run exactly, and the log line saying which steps ran
what. tests/test_comfyui_sampling.py covers the plain and refine paths.
"""

from __future__ import annotations

import logging
import sys

import pytest

torch = pytest.importorskip("torch")

from ltx2_efficient.hosts.comfyui.efficient_sampling import sample_efficient  # noqa: E402
from ltx2_efficient.hosts.comfyui.ltx_model import inspect_model_patcher  # noqa: E402
from ltx2_efficient.hosts.comfyui.phase_runner import (  # noqa: E402
    Runner,
    continuation_noise,
    patched_guider,
    state_av,
)
from ltx2_efficient.hosts.comfyui.regime import settings_for_run  # noqa: E402
from ltx2_efficient.hosts.comfyui.run_state import RUN_KEY, PatchConfig  # noqa: E402
from ltx2_efficient.hosts.comfyui.step_clock import sigma_step, step_index  # noqa: E402
from ltx2_efficient.sampler.settings import EfficientSettings  # noqa: E402

SIGMAS = torch.tensor([1.0, 0.9, 0.75, 0.55, 0.3, 0.1, 0.0])
STEPS = 6
BATCH, FRAMES, HEIGHT, WIDTH = 2, 7, 2, 3
KEYFRAMES = [0, 2, 4, 6]  # stride 2 of 7 latent frames
SEED = 7
SAMPLER_LOG = "LTX2 Efficient Video Sampler: "


@pytest.fixture
def fakes(monkeypatch, repo_script):
    """A fresh copy of the fakes (their state is per test) installed in sys.modules."""
    module = repo_script("tests/comfy_fakes.py", "comfy_fakes_for_step_schedule")
    for name, fake in module.host_modules().items():
        monkeypatch.setitem(sys.modules, name, fake)
    return module


def _guider(fakes, patcher, cfg=3.0):
    generator = torch.Generator().manual_seed(3)
    positive = [[torch.randn((1, 7, 6), generator=generator), {"frame_rate": 24.0}]]
    negative = [[torch.randn((1, 7, 6), generator=generator), {"frame_rate": 24.0}]]
    guider = fakes.CFGGuider(patcher)
    guider.set_conds(positive, negative)
    guider.set_cfg(cfg)
    return guider


def _ltxv(fakes):
    model = fakes.LTXVModel(seed=1)
    return model, fakes.make_patcher(model)


def _latent():
    return {"samples": torch.zeros((BATCH, 128, FRAMES, HEIGHT, WIDTH))}


def _run(fakes, guider, latent, settings, sampler="euler", **kwargs):
    return sample_efficient(
        fakes.Noise_RandomNoise(SEED),
        guider,
        fakes.sampler_object(sampler),
        SIGMAS,
        latent,
        settings,
        **kwargs,
    )


def _spy(patcher, model):
    """An override of another node installed before ours: records, per attention call, the index
    of the model call it is in, whether the call ran windowed (our run's counter moved) and the
    key shape."""
    seen = []

    def other_node_override(func, *args, **kwargs):
        run = kwargs["transformer_options"].get(RUN_KEY)
        before = run.stats.windowed_calls if run is not None else 0
        out = func(*args, **kwargs)
        windowed = run is not None and run.stats.windowed_calls > before
        seen.append((len(model.calls) - 1, windowed, tuple(args[1].shape)))
        return out

    patcher.model_options["transformer_options"]["optimized_attention_override"] = other_node_override
    return seen


def _windowed_calls(seen):
    return sorted({call for call, windowed, _ in seen if windowed})


# ---------------------------------------------------------------- the step of a model call


def test_a_call_belongs_to_the_step_whose_sigma_interval_holds_its_sigma():
    values = [1.0, 0.8, 0.5, 0.2, 0.0]
    assert [sigma_step(s, values) for s in (1.0, 0.9, 0.8, 0.65, 0.5, 0.3, 0.2, 0.05)] == [
        0,
        0,
        1,
        1,
        2,
        2,
        3,
        3,
    ]
    assert sigma_step(1.3, values) == 0  # noise raised above the first sigma (s_churn)
    assert sigma_step(0.8 * (1 + 1e-8), values) == 1  # rounding of a schedule sigma
    options = {"sigmas": torch.tensor([0.65, 0.65]), "sample_sigmas": torch.tensor(values)}
    assert step_index(options) == 1
    assert step_index({"sigmas": torch.tensor([0.5])}) is None


# ---------------------------------------------------------------- window on the scheduled steps


def test_window_runs_only_on_the_scheduled_steps_and_the_steps_before_stay_dense(fakes):
    model, patcher = _ltxv(fakes)
    dense = _run(fakes, _guider(fakes, patcher), _latent(), EfficientSettings.off())
    dense_inputs = [call["video"] for call in model.calls]
    model.calls.clear()
    settings = EfficientSettings.from_preset("off", window=0, window_start=0.5)  # steps 3-5 of 6
    result = _run(fakes, _guider(fakes, patcher), _latent(), settings)

    inputs = [call["video"] for call in model.calls]
    # Steps 0-2 are dense: the input of step 3 is still the dense run's; step 4's is not.
    assert all(torch.equal(a, b) for a, b in zip(inputs[:4], dense_inputs[:4], strict=True))
    assert not torch.allclose(inputs[4], dense_inputs[4], atol=1e-4)
    report = result.report
    assert report.window_steps == [3, 4, 5]
    assert report.attention.windowed_calls == 2 * 3 and report.attention.dense_calls == 2 * 3
    assert 0.5 < report.pair_fraction < 1.0  # dense steps count at full pairs
    assert "window K=0 on steps 4-6 (2 blocks; pair fraction" in report.log_line()
    assert not torch.allclose(result.output["samples"], dense.output["samples"], atol=1e-4)


@pytest.mark.parametrize("sampler", ["heun", "dpmpp_sde", "euler_ancestral"])
def test_window_follows_the_noise_level_with_samplers_that_evaluate_between_the_sigmas(fakes, sampler):
    """Through the model patch path (ComfyUI's own sampling, the run's own schedule): every
    evaluation at a sigma at or below the window's first step's sigma runs windowed."""
    model, patcher = _ltxv(fakes)
    seen = _spy(patcher, model)
    settings = EfficientSettings.from_preset("off", window=0, window_start=0.5)
    config = PatchConfig(settings=settings, model=inspect_model_patcher(patcher, "model"))
    guider = patched_guider(_guider(fakes, patcher), config)
    fakes.sampler_custom_advanced(
        fakes.Noise_RandomNoise(SEED), guider, fakes.sampler_object(sampler), SIGMAS, _latent()
    )

    sigmas = [call["sigma"] for call in model.calls]
    window_from = float(SIGMAS[3])
    expected = [i for i, s in enumerate(sigmas) if s <= window_from + 1e-6]
    assert _windowed_calls(seen) == expected
    assert 0 < len(expected) < len(sigmas)
    if sampler == "dpmpp_sde":  # evaluations between the schedule's sigmas were made and placed
        between = [s for s in sigmas if all(abs(s - float(v)) > 1e-6 for v in SIGMAS)]
        assert between and any(s > window_from for s in between) and any(s < window_from for s in between)
    if sampler == "heun":  # the correction at sigma_3 runs at the window's noise level
        assert sigmas.count(pytest.approx(window_from)) == 2
    # Per model call: video self-attention (windowed or not) and text cross-attention per block.
    assert all(windowed is False for call, windowed, k in seen if call not in expected)


@pytest.mark.parametrize(("first", "last", "dense_block"), [(1, 0, 0), (0, 1, 1)])
def test_dense_first_and_last_blocks_stay_dense_on_windowed_steps(fakes, first, last, dense_block):
    model, patcher = _ltxv(fakes)
    seen = _spy(patcher, model)
    settings = EfficientSettings.from_preset(
        "off", window=0, dense_first_blocks=first, dense_last_blocks=last
    )
    result = _run(fakes, _guider(fakes, patcher), _latent(), settings)

    tokens = FRAMES * HEIGHT * WIDTH
    for call in range(STEPS):
        self_attention = [windowed for c, windowed, k in seen if c == call and k[1] == tokens]
        assert self_attention == [block != dense_block for block in range(2)]
    report = result.report
    assert report.dense_blocks == [dense_block]
    assert report.attention.windowed_calls == STEPS and report.attention.dense_calls == STEPS
    assert (
        f"window K=0 on every step (dense blocks {dense_block + 1} of 2; pair fraction" in report.log_line()
    )


@pytest.mark.parametrize(("window", "windowed_heads"), [(FRAMES - 1, True), (0, False)])
def test_head_wise_windows_measure_every_windowed_call_and_report_it(fakes, window, windowed_heads):
    """window_head_recall through the sampler node's path: every windowed call measures its heads.
    A window over every frame holds all of each head's mass (all heads window at any recall);
    a window of its own frame alone never holds all of it (no head reaches a recall of 1)."""
    _, patcher = _ltxv(fakes)
    settings = EfficientSettings.from_preset("off", window=window, window_start=0.5, window_head_recall=1.0)
    result = _run(fakes, _guider(fakes, patcher), _latent(), settings)
    stats = result.report.attention
    assert stats.windowed_calls == 2 * 3 and stats.heads_measured > 0
    assert stats.heads_windowed == (stats.heads_measured if windowed_heads else 0)
    assert f"{stats.heads_windowed}/{stats.heads_measured} head-calls windowed" in result.report.log_line()
    assert result.report.to_dict()["windowed_head_share"] == (1.0 if windowed_heads else 0.0)


# ---------------------------------------------------------------- phases continue one trajectory


def test_a_run_split_in_two_phases_continues_exactly_where_the_first_stopped(fakes):
    """What the bottleneck's transitions rely on: the continuation noise makes a run start at the
    state the last one reached, and the noise mask keeps the conditioning frame as one run does."""
    _, patcher = _ltxv(fakes)
    samples = torch.zeros((BATCH, 128, FRAMES, HEIGHT, WIDTH))
    samples[:, :, :1] = torch.randn(
        (BATCH, 128, 1, HEIGHT, WIDTH), generator=torch.Generator().manual_seed(5)
    )
    mask = torch.ones((BATCH, 1, FRAMES, 1, 1))
    mask[:, :, :1] = 0.0
    latent = {"samples": samples, "noise_mask": mask}
    one_run, _ = fakes.sampler_custom_advanced(
        fakes.Noise_RandomNoise(SEED), _guider(fakes, patcher), fakes.sampler_object("euler"), SIGMAS, latent
    )

    guider = _guider(fakes, patcher)
    settings = EfficientSettings.off()
    runner = Runner(guider, settings, inspect_model_patcher(patcher, "guider"), settings.step_schedule(STEPS))
    noise = fakes.prepare_noise(samples, SEED)
    sampler = fakes.sampler_object("euler")
    first = runner.sample("full", 1.0, 0, noise, samples, sampler, SIGMAS[:4], denoise_mask=mask, seed=SEED)
    sigma = float(SIGMAS[3])
    state, _ = state_av(runner, first, sigma)
    second_noise = continuation_noise(runner, state, samples, sigma)
    second = runner.sample(
        "full", 1.0, 3, second_noise, samples, sampler, SIGMAS[3:], denoise_mask=mask, seed=SEED
    )
    assert float((second - one_run["samples"]).abs().max()) < 1e-4 * float(one_run["samples"].abs().max())
    assert [run.config.step_offset for run in runner.runs] == [0, 3]


# ---------------------------------------------------------------- the keyframe bottleneck


def _bottleneck(**overrides):
    values = {
        "frame_stride": 2,
        "keyframe_mode": "bottleneck",
        "keyframe_start": 1 / 3,  # keyframes on steps 2-3 of 6
        "keyframe_end": 2 / 3,
        "interpolation": "lerp",
    }
    return EfficientSettings.from_preset("off", **(values | overrides))


def test_bottleneck_runs_every_frame_then_keyframes_then_every_frame_on_one_trajectory(fakes):
    model, patcher = _ltxv(fakes)
    _run(fakes, _guider(fakes, patcher), _latent(), EfficientSettings.off())
    dense_calls = list(model.calls)
    model.calls.clear()
    guider = _guider(fakes, patcher)
    result = _run(fakes, guider, _latent(), _bottleneck())

    calls = model.calls
    assert [(c["frames"], c["frame_rate"]) for c in calls] == (
        [(FRAMES, 24.0)] * 2 + [(len(KEYFRAMES), 12.0)] * 2 + [(FRAMES, 24.0)] * 2
    )
    assert [c["sigma"] for c in calls] == pytest.approx(SIGMAS[:-1].tolist())
    # Steps 0-1 are the dense run's; the keyframes continue from its state at sigma_2.
    assert all(torch.equal(calls[i]["video"], dense_calls[i]["video"]) for i in range(2))
    assert torch.allclose(calls[2]["video"], dense_calls[2]["video"][:, :, KEYFRAMES], atol=1e-5)

    # At step 4 the keyframes keep their state; the frames between are their interpolated
    # denoised estimate re-noised to sigma_4 with the seed's noise of those frames.
    (_, _), (_, keyframes), (_, final) = guider.history
    s3, s4 = float(SIGMAS[3]), float(SIGMAS[4])
    key_state = keyframes * (1.0 - s4)
    x3 = calls[3]["video"][:BATCH]
    x0 = x3 - s3 * (key_state - x3) / (s4 - s3)  # the euler step of the last keyframe step
    noise = fakes.prepare_noise(_latent()["samples"], SEED)
    between = 0.5 * (x0[:, :, :-1] + x0[:, :, 1:])
    start = calls[4]["video"][:BATCH]
    assert torch.allclose(start[:, :, KEYFRAMES], key_state, atol=1e-5)
    assert torch.allclose(start[:, :, 1::2], (1.0 - s4) * between + s4 * noise[:, :, 1::2], atol=1e-4)

    assert torch.equal(result.output["samples"], final)
    assert result.denoised["samples"].shape == final.shape
    report = result.report
    assert report.keyframe_steps == [2, 3]
    assert report.work_fraction == pytest.approx((4 * FRAMES + 2 * len(KEYFRAMES)) / (STEPS * FRAMES))
    line = report.log_line()
    assert "keyframes s=2 on steps 3-4: 4 of 7 latent frames diffused" in line and "refine" not in line
    bar = fakes.progress_bars[-1]  # the bottleneck request: one bar over every phase
    assert [value for value, *_ in bar.updates] == list(range(1, STEPS + 2))
    assert all(total == STEPS + 1 for _, total, _ in bar.updates)


def test_bottleneck_with_window_says_which_steps_ran_what(fakes):
    _, patcher = _ltxv(fakes)
    settings = _bottleneck(window=0, window_start=0.5, dense_first_blocks=1)
    result = _run(fakes, _guider(fakes, patcher), _latent(), settings)
    report = result.report
    assert report.window_steps == [3, 4, 5]
    assert report.attention.windowed_calls == 3  # one of two blocks, three steps
    line = report.log_line()
    assert line.startswith("window K=0 on steps 4-6 (dense blocks 1 of 2; pair fraction")
    assert "keyframes s=2 on steps 3-4: 4 of 7 latent frames diffused" in line


def test_bottleneck_keeps_the_image_to_video_frame_and_the_audio_at_full_length(fakes):
    model = fakes.LTXAVModel(seed=2)
    patcher = fakes.make_patcher(model)
    video = torch.zeros((BATCH, 128, FRAMES, HEIGHT, WIDTH))
    video[:, :, :1] = torch.randn((BATCH, 128, 1, HEIGHT, WIDTH), generator=torch.Generator().manual_seed(11))
    audio = torch.zeros((BATCH, 8, 9, 16))
    video_mask = torch.ones((BATCH, 1, FRAMES, 1, 1))
    video_mask[:, :, :1] = 0.0
    latent = {
        "samples": fakes.NestedTensor((video, audio)),
        "noise_mask": fakes.NestedTensor((video_mask, torch.ones((BATCH, 1, 9, 1)))),
    }
    _run(fakes, _guider(fakes, patcher), latent, EfficientSettings.off())
    dense_calls = list(model.calls)
    model.calls.clear()
    result = _run(fakes, _guider(fakes, patcher), latent, _bottleneck(frame_stride=3))

    calls = model.calls
    assert [(c["frames"], c["audio_frames"]) for c in calls] == (
        [(FRAMES, 9)] * 2 + [(3, 9)] * 2 + [(FRAMES, 9)] * 2  # frames 0, 3, 6
    )
    assert torch.allclose(calls[2]["video"], dense_calls[2]["video"][:, :, [0, 3, 6]], atol=1e-5)
    out_video, out_audio = result.output["samples"].unbind()
    assert out_video.shape == video.shape and out_audio.shape == audio.shape
    assert torch.allclose(out_video[:, :, :1], video[:, :, :1], atol=1e-5)
    assert torch.isfinite(out_video).all() and float(out_audio.abs().max()) > 0.1
    assert result.report.pinned_frames == [0]


def test_bottleneck_to_the_last_step_interpolates_the_finished_keyframes(fakes):
    model, patcher = _ltxv(fakes)
    result = _run(fakes, _guider(fakes, patcher), _latent(), _bottleneck(keyframe_end=1.0))
    assert [c["frames"] for c in model.calls] == [FRAMES] * 2 + [len(KEYFRAMES)] * 4
    out = result.output["samples"]
    assert out.shape == (BATCH, 128, FRAMES, HEIGHT, WIDTH)
    assert torch.allclose(out[:, :, 1::2], 0.5 * (out[:, :, :-1:2] + out[:, :, 2::2]), atol=1e-6)
    assert result.denoised["samples"] is result.output["samples"]


def test_cancel_in_the_keyframe_phase_stops_the_request(fakes, caplog):
    model, patcher = _ltxv(fakes)

    class Guard:
        steps = 0
        finished = 0

        def between_steps(self):
            self.steps += 1
            if self.steps == 3:
                fakes.interrupt_current_processing(True)

        def finish(self):
            self.finished += 1

    guard = Guard()
    with (
        caplog.at_level(logging.INFO, logger="ltx2_efficient"),
        pytest.raises(fakes.InterruptProcessingException),
    ):
        _run(fakes, _guider(fakes, patcher), _latent(), _bottleneck(), thermal_guard=guard)
    assert len(model.calls) == 4  # the next step's callback raises
    (line,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith(SAMPLER_LOG)]
    assert "; cancelled" in line and guard.finished == 1


# ---------------------------------------------------------------- regimes


def test_a_run_re_resolves_its_preset_for_the_regime_keeping_the_overrides(fakes):
    _, patcher = _ltxv(fakes)
    settings = EfficientSettings.from_preset("balanced", window=2)
    distilled = settings_for_run(settings, 8, _guider(fakes, patcher, cfg=1.0))
    assert distilled.regime == "distilled" and distilled.window == 2
    assert settings_for_run(settings, 30, _guider(fakes, patcher, cfg=3.0)) is settings
    custom = EfficientSettings.from_knobs(settings.knobs)
    assert settings_for_run(custom, 8, _guider(fakes, patcher, cfg=1.0)) is custom
