"""The ComfyUI sampling path end to end on fakes of ComfyUI (tests/comfy_fakes.py), on the CPU.

The nodes and ``sample_efficient`` run for real: the patch goes onto a cloned model patcher, the
fake ``CFGGuider.sample`` runs our ``OUTER_SAMPLE`` wrapper, its euler sampler calls a tiny LTX
transformer through our ``DIFFUSION_MODEL`` wrapper, and the transformer's attention goes through
our ``optimized_attention_override``. The transformer records what it was asked to compute
(frames, frame rate, batch, sigma, inputs), which is what these tests check, together with the
latents, progress, cancel and log line that come out. tests/test_comfyui_integration.py runs the
same path inside a real ComfyUI checkout when one is available.
"""

from __future__ import annotations

import logging
import sys
from types import SimpleNamespace

import pytest

torch = pytest.importorskip("torch")

from ltx2_efficient.hosts.comfyui.efficient_sampling import sample_efficient  # noqa: E402
from ltx2_efficient.hosts.comfyui.node_model_patch import LTX2EfficientModelPatch  # noqa: E402
from ltx2_efficient.hosts.comfyui.node_video_sampler import LTX2EfficientVideoSampler  # noqa: E402
from ltx2_efficient.hosts.comfyui.refine_schedule import refine_sigmas  # noqa: E402
from ltx2_efficient.sampler.settings import EfficientSettings  # noqa: E402

SIGMAS = torch.tensor([1.0, 0.9, 0.75, 0.55, 0.3, 0.1, 0.0])
STEPS = 6
BATCH, FRAMES, HEIGHT, WIDTH = 2, 7, 2, 3
SEED = 7
SAMPLER_LOG = "LTX2 Efficient Video Sampler: "


@pytest.fixture
def fakes(monkeypatch, repo_script):
    """A fresh copy of the fakes (their state is per test) installed in sys.modules."""
    module = repo_script("tests/comfy_fakes.py", "comfy_fakes_for_sampling")
    for name, fake in module.host_modules().items():
        monkeypatch.setitem(sys.modules, name, fake)
    return module


def _conditioning(**values):
    generator = torch.Generator().manual_seed(3)
    positive = torch.randn((1, 7, 6), generator=generator)
    negative = torch.randn((1, 7, 6), generator=generator)
    return [[positive, {"frame_rate": 24.0, **values}]], [[negative, {"frame_rate": 24.0, **values}]]


def _guider(fakes, patcher, cfg=3.0, conditioning=None):
    positive, negative = conditioning if conditioning is not None else _conditioning()
    guider = fakes.CFGGuider(patcher)
    guider.set_conds(positive, negative)
    guider.set_cfg(cfg)
    return guider


def _empty_latent(frames=FRAMES):
    return {"samples": torch.zeros((BATCH, 128, frames, HEIGHT, WIDTH))}


def _knobs(node, **overrides):
    """The node's widget defaults (every knob at "preset") plus ``overrides`` (number knobs
    given here are switched to "custom")."""
    fixed = ("noise", "guider", "sampler", "sigmas", "latent_image", "preset", "model")
    required = node.INPUT_TYPES()["required"]
    values = {name: spec[1]["default"] for name, spec in required.items() if name not in fixed} | overrides
    for name in overrides:
        if f"{name}_mode" in required:
            values[f"{name}_mode"] = "custom"
    return values


def _ltxv(fakes):
    model = fakes.LTXVModel(seed=1)
    return model, fakes.make_patcher(model)


def _run(fakes, guider, latent, settings, sigmas=SIGMAS, **kwargs):
    return sample_efficient(
        fakes.Noise_RandomNoise(SEED),
        guider,
        fakes.sampler_object("euler"),
        sigmas,
        latent,
        settings,
        **kwargs,
    )


def _seen(calls, *keys):
    return [tuple(call[k] for k in keys) for call in calls]


def _stride(**overrides):
    values = {
        "frame_stride": 2,
        "window": 1,
        "interpolation": "lerp",
        "refine_steps": 2,
        "refine_strength": 0.4,
    }
    return EfficientSettings.from_preset("off", **(values | overrides))


def _close(a, b, tol=1e-5):
    return float((a - b).norm() / b.norm().clamp_min(1e-12)) < tol


