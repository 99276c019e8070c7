"""Quality gates of the presets on the demo model (fixed seeds, not timed).

- balanced: PSNR >= 30 dB, SSIM >= 0.93 against the dense run, motion magnitude within 10%;
- fast: PSNR >= 26 dB;
- stride 1 + a window covering every frame + no reuse reproduces the dense run (to rounding),
  and the dense run through the efficient loop matches the independent reference sampler.
"""

from __future__ import annotations

import pytest
import torch

from ltx2_efficient.demo.cli import DEFAULT_PROMPT
from ltx2_efficient.demo.model import load_demo_model
from ltx2_efficient.demo.prompt import DemoPrompt
from ltx2_efficient.demo.reference_sampler import demo_sigmas, initial_noise, sample_reference
from ltx2_efficient.demo.runs import DemoRequest, fidelity, run_settings
from ltx2_efficient.eval.cli import BALANCED_GATE, FAST_GATE
from ltx2_efficient.sampler.settings import EfficientSettings

REQUESTS = (
    DemoRequest(DemoPrompt.parse(DEFAULT_PROMPT), seed=0),  # what `ltx2eff demo` runs
    DemoRequest(DemoPrompt.parse("blue circle bounce plain"), seed=1),
)


@pytest.fixture(scope="module")
def model():
    return load_demo_model()


@pytest.fixture(scope="module")
def dense_runs(model):
    return [run_settings(model, request, "dense", EfficientSettings.off()) for request in REQUESTS]


def test_dense_loop_matches_the_reference_sampler(model, dense_runs):
    request, dense = REQUESTS[0], dense_runs[0]
    shape = model.config.latent_shape(1)
    ids = torch.tensor([request.prompt.token_ids()])
    reference = sample_reference(
        model,
        initial_noise(shape, request.seed),
        ids,
        demo_sigmas(request.steps, shape),
        24.0,
        request.guidance,
    )
    assert dense.model_calls == 2 * request.steps
    assert float((dense.latent - reference).abs().max()) < 1e-3


def test_full_window_without_reuse_is_the_dense_run(model, dense_runs):
    frames = model.config.frames
    settings = EfficientSettings.from_preset("off", window=frames - 1)
    run = run_settings(model, REQUESTS[0], "full window", settings)
    assert run.report.pair_fraction == pytest.approx(1.0)
    assert run.report.steps_reused("video") == 0
    assert float((run.latent - dense_runs[0].latent).abs().max()) < 1e-3


def test_balanced_preset_keeps_the_quality_gate(model, dense_runs):
    for request, dense in zip(REQUESTS, dense_runs, strict=True):
        run = run_settings(model, request, "balanced", EfficientSettings.from_preset("balanced"))
        scores = fidelity(run, dense)
        label = f"{request.prompt.text()} seed {request.seed}: {scores}"
        assert run.report.work_fraction < 0.9, label  # it must actually save work
        assert scores["psnr_db"] is not None and scores["psnr_db"] >= BALANCED_GATE["psnr_db"], label
        assert scores["ssim"] >= BALANCED_GATE["ssim"], label
        assert abs(scores["motion_ratio"] - 1.0) <= BALANCED_GATE["motion_deviation"], label


def test_fast_preset_keeps_the_quality_gate(model, dense_runs):
    for request, dense in zip(REQUESTS, dense_runs, strict=True):
        run = run_settings(model, request, "fast", EfficientSettings.from_preset("fast"))
        scores = fidelity(run, dense)
        label = f"{request.prompt.text()} seed {request.seed}: {scores}"
        assert run.report.work_fraction < 0.9, label
        assert scores["psnr_db"] is not None and scores["psnr_db"] >= FAST_GATE["psnr_db"], label


def test_preset_ladder_does_less_work_at_every_step(model, dense_runs):
    """The same seed on the tiny LTXModel: each faster preset makes fewer model calls, and each
    run's log line says how many steps it reused."""
    request, dense = REQUESTS[0], dense_runs[0]
    runs = {"off": dense}
    for name in ("quality", "balanced", "fast"):
        runs[name] = run_settings(model, request, name, EfficientSettings.from_preset(name))
    calls = [runs[name].report.model_calls for name in ("off", "quality", "balanced", "fast")]
    assert calls[0] == 2 * request.steps
    assert calls[0] > calls[1] > calls[2] > calls[3], calls
    for name in ("quality", "balanced", "fast"):
        report = runs[name].report
        reused = report.steps_reused("video")
        assert reused > 0
        assert report.model_calls == 2 * (request.steps - reused)
        assert f"{reused}/{request.steps} steps reused" in report.log_line()