class Guard:
    """An LTX2_THERMAL_GUARD stand-in; ``on_step`` runs after each paced step."""

    def __init__(self, on_step=None):
        self.steps = 0
        self.finished = 0
        self.on_step = on_step

    def between_steps(self):
        self.steps += 1
        if self.on_step is not None:
            self.on_step(self.steps)

    def finish(self):
        self.finished += 1


# ---------------------------------------------------------------- the sampler node


def test_off_preset_returns_exactly_what_sampler_custom_advanced_returns(fakes, caplog):
    model, patcher = _ltxv(fakes)
    latent = _empty_latent()
    base_out, base_denoised = fakes.sampler_custom_advanced(
        fakes.Noise_RandomNoise(SEED), _guider(fakes, patcher), fakes.sampler_object("euler"), SIGMAS, latent
    )
    baseline_calls = len(model.calls)
    node = LTX2EfficientVideoSampler()
    guider = _guider(fakes, patcher)
    with caplog.at_level(logging.INFO, logger="ltx2_efficient"):
        result = node.execute(
            fakes.Noise_RandomNoise(SEED), guider, fakes.sampler_object("euler"), SIGMAS, latent, "off",
            **_knobs(node),
        )  # fmt: skip

    out, denoised = result.args
    assert torch.equal(out["samples"], base_out["samples"])
    assert torch.equal(denoised["samples"], base_denoised["samples"])
    (line,) = result.ui["text"]
    logged = [r.getMessage() for r in caplog.records if r.getMessage().startswith(SAMPLER_LOG)]
    assert logged == [SAMPLER_LOG + line]
    assert line.startswith("dense attention; ")
    assert f"0/{STEPS} steps reused" in line and f"{FRAMES} of {FRAMES} latent frames diffused" in line
    # Lossless text K/V reuse through the object patches: 2 blocks x (k, v), computed once.
    assert f"text K/V reused {4 * (STEPS - 1)}/{4 * STEPS}" in line
    ours = model.calls[baseline_calls:]
    assert _seen(ours, "frames", "frame_rate", "batch") == [(FRAMES, 24.0, 2 * BATCH)] * STEPS
    # The user's guider and model keep nothing of the patch.
    assert guider.model_patcher is patcher and patcher.wrappers == {} and patcher.object_patches == {}
    assert guider.model_options["transformer_options"] == {}


def test_stride_two_diffuses_keyframes_at_half_rate_then_refines_the_clip(fakes):
    model, patcher = _ltxv(fakes)
    guider = _guider(fakes, patcher)
    result = _run(fakes, guider, _empty_latent(), _stride())
    keyframes = 4  # frames 0, 2, 4, 6 of 7

    assert _seen(model.calls, "frames", "frame_rate", "batch") == (
        [(keyframes, 12.0, 2 * BATCH)] * STEPS + [(FRAMES, 24.0, 2 * BATCH)] * 2
    )
    sigmas = [call["sigma"] for call in model.calls]
    assert sigmas[:STEPS] == pytest.approx(SIGMAS[:-1].tolist())
    assert sigmas[STEPS:] == pytest.approx(refine_sigmas(SIGMAS, 2, 0.4)[:-1].tolist())
    assert sigmas[STEPS] == pytest.approx(0.4)

    # Phase 1 starts from the seed's noise at the diffused frames (cond and uncond batched).
    noise = fakes.prepare_noise(_empty_latent()["samples"], SEED)
    picked = noise[:, :, [0, 2, 4, 6]]
    assert torch.equal(model.calls[0]["video"], torch.cat([picked, picked]))
    # The refine phase starts from the interpolated clip re-noised to 0.4 with the same noise.
    (_, phase1), (_, refined) = guider.history
    full = torch.empty((BATCH, 128, FRAMES, HEIGHT, WIDTH))
    full[:, :, 0::2] = phase1
    full[:, :, 1::2] = 0.5 * (phase1[:, :, :-1] + phase1[:, :, 1:])
    expected = 0.4 * noise + 0.6 * full
    assert torch.allclose(model.calls[STEPS]["video"], torch.cat([expected, expected]), atol=1e-5)

    samples = result.output["samples"]
    assert torch.equal(samples, refined) and samples.shape == (BATCH, 128, FRAMES, HEIGHT, WIDTH)
    assert result.denoised["samples"].shape == samples.shape
    report = result.report
    assert report.attention.windowed_calls == 2 * (STEPS + 2)  # every video self-attention, 2 blocks
    assert report.attention.pair_fraction < 1.0
    line = report.log_line()
    assert "window K=1" in line and "4 of 7 latent frames diffused, 2 refine steps" in line


@pytest.mark.parametrize("refine_steps", [0, 2])
def test_image_to_video_frame_survives_keyframes_and_refine(fakes, refine_steps):
    model, patcher = _ltxv(fakes)
    samples = torch.zeros((BATCH, 128, FRAMES, HEIGHT, WIDTH))
    samples[:, :, :1] = torch.randn(
        (BATCH, 128, 1, HEIGHT, WIDTH), generator=torch.Generator().manual_seed(11)
    )
    mask = torch.ones((BATCH, 1, FRAMES, 1, 1))
    mask[:, :, :1] = 0.0
    latent = {"samples": samples, "noise_mask": mask}
    settings = _stride(frame_stride=3, refine_steps=refine_steps, refine_strength=0.5)
    result = _run(fakes, _guider(fakes, patcher), latent, settings)

    out = result.output["samples"]
    assert result.output["noise_mask"] is mask
    assert {call["frames"] for call in model.calls[:STEPS]} == {3}  # frames 0, 3, 6
    if refine_steps == 0:
        assert torch.equal(out[:, :, :1], samples[:, :, :1])  # put back from the input latent
    else:
        # Kept like SamplerCustomAdvanced keeps it: the last euler step lands on it to rounding.
        assert torch.allclose(out[:, :, :1], samples[:, :, :1], atol=1e-5)
    assert not torch.allclose(out[:, :, 1:], samples[:, :, 1:], atol=1e-2)
    assert result.report.pinned_frames == [0]


def test_one_progress_bar_advances_over_keyframes_interpolation_and_refine(fakes):
    _, patcher = _ltxv(fakes)
    guard = Guard()
    _run(fakes, _guider(fakes, patcher), _empty_latent(), _stride(), thermal_guard=guard)

    total = STEPS + 1 + 2
    (bar,) = fakes.progress_bars
    keyframe_preview = ("JPEG", (BATCH, 128, 4, HEIGHT, WIDTH))
    clip_preview = ("JPEG", (BATCH, 128, FRAMES, HEIGHT, WIDTH))
    assert bar.updates == (
        [(step, total, keyframe_preview) for step in range(1, STEPS + 1)]
        + [(STEPS + 1, total, None)]
        + [(STEPS + 2, total, clip_preview), (STEPS + 3, total, clip_preview)]
    )
    assert guard.steps == STEPS + 2 and guard.finished == 1


@pytest.mark.parametrize(("cancel_after", "model_calls"), [(2, 3), (STEPS, STEPS)])
def test_cancel_between_steps_raises_the_interrupt_and_logs_cancelled(
    fakes, caplog, cancel_after, model_calls
):
    model, patcher = _ltxv(fakes)

    def cancel(step):
        if step == cancel_after:
            fakes.interrupt_current_processing(True)

    guard = Guard(on_step=cancel)
    guider = _guider(fakes, patcher)
    with (
        caplog.at_level(logging.INFO, logger="ltx2_efficient"),
        pytest.raises(fakes.InterruptProcessingException),
    ):
        _run(fakes, guider, _empty_latent(), _stride(), thermal_guard=guard)

    # The next step's callback (or, after the last keyframe step, the check before interpolating)
    # raises: no model call runs after the cancel.
    assert len(model.calls) == model_calls
    assert fakes.processing_interrupted() is False  # ComfyUI's flag is consumed by the raise
    (line,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith(SAMPLER_LOG)]
    assert "; cancelled" in line
    assert guard.finished == 1
    assert patcher.wrappers == {} and guider.model_options["transformer_options"] == {}


# ---------------------------------------------------------------- LTX-2 audio-video and guides


def _av_latent(frames=FRAMES, audio_frames=9):
    video = torch.zeros((BATCH, 128, frames, HEIGHT, WIDTH))
    audio = torch.zeros((BATCH, 8, audio_frames, 16))
    return video, audio


def test_audio_video_off_equals_sampler_custom_advanced(fakes):
    model = fakes.LTXAVModel(seed=2)
    patcher = fakes.make_patcher(model)
    latent = {"samples": fakes.NestedTensor(_av_latent())}
    base_out, base_denoised = fakes.sampler_custom_advanced(
        fakes.Noise_RandomNoise(SEED), _guider(fakes, patcher), fakes.sampler_object("euler"), SIGMAS, latent
    )
    result = _run(fakes, _guider(fakes, patcher), latent, EfficientSettings.from_preset("off"))
    for ours, theirs in (
        (result.output["samples"], base_out["samples"]),
        (result.denoised["samples"], base_denoised["samples"]),
    ):
        for a, b in zip(ours.unbind(), theirs.unbind(), strict=True):
            assert torch.equal(a, b)


def test_audio_runs_full_length_with_the_keyframes_then_is_held_while_refining(fakes):
    model = fakes.LTXAVModel(seed=2)
    patcher = fakes.make_patcher(model)
    guider = _guider(fakes, patcher)
    video, audio = _av_latent()
    result = _run(fakes, guider, {"samples": fakes.NestedTensor((video, audio))}, _stride())

    assert _seen(model.calls, "frames", "audio_frames", "frame_rate") == (
        [(4, 9, 12.0)] * STEPS + [(FRAMES, 9, 24.0)] * 2
    )
    (_, phase1), _ = guider.history
    phase1_audio = phase1.unbind()[1]
    out_video, out_audio = result.output["samples"].unbind()
    assert out_video.shape == video.shape and out_audio.shape == audio.shape
    assert torch.isfinite(out_video).all()
    # Noise mask 0 on the audio in the refine phase: it comes back as phase 1 left it.
    assert torch.allclose(out_audio, phase1_audio, atol=1e-5)
    assert float(phase1_audio.abs().max()) > 0.1
    denoised_video, denoised_audio = result.denoised["samples"].unbind()
    assert denoised_video.shape == video.shape and denoised_audio.shape == audio.shape


def test_keyframe_guides_stay_appended_pinned_and_placed_at_the_scaled_time(fakes):
    model, patcher = _ltxv(fakes)
    frames = 6
    samples = torch.zeros((BATCH, 128, frames, HEIGHT, WIDTH))
    guide = torch.randn((BATCH, 128, 1, HEIGHT, WIDTH), generator=torch.Generator().manual_seed(12))
    positive, negative = _conditioning()
    positive, negative, with_guide, mask = fakes.append_keyframe(
        positive, negative, 24, samples, torch.ones((BATCH, 1, frames, 1, 1)), guide, 1.0
    )
    guider = _guider(fakes, patcher, conditioning=(positive, negative))
    result = _run(fakes, guider, {"samples": with_guide, "noise_mask": mask}, _stride())

    out = result.output["samples"]
    assert out.shape == with_guide.shape
    assert torch.allclose(out[:, :, -1:], guide, atol=1e-5)
    report = result.report
    assert report.diffused_frames == 5 and 3 in report.pinned_frames  # pixel frame 24 = latent frame 3
    assert _seen(model.calls, "frames", "appended", "frame_rate") == (
        [(5, 1, 12.0)] * STEPS + [(frames, 1, 24.0)] * 2
    )
    assert all(torch.all(call["keyframe_times"] == 12.0) for call in model.calls[:STEPS])
    assert all(torch.all(call["keyframe_times"] == 24.0) for call in model.calls[STEPS:])
    assert torch.all(positive[0][1]["keyframe_idxs"][:, 0, :, 0] == 24.0)  # the user's cond untouched


# ---------------------------------------------------------------- temporal upsampler


class TemporalUpsampler(torch.nn.Module):
    """A LATENT_UPSCALE_MODEL stand-in: x2 in time with a non-linear in-between frame."""

    def __init__(self):
        super().__init__()
        self.gain = torch.nn.Parameter(torch.tensor(1.0))
        self.inputs = []
        self.devices = []

    def forward(self, x):
        self.inputs.append(x.clone())
        self.devices.append(self.gain.device)
        b, c, f, h, w = x.shape
        out = torch.empty((b, c, 2 * f - 1, h, w), dtype=x.dtype)
        out[:, :, 0::2] = x
        out[:, :, 1::2] = self.gain * torch.maximum(x[:, :, :-1], x[:, :, 1:])
        return out


class Statistics(torch.nn.Module):
    """The per-channel latent statistics of ComfyUI's LTX video VAE."""

    def __init__(self):
        super().__init__()
        self.register_buffer("std-of-means", torch.linspace(0.5, 2.0, 128))
        self.register_buffer("mean-of-means", torch.linspace(-1.0, 1.0, 128))

    def un_normalize(self, x):
        return x * self.get_buffer("std-of-means").view(1, -1, 1, 1, 1) + self.get_buffer(
            "mean-of-means"
        ).view(1, -1, 1, 1, 1)

    def normalize(self, x):
        return (x - self.get_buffer("mean-of-means").view(1, -1, 1, 1, 1)) / self.get_buffer(
            "std-of-means"
        ).view(1, -1, 1, 1, 1)


def test_upsampler_interpolation_runs_the_model_on_un_normalized_keyframes(fakes):
    _, patcher = _ltxv(fakes)
    guider = _guider(fakes, patcher)
    node = LTX2EfficientVideoSampler()
    upscale_model = TemporalUpsampler()
    statistics = Statistics()
    vae = SimpleNamespace(first_stage_model=SimpleNamespace(per_channel_statistics=statistics))
    knobs = _knobs(
        node,
        frame_stride=2,
        attention_window=1,
        interpolation="upsampler",
        refine_steps=0,
        refine_strength=0.4,
    )
    result = node.execute(
        fakes.Noise_RandomNoise(SEED), guider, fakes.sampler_object("euler"), SIGMAS, _empty_latent(), "off",
        temporal_upsampler=upscale_model, vae=vae, **knobs,
    )  # fmt: skip

    ((_, phase1),) = guider.history
    (seen,) = upscale_model.inputs
    assert torch.allclose(seen, statistics.un_normalize(phase1), atol=1e-6)
    out = result.args[0]["samples"]
    assert torch.equal(out[:, :, 0::2], phase1)
    between = statistics.normalize(torch.maximum(seen[:, :, :-1], seen[:, :, 1:]))
    assert torch.allclose(out[:, :, 1::2], between, atol=1e-5)
    assert not torch.allclose(out[:, :, 1::2], 0.5 * (phase1[:, :, :-1] + phase1[:, :, 1:]), atol=1e-3)
    assert "4 of 7 latent frames diffused" in result.ui["text"][0]


def test_upsampler_interpolation_needs_the_model_and_an_ltx_vae(fakes):
    _, patcher = _ltxv(fakes)
    node = LTX2EfficientVideoSampler()
    knobs = _knobs(node, frame_stride=2, interpolation="upsampler")
    args = (fakes.Noise_RandomNoise(SEED), _guider(fakes, patcher), fakes.sampler_object("euler"), SIGMAS)
    with pytest.raises(ValueError, match="temporal_upsampler and vae must be connected"):
        node.execute(*args, _empty_latent(), "off", temporal_upsampler=TemporalUpsampler(), **knobs)
    with pytest.raises(ValueError, match="vae must be an LTX video VAE"):
        node.execute(
            *args, _empty_latent(), "off", temporal_upsampler=TemporalUpsampler(),
            vae=SimpleNamespace(first_stage_model=torch.nn.Identity()), **knobs,
        )  # fmt: skip


# ---------------------------------------------------------------- the model patch node


def test_model_patch_returns_a_clone_whose_video_self_attention_is_windowed(fakes, caplog):
    model, patcher = _ltxv(fakes)
    seen = []

    def other_node_override(func, *args, **kwargs):
        seen.append((func, tuple(args[0].shape), tuple(args[1].shape), args[3]))
        return func(*args, **kwargs)

    patcher.model_options["transformer_options"]["optimized_attention_override"] = other_node_override
    sample = fakes.sampler_object("euler")
    latent = _empty_latent()
    base_out, _ = fakes.sampler_custom_advanced(
        fakes.Noise_RandomNoise(SEED), _guider(fakes, patcher), sample, SIGMAS, latent
    )
    comfy_attention = fakes.attention_pytorch.__wrapped__
    assert seen and all(func is comfy_attention for func, *_ in seen)
    seen.clear()

    node = LTX2EfficientModelPatch()
    with caplog.at_level(logging.INFO, logger="ltx2_efficient"):
        (narrow,) = node.execute(patcher, "off", **_knobs(node, attention_window=0, anchor_frame="off"))
        narrow_out, _ = fakes.sampler_custom_advanced(
            fakes.Noise_RandomNoise(SEED), _guider(fakes, narrow), sample, SIGMAS, latent
        )
    assert narrow is not patcher and narrow.model is patcher.model
    assert patcher.wrappers == {} and patcher.object_patches == {}
    assert patcher.model_options["transformer_options"] == {
        "optimized_attention_override": other_node_override
    }

    tokens, width = FRAMES * HEIGHT * WIDTH, 8
    windowed = [s for s in seen if s[0] is not comfy_attention]
    others = [s for s in seen if s[0] is comfy_attention]
    # The other node's override still wraps every attention call; ours hands it the windowed
    # function for the video self-attention only (2 blocks x 6 steps).
    assert len(windowed) == 2 * STEPS and len(others) == 2 * STEPS
    assert all(s[1:] == ((2 * BATCH, tokens, width), (2 * BATCH, tokens, width), 2) for s in windowed)
    assert all(s[2] == (2 * BATCH, 7, width) for s in others)  # text cross-attention
    assert not _close(narrow_out["samples"], base_out["samples"], 1e-3)
    lines = [r.getMessage() for r in caplog.records]
    assert any(line.startswith("LTX2 Efficient Model Patch on LTX-Video (LTXVModel") for line in lines)
    assert any("window K=0 on every step (2 blocks; pair fraction" in line for line in lines)

    # A window wider than the clip is dense attention to rounding.
    (wide,) = node.execute(patcher, "off", **_knobs(node, attention_window=FRAMES))
    wide_out, _ = fakes.sampler_custom_advanced(
        fakes.Noise_RandomNoise(SEED), _guider(fakes, wide), sample, SIGMAS, latent
    )
    assert _close(wide_out["samples"], base_out["samples"])


def test_model_patch_rejects_a_model_that_is_not_ltx(fakes):
    patcher = fakes.make_patcher(fakes.HunyuanVideo())
    with pytest.raises(ValueError, match="HunyuanVideo"):
        LTX2EfficientModelPatch.execute(patcher, "balanced")


# ---------------------------------------------------------------- step reuse under ComfyUI batching

REUSE_SIGMAS = torch.linspace(1.0, 0.0, 11)


def _reuse_settings():
    return EfficientSettings.from_preset("off", reuse_start=0.2, reuse_threshold=5.0, max_consecutive_reuse=3)


def test_step_reuse_skips_model_calls_when_cond_and_uncond_are_batched(fakes):
    model, patcher = _ltxv(fakes)
    result = _run(fakes, _guider(fakes, patcher), _empty_latent(), _reuse_settings(), sigmas=REUSE_SIGMAS)
    summary = result.report.reuse["video"]
    assert summary.reused >= 1 and summary.computed + summary.reused == 10
    assert len(model.calls) == summary.computed  # one batched call per computed step
    assert torch.isfinite(result.output["samples"]).all()


def test_step_reuse_follows_comfyui_splitting_cond_and_uncond_mid_run(fakes):
    """ComfyUI batches cond and uncond only while they fit in free memory, so the batch of the
    video input, and the calls of a step (``uuids``), can change from one step to the next."""
    model, patcher = _ltxv(fakes)
    reference = _run(fakes, _guider(fakes, patcher), _empty_latent(), _reuse_settings(), sigmas=REUSE_SIGMAS)
    assert reference.report.reuse["video"].reused >= 1
    reference_calls = len(model.calls)

    asked = []

    def free_memory():  # room for cond + uncond together in steps 0-2, then one at a time
        asked.append(1)
        return float(1 << 40) if len(asked) <= 3 else 0.0

    fakes.free_memory_bytes = free_memory
    result = _run(fakes, _guider(fakes, patcher), _empty_latent(), _reuse_settings(), sigmas=REUSE_SIGMAS)

    calls = model.calls[reference_calls:]
    early = [c for c in calls if c["sigma"] > 0.75]
    late = [c for c in calls if c["sigma"] < 0.75]
    assert early and all(c["batch"] == 2 * BATCH and len(c["uuids"]) == 2 for c in early)
    assert late and all(c["batch"] == BATCH and len(c["uuids"]) == 1 for c in late)
    decisions = result.report.reuse["video"].decisions
    assert [step for step, _, _ in decisions] == list(range(10))
    assert decisions[3][1] is False  # the first split step has nothing cached for its calls
    assert any(reused for step, reused, _ in decisions if step > 3)  # reuse resumes per call
    computed_late = [step for step, reused, _ in decisions if step >= 3 and not reused]
    assert len(late) == 2 * len(computed_late)  # cond and uncond each ran in every computed step
    out = result.output["samples"]
    assert out.shape == (BATCH, 128, FRAMES, HEIGHT, WIDTH) and torch.isfinite(out).all()
