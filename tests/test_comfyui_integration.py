"""The nodes inside a real ComfyUI checkout, on tiny LTX models with random weights (CPU).

Runs when ``COMFYUI_DIR`` points at a ComfyUI checkout whose Python requirements are installed
in this environment; skipped otherwise. It builds a tiny LTXV (video) and a tiny LTX-2 (audio +
video) transformer from ComfyUI's own model classes, samples with ComfyUI's CFGGuider, euler
sampler and SamplerCustomAdvanced, and checks our nodes against them: the sampler at stride 1
equals SamplerCustomAdvanced, stride 2 + window keeps shapes, the image-to-video frame and the
audio; the model patch works under a core sampler; the latent interpolate node expands keyframes.

Passed against ComfyUI 0.20.1 (commit aa9d2fc713664e9ffe37763f4c9240c0c3eda667, 2026-05-10) with
torch 2.13.0 on the CPU.
"""

from __future__ import annotations

import logging
import math
import os
import sys
from types import SimpleNamespace

import pytest

COMFYUI_DIR = os.environ.get("COMFYUI_DIR", "")
pytestmark = pytest.mark.skipif(not COMFYUI_DIR, reason="COMFYUI_DIR is not set to a ComfyUI checkout")

torch = pytest.importorskip("torch")

STEPS = 6
WIDTH, HEIGHT, LENGTH = 128, 64, 41  # latent grid 6 x 2 x 4
BATCH = 2


@pytest.fixture(scope="module")
def comfy():
    if COMFYUI_DIR not in sys.path:
        sys.path.insert(0, COMFYUI_DIR)
    from comfy.cli_args import args

    if not torch.cuda.is_available():
        args.cpu = True
    # PyTorch SDPA, what ComfyUI picks on GPUs; its CPU default (sub-quadratic attention) does not
    # take LTX's text attention mask.
    args.use_pytorch_cross_attention = True
    import comfy.model_management
    import comfy.model_patcher
    import comfy.nested_tensor
    import comfy.samplers
    import comfy.supported_models
    import comfy_extras.nodes_custom_sampler as custom_sampler
    import comfy_extras.nodes_lt as nodes_lt

    return SimpleNamespace(
        mm=comfy.model_management,
        model_patcher=comfy.model_patcher,
        nested=comfy.nested_tensor,
        samplers=comfy.samplers,
        supported=comfy.supported_models,
        custom=custom_sampler,
        lt=nodes_lt,
    )


def _random_init(model, seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=generator) * 0.05)


def _patcher(comfy, config_class, unet_config: dict, seed: int):
    config = config_class(dict(unet_config))
    config.set_inference_dtype(torch.float32, None)
    base = config.get_model({}, device=torch.device("cpu"))
    _random_init(base.diffusion_model, seed)
    device = torch.device("cpu")
    return comfy.model_patcher.ModelPatcher(base, load_device=device, offload_device=device)


@pytest.fixture(scope="module")
def ltxv(comfy):
    unet = {
        "image_model": "ltxv",
        "in_channels": 128,
        "cross_attention_dim": 32,
        "attention_head_dim": 8,
        "num_attention_heads": 4,
        "caption_channels": 16,
        "num_layers": 2,
    }
    return _patcher(comfy, comfy.supported.LTXV, unet, seed=1)


@pytest.fixture(scope="module")
def ltxav(comfy):
    unet = {
        "image_model": "ltxav",
        "in_channels": 128,
        "audio_in_channels": 128,
        "cross_attention_dim": 32,
        "audio_cross_attention_dim": 16,
        "attention_head_dim": 8,
        "audio_attention_head_dim": 4,
        "num_attention_heads": 4,
        "audio_num_attention_heads": 4,
        "caption_channels": 16,
        "num_layers": 2,
        "connector_attention_head_dim": 4,
        "connector_num_attention_heads": 2,
        "connector_num_layers": 1,
    }
    return _patcher(comfy, comfy.supported.LTXAV, unet, seed=2)


def _conditioning(width: int, seed: int, tokens: int = 7):
    generator = torch.Generator().manual_seed(seed)
    pos = torch.randn((1, tokens, width), generator=generator)
    neg = torch.randn((1, tokens, width), generator=generator)
    mask = torch.ones((1, tokens), dtype=torch.long)  # what LTX text encoders return with the embeddings
    return (
        [[pos, {"frame_rate": 24.0, "attention_mask": mask}]],
        [[neg, {"frame_rate": 24.0, "attention_mask": mask}]],
    )


def _guider(comfy, patcher, width: int, cfg: float = 3.0):
    positive, negative = _conditioning(width, seed=3)
    guider = comfy.samplers.CFGGuider(patcher)
    guider.set_conds(positive, negative)
    guider.set_cfg(cfg)
    return guider


def _sigmas(comfy):
    out = comfy.lt.LTXVScheduler.execute(STEPS, 2.05, 0.95, True, 0.1)
    return out.args[0]


def _video_latent(comfy):
    return comfy.lt.EmptyLTXVLatentVideo.execute(WIDTH, HEIGHT, LENGTH, BATCH).args[0]


def _baseline(comfy, guider, latent, seed: int = 7):
    noise = comfy.custom.Noise_RandomNoise(seed)
    sampler = comfy.samplers.sampler_object("euler")
    out = comfy.custom.SamplerCustomAdvanced.execute(noise, guider, sampler, _sigmas(comfy), latent)
    return out.args


def _with_knobs(node, skip: tuple[str, ...], **knobs):
    """The node's widget defaults (every knob following the preset) plus ``knobs``; a number
    knob given here has its ``<name>_mode`` switched to "custom"."""
    required = node.INPUT_TYPES()["required"]
    values = {name: spec[1]["default"] for name, spec in required.items() if name not in skip} | knobs
    for name in knobs:
        if f"{name}_mode" in required:
            values[f"{name}_mode"] = "custom"
    return values


def _ours(comfy, guider, latent, preset: str = "off", seed: int = 7, **knobs):
    from ltx2_efficient.hosts.comfyui.node_video_sampler import LTX2EfficientVideoSampler

    noise = comfy.custom.Noise_RandomNoise(seed)
    sampler = comfy.samplers.sampler_object("euler")
    values = _with_knobs(
        LTX2EfficientVideoSampler, ("noise", "guider", "sampler", "sigmas", "latent_image", "preset"), **knobs
    )
    result = LTX2EfficientVideoSampler.execute(
        noise, guider, sampler, _sigmas(comfy), latent, preset, **values
    )
    return result.args, result.ui["text"][0]


def _close(a, b, tol: float = 1e-5) -> bool:
    return float((a - b).norm() / b.norm().clamp_min(1e-12)) < tol


def test_stride1_off_equals_sampler_custom_advanced(comfy, ltxv):
    latent = _video_latent(comfy)
    base_out, base_denoised = _baseline(comfy, _guider(comfy, ltxv, 16), latent)
    (out, denoised), line = _ours(comfy, _guider(comfy, ltxv, 16), latent, "off")
    assert torch.equal(out["samples"], base_out["samples"])
    assert torch.equal(denoised["samples"], base_denoised["samples"])
    assert "dense attention" in line and f"0/{STEPS} steps reused" in line
    # Lossless text K/V reuse: 2 blocks x (k, v), computed in the first step, reused after.
    assert f"text K/V reused {4 * (STEPS - 1)}/{4 * STEPS}" in line


def test_stride1_wide_window_equals_baseline_to_rounding(comfy, ltxv):
    latent = _video_latent(comfy)
    base_out, _ = _baseline(comfy, _guider(comfy, ltxv, 16), latent)
    (out, _), line = _ours(comfy, _guider(comfy, ltxv, 16), latent, "off", attention_window=8)
    assert _close(out["samples"], base_out["samples"])
    assert "window K=8 on every step (2 blocks" in line


def test_stride2_window_video(comfy, ltxv, monkeypatch):
    import comfy.ldm.lightricks.model as lightricks

    latent = _video_latent(comfy)
    base_out, _ = _baseline(comfy, _guider(comfy, ltxv, 16), latent)
    rates = []
    original = lightricks.LTXBaseModel._prepare_positional_embeddings

    def spy(self, pixel_coords, frame_rate, x_dtype):
        rates.append((float(frame_rate), int(pixel_coords.shape[2])))
        return original(self, pixel_coords, frame_rate, x_dtype)

    monkeypatch.setattr(lightricks.LTXBaseModel, "_prepare_positional_embeddings", spy)
    (out, denoised), line = _ours(
        comfy, _guider(comfy, ltxv, 16), latent, "off", frame_stride=2, attention_window=1,
        interpolation="lerp", refine_steps=2, refine_strength=0.4,
    )  # fmt: skip
    samples = out["samples"]
    assert samples.shape == base_out["samples"].shape
    assert torch.isfinite(samples).all()
    assert denoised["samples"].shape == samples.shape
    assert "4 of 6 latent frames diffused, 2 refine steps" in line
    # The model sees the keyframes (4 x 2 x 4 tokens) at 24 / 2 fps, then the clip at 24 fps.
    assert rates == [(12.0, 32)] * STEPS + [(24.0, 48)] * 2
    assert "window K=1" in line and "pair fraction" in line


def test_image_to_video_frame_is_kept(comfy, ltxv):
    latent = _video_latent(comfy)
    generator = torch.Generator().manual_seed(11)
    samples = latent["samples"].clone()
    samples[:, :, :1] = torch.randn(samples[:, :, :1].shape, generator=generator)
    mask = torch.ones((BATCH, 1, samples.shape[2], 1, 1))
    mask[:, :, :1] = 0.0
    i2v = {"samples": samples, "noise_mask": mask}
    (out, _), _ = _ours(
        comfy, _guider(comfy, ltxv, 16), i2v, "off", frame_stride=3, attention_window=1,
        interpolation="slerp", refine_steps=2, refine_strength=0.5,
    )  # fmt: skip
    # Kept like SamplerCustomAdvanced keeps it: the last Euler step lands on it to rounding.
    assert torch.allclose(out["samples"][:, :, :1], samples[:, :, :1], atol=1e-5)
    assert not torch.equal(out["samples"][:, :, 1:], samples[:, :, 1:])


def _av_latent(comfy, audio_frames: int = 9):
    video = _video_latent(comfy)["samples"]
    audio = torch.zeros((BATCH, 8, audio_frames, 16))
    return {"samples": comfy.nested.NestedTensor((video, audio))}


def test_audio_video_stride1_off_equals_baseline(comfy, ltxav):
    latent = _av_latent(comfy)
    base_out, _ = _baseline(comfy, _guider(comfy, ltxav, 32), latent)
    (out, _), _ = _ours(comfy, _guider(comfy, ltxav, 32), latent, "off")
    for ours, theirs in zip(out["samples"].unbind(), base_out["samples"].unbind(), strict=True):
        assert torch.equal(ours, theirs)


def test_audio_video_stride2_window(comfy, ltxav):
    latent = _av_latent(comfy)
    (out, _), line = _ours(
        comfy, _guider(comfy, ltxav, 32), latent, "off", frame_stride=2, attention_window=1,
        interpolation="motion", refine_steps=2, refine_strength=0.4,
    )  # fmt: skip
    video, audio = out["samples"].unbind()
    assert video.shape == latent["samples"].unbind()[0].shape
    assert audio.shape == latent["samples"].unbind()[1].shape
    assert torch.isfinite(video).all() and torch.isfinite(audio).all()
    assert "window K=1" in line


def test_model_patch_with_core_sampler(comfy, ltxv, caplog):
    from ltx2_efficient.hosts.comfyui.node_model_patch import LTX2EfficientModelPatch

    latent = _video_latent(comfy)
    base_out, _ = _baseline(comfy, _guider(comfy, ltxv, 16), latent)
    node = LTX2EfficientModelPatch
    (wide,) = node.execute(ltxv, "off", **_with_knobs(node, ("model", "preset"), attention_window=8))
    wide_out, _ = _baseline(comfy, _guider(comfy, wide, 16), latent)
    assert _close(wide_out["samples"], base_out["samples"])
    (narrow,) = node.execute(
        ltxv, "off", **_with_knobs(node, ("model", "preset"), attention_window=0, anchor_frame="off")
    )
    with caplog.at_level(logging.INFO, logger="ltx2_efficient"):
        narrow_out, _ = _baseline(comfy, _guider(comfy, narrow, 16), latent)
    assert not _close(narrow_out["samples"], base_out["samples"], 1e-3)
    assert any("window K=0 on every step (2 blocks" in r.getMessage() for r in caplog.records)
    assert ltxv.model_options["transformer_options"].get("optimized_attention_override") is None


def test_activation_budget_chunks_the_feed_forward_through_object_patches(comfy, ltxv, monkeypatch):
    from ltx2_efficient.hosts.comfyui import feed_forward_chunks, model_wrappers

    latent = _video_latent(comfy)
    base_out, _ = _baseline(comfy, _guider(comfy, ltxv, 16), latent)
    calls = []
    original = feed_forward_chunks.ChunkedForward.__call__

    def counting(self, x):
        calls.append((x.shape[1], self.chunk.tokens))
        return original(self, x)

    # The tiny model fits any budget unchunked; force 7-token chunks to exercise ComfyUI's patching.
    monkeypatch.setattr(model_wrappers, "_chunk_tokens", lambda *args: 7)
    monkeypatch.setattr(feed_forward_chunks.ChunkedForward, "__call__", counting)
    (out, _), line = _ours(comfy, _guider(comfy, ltxv, 16), latent, "off", activation_budget_mb=64)
    assert _close(out["samples"], base_out["samples"])
    assert calls and all(size == 7 for _, size in calls) and len(calls) == 2 * STEPS  # 2 blocks
    assert "feed-forward in chunks of 7 tokens" in line
    # The original model is restored when ComfyUI loads it again for another patcher.
    count = len(calls)
    again, _ = _baseline(comfy, _guider(comfy, ltxv, 16), latent)
    assert len(calls) == count and torch.equal(again["samples"], base_out["samples"])


def test_keyframe_guides_are_kept_and_positioned(comfy, ltxv):
    latent = _video_latent(comfy)
    samples = latent["samples"]
    positive, negative = _conditioning(16, seed=3)
    generator = torch.Generator().manual_seed(12)
    guide = torch.randn((BATCH, 128, 1, samples.shape[3], samples.shape[4]), generator=generator)
    mask = torch.ones((BATCH, 1, samples.shape[2], 1, 1))
    positive, negative, with_guide, guide_mask = comfy.lt.LTXVAddGuide.append_keyframe(
        positive, negative, 24, samples, mask, guide, 1.0, (8, 32, 32)
    )
    guider = comfy.samplers.CFGGuider(ltxv)
    guider.set_conds(positive, negative)
    guider.set_cfg(3.0)
    guided = {"samples": with_guide, "noise_mask": guide_mask}
    (out, _), line = _ours(
        comfy, guider, guided, "off", frame_stride=2, attention_window=1,
        interpolation="lerp", refine_steps=2, refine_strength=0.4,
    )  # fmt: skip
    result = out["samples"]
    assert result.shape == with_guide.shape  # the guide frame stays appended after the 6 grid frames
    assert torch.allclose(result[:, :, -1:], guide, atol=1e-5)
    assert "5 of 6 latent frames diffused" in line and "window K=1" in line  # frame 3 (pixel 24) pinned


def test_cancel_stops_the_run_and_logs_it(comfy, ltxv, caplog):
    latent = _video_latent(comfy)
    comfy.mm.interrupt_current_processing(True)
    try:
        with (
            caplog.at_level(logging.INFO, logger="ltx2_efficient"),
            pytest.raises(comfy.mm.InterruptProcessingException),
        ):
            _ours(comfy, _guider(comfy, ltxv, 16), latent, "balanced")
    finally:
        comfy.mm.interrupt_current_processing(False)
    assert any("cancelled" in r.getMessage() for r in caplog.records)


def test_preset_ladder_does_less_work(comfy, ltxv):
    """Each preset's schedule, with its reuse threshold at the table's bound: a random-weight model
    never settles under the presets' own thresholds (on it balanced and fast would reuse the same
    steps), so the ladder is checked on what a trained model reaches, each preset's reuse start
    and cap."""
    from ltx2_efficient.hosts.comfyui.efficient_sampling import sample_efficient
    from ltx2_efficient.sampler.settings import KNOB_ROWS, EfficientSettings

    bound = next(row["max"] for row in KNOB_ROWS if row["name"] == "reuse_threshold")

    latent = comfy.lt.EmptyLTXVLatentVideo.execute(WIDTH, HEIGHT, 97, 1).args[0]  # 13 latent frames
    sigmas = comfy.lt.LTXVScheduler.execute(30, 2.05, 0.95, True, 0.1).args[0]  # 30 steps, as LTX-2 runs
    reports = {}
    for preset in ("off", "quality", "balanced", "fast"):
        result = sample_efficient(
            comfy.custom.Noise_RandomNoise(7), _guider(comfy, ltxv, 16), comfy.samplers.sampler_object("euler"),
            sigmas, latent, EfficientSettings.from_preset(preset, reuse_threshold=bound if preset != "off" else 0.0),
        )  # fmt: skip
        reports[preset] = result.report
    work = {p: r.token_passes for p, r in reports.items()}
    pairs = {p: r.attention.pairs for p, r in reports.items()}
    assert reports["off"].work_fraction == 1.0 and reports["off"].pair_fraction == 1.0
    assert pairs["off"] > pairs["quality"] > pairs["balanced"] > pairs["fast"]
    assert work["off"] >= work["quality"] > work["balanced"] > work["fast"]


def test_sampler_settings_replace_an_upstream_model_patch(comfy, ltxv):
    from ltx2_efficient.hosts.comfyui.node_model_patch import LTX2EfficientModelPatch

    latent = _video_latent(comfy)
    base_out, _ = _baseline(comfy, _guider(comfy, ltxv, 16), latent)
    node = LTX2EfficientModelPatch
    (narrow,) = node.execute(ltxv, "off", **_with_knobs(node, ("model", "preset"), attention_window=0))
    (out, _), line = _ours(comfy, _guider(comfy, narrow, 16), latent, "off")
    assert torch.equal(out["samples"], base_out["samples"])  # one patch, the sampler's: dense
    assert "dense attention" in line


def test_model_patch_rejects_other_models(comfy):
    from ltx2_efficient.hosts.comfyui.node_model_patch import LTX2EfficientModelPatch

    config = comfy.supported.HunyuanVideo({"image_model": "hunyuan_video"})
    fake = SimpleNamespace(model=SimpleNamespace(diffusion_model=torch.nn.Linear(2, 2)), model_config=config)
    with pytest.raises(ValueError, match="Linear"):
        LTX2EfficientModelPatch.execute(fake, "balanced")


def test_latent_interpolate(comfy):
    from ltx2_efficient.hosts.comfyui.node_latent_interpolate import LTX2LatentInterpolate

    generator = torch.Generator().manual_seed(5)
    keyframes = torch.randn((BATCH, 128, 4, 2, 4), generator=generator)
    (out,) = LTX2LatentInterpolate.execute({"samples": keyframes}, LENGTH, 2, "lerp")
    full = out["samples"]
    assert full.shape == (BATCH, 128, 6, 2, 4)
    assert torch.equal(full[:, :, 0], keyframes[:, :, 0])
    assert torch.equal(full[:, :, 2], keyframes[:, :, 1])
    assert torch.allclose(full[:, :, 1], 0.5 * (keyframes[:, :, 0] + keyframes[:, :, 1]), atol=1e-6)


def test_our_wrapper_kinds_are_comfyuis(comfy):
    from comfy.patcher_extension import WrappersMP

    from ltx2_efficient.hosts.comfyui.model_wrappers import DIFFUSION_MODEL, OUTER_SAMPLE, PREDICT_NOISE

    assert (OUTER_SAMPLE, DIFFUSION_MODEL, PREDICT_NOISE) == (
        WrappersMP.OUTER_SAMPLE,
        WrappersMP.DIFFUSION_MODEL,
        WrappersMP.PREDICT_NOISE,
    )


# ---- tests/comfy_fakes.py checked against real ComfyUI ----


@pytest.fixture
def fakes(repo_script):
    return repo_script("tests/comfy_fakes.py", "comfy_fakes_against_real")


def _fake_and_real_patchers(comfy, fakes, seed: int = 1):
    """The fakes' tiny transformer (same weights twice): in the fakes' model patcher, and in a real
    ComfyUI LTXV BaseModel and ModelPatcher."""
    fake_transformer, real_transformer = fakes.LTXVModel(seed=seed), fakes.LTXVModel(seed=seed)
    config = comfy.supported.LTXV({"image_model": "ltxv", "num_layers": 1, "attention_head_dim": 4,
                                   "num_attention_heads": 2, "cross_attention_dim": 8, "caption_channels": 6})  # fmt: skip
    config.set_inference_dtype(torch.float32, None)
    base = config.get_model({}, device=torch.device("cpu"))
    base.diffusion_model = real_transformer
    cpu = torch.device("cpu")
    real = comfy.model_patcher.ModelPatcher(base, load_device=cpu, offload_device=cpu)
    return (fakes.make_patcher(fake_transformer), fake_transformer), (real, real_transformer)


def _fake_conditioning(seed: int = 3):
    generator = torch.Generator().manual_seed(seed)
    pos, neg = (torch.randn((1, 7, 6), generator=generator) for _ in range(2))
    return [[pos, {"frame_rate": 24.0}]], [[neg, {"frame_rate": 24.0}]]


def _set_up(guider, cfg: float = 3.0):
    guider.set_conds(*_fake_conditioning())
    guider.set_cfg(cfg)
    return guider


def _latents():
    generator = torch.Generator().manual_seed(11)
    empty = {"samples": torch.zeros((BATCH, 128, 5, 2, 3))}
    samples = torch.zeros((BATCH, 128, 5, 2, 3))
    samples[:, :, :1] = torch.randn(samples[:, :, :1].shape, generator=generator)
    mask = torch.ones((BATCH, 1, 5, 1, 1))
    mask[:, :, :1] = 0.0
    return {"text to video": empty, "image to video": {"samples": samples, "noise_mask": mask}}


def _calls(transformer):
    return [(c["frames"], c["batch"], c["frame_rate"], round(c["sigma"], 6)) for c in transformer.calls]


@pytest.mark.parametrize("case", ["text to video", "image to video"])
def test_the_fakes_sample_like_real_comfyui(comfy, fakes, case):
    """Same transformer, same inputs: the fakes' CFGGuider + SamplerCustomAdvanced give what
    ComfyUI's give (outputs, and the calls the transformer sees)."""
    latent = _latents()[case]
    (fake_patcher, fake_model), (real_patcher, real_model) = _fake_and_real_patchers(comfy, fakes)
    sigmas = _sigmas(comfy)
    fake_out, fake_denoised = fakes.sampler_custom_advanced(
        fakes.Noise_RandomNoise(7), _set_up(fakes.CFGGuider(fake_patcher)), fakes.sampler_object("euler"),
        sigmas, latent,
    )  # fmt: skip
    real_out, real_denoised = comfy.custom.SamplerCustomAdvanced.execute(
        comfy.custom.Noise_RandomNoise(7), _set_up(comfy.samplers.CFGGuider(real_patcher)),
        comfy.samplers.sampler_object("euler"), sigmas, latent,
    ).args  # fmt: skip
    assert _calls(fake_model) == _calls(real_model) and len(real_model.calls) == STEPS
    assert _close(fake_out["samples"], real_out["samples"])
    assert _close(fake_denoised["samples"], real_denoised["samples"])
    assert set(fake_out) == set(real_out)  # the noise mask passes through alike


def test_our_sampler_runs_alike_on_the_fakes_and_in_real_comfyui(comfy, fakes, monkeypatch):
    """What CI checks on the fakes holds in ComfyUI: keyframes, window and reuse give the same
    result and the same report through both."""
    from ltx2_efficient.hosts.comfyui.efficient_sampling import sample_efficient
    from ltx2_efficient.sampler.settings import EfficientSettings

    settings = EfficientSettings.from_preset(
        "off", frame_stride=2, window=1, reuse_start=0.2, reuse_threshold=10.0, max_consecutive_reuse=1,
        refine_steps=2, refine_strength=0.4, interpolation="lerp",
    )  # fmt: skip
    latent = _latents()["image to video"]
    (fake_patcher, fake_model), (real_patcher, real_model) = _fake_and_real_patchers(comfy, fakes)
    sigmas = _sigmas(comfy)
    real = sample_efficient(
        comfy.custom.Noise_RandomNoise(7), _set_up(comfy.samplers.CFGGuider(real_patcher)),
        comfy.samplers.sampler_object("euler"), sigmas, latent, settings,
    )  # fmt: skip
    with monkeypatch.context() as patched:  # the host imports comfy.* lazily: the fakes for this run
        for name, module in fakes.host_modules().items():
            patched.setitem(sys.modules, name, module)
        fake = sample_efficient(
            fakes.Noise_RandomNoise(7), _set_up(fakes.CFGGuider(fake_patcher)), fakes.sampler_object("euler"),
            sigmas, latent, settings,
        )  # fmt: skip
    assert _calls(fake_model) == _calls(real_model)
    assert _close(fake.output["samples"], real.output["samples"])
    assert _close(fake.denoised["samples"], real.denoised["samples"])
    line = real.report.log_line()
    assert fake.report.log_line().rsplit(";", 1)[0] == line.rsplit(";", 1)[0]  # all but the time
    assert "window K=1" in line and "refine steps" in line


# ---------------------------------------------------------------- the step schedule (issue 18)


def _scheduled(comfy, guider, latent, settings, sampler: str = "euler", seed: int = 7):
    from ltx2_efficient.hosts.comfyui.efficient_sampling import sample_efficient

    return sample_efficient(
        comfy.custom.Noise_RandomNoise(seed), guider, comfy.samplers.sampler_object(sampler),
        _sigmas(comfy), latent, settings,
    )  # fmt: skip


def _attention_spy(patcher):
    """A clone of ``patcher`` with another node's override under ours: records (sigma, whether
    the call ran windowed, key tokens) for every attention call."""
    from ltx2_efficient.hosts.comfyui.run_state import RUN_KEY

    seen = []

    def other_node_override(func, *args, **kwargs):
        options = kwargs.get("transformer_options", {})
        run = options.get(RUN_KEY)
        before = run.stats.windowed_calls if run is not None else 0
        out = func(*args, **kwargs)
        windowed = run is not None and run.stats.windowed_calls > before
        seen.append((float(options["sigmas"].flatten()[0]), windowed, int(args[1].shape[-2])))
        return out

    spied = patcher.clone()
    spied.model_options["transformer_options"]["optimized_attention_override"] = other_node_override
    return spied, seen


@pytest.mark.parametrize("sampler", ["euler", "euler_ancestral", "heun", "dpmpp_sde", "res_multistep"])
def test_window_only_on_the_scheduled_steps_with_comfyuis_samplers(comfy, ltxv, sampler):
    from ltx2_efficient.sampler.settings import EfficientSettings

    spied, seen = _attention_spy(ltxv)
    settings = EfficientSettings.from_preset("off", window=0, window_start=0.5)  # steps 4-6 of 6
    result = _scheduled(comfy, _guider(comfy, spied, 16), _video_latent(comfy), settings, sampler)
    sigmas = _sigmas(comfy)
    window_from = float(sigmas[3])
    video_self = [(s, w) for s, w, keys in seen if keys == 48]  # 6 x 2 x 4 video tokens
    assert video_self and [w for _, w in video_self] == [s <= window_from * (1 + 1e-6) for s, _ in video_self]
    assert all(not w for _, w, keys in seen if keys != 48)
    assert result.report.window_steps == [3, 4, 5]
    assert "window K=0 on steps 4-6 (2 blocks; pair fraction" in result.report.log_line()


def test_head_wise_windows_run_inside_comfyui(comfy, ltxv):
    from ltx2_efficient.sampler.settings import EfficientSettings

    # A window over all 6 latent frames holds all of every head's mass: every head windows.
    settings = EfficientSettings.from_preset("off", window=5, window_start=0.5, window_head_recall=1.0)
    result = _scheduled(comfy, _guider(comfy, ltxv, 16), _video_latent(comfy), settings)
    stats = result.report.attention
    assert stats.windowed_calls > 0 and stats.heads_windowed == stats.heads_measured > 0
    assert "head-calls windowed" in result.report.log_line()


def test_dense_first_block_stays_dense_on_windowed_steps(comfy, ltxv):
    from ltx2_efficient.sampler.settings import EfficientSettings

    spied, seen = _attention_spy(ltxv)
    settings = EfficientSettings.from_preset("off", window=0, dense_first_blocks=1)
    result = _scheduled(comfy, _guider(comfy, spied, 16), _video_latent(comfy), settings)
    video_self = [w for _, w, keys in seen if keys == 48]
    assert video_self == [False, True] * STEPS  # block 0 dense, block 1 windowed, every call
    assert "window K=0 on every step (dense blocks 1 of 2; pair fraction" in result.report.log_line()


def _bottleneck_settings(**overrides):
    from ltx2_efficient.sampler.settings import EfficientSettings

    values = {
        "frame_stride": 2,
        "keyframe_mode": "bottleneck",
        "keyframe_start": 1 / 3,
        "keyframe_end": 2 / 3,
    }
    return EfficientSettings.from_preset("off", **(values | overrides))


def test_bottleneck_keyframes_in_the_middle_steps(comfy, ltxv, monkeypatch):
    import comfy.ldm.lightricks.model as lightricks

    latent = _video_latent(comfy)
    base_out, _ = _baseline(comfy, _guider(comfy, ltxv, 16), latent)
    rates = []
    original = lightricks.LTXBaseModel._prepare_positional_embeddings

    def spy(self, pixel_coords, frame_rate, x_dtype):
        rates.append((float(frame_rate), int(pixel_coords.shape[2])))
        return original(self, pixel_coords, frame_rate, x_dtype)

    monkeypatch.setattr(lightricks.LTXBaseModel, "_prepare_positional_embeddings", spy)
    result = _scheduled(comfy, _guider(comfy, ltxv, 16), latent, _bottleneck_settings(interpolation="slerp"))
    samples = result.output["samples"]
    assert samples.shape == base_out["samples"].shape and torch.isfinite(samples).all()
    assert result.denoised["samples"].shape == samples.shape
    # Steps 1-2 every frame at 24 fps, 3-4 the keyframes (4 x 2 x 4 tokens) at 12 fps, 5-6 every frame.
    assert rates == [(24.0, 48)] * 2 + [(12.0, 32)] * 2 + [(24.0, 48)] * 2
    report = result.report
    assert report.work_fraction == pytest.approx((4 * 48 + 2 * 32) / (6 * 48))
    assert "keyframes s=2 on steps 3-4: 4 of 6 latent frames diffused" in report.log_line()
    # One trajectory: close to the dense sample, nothing like another seed's.
    other, _ = _baseline(comfy, _guider(comfy, ltxv, 16), latent, seed=8)
    base = base_out["samples"]
    assert float((samples - base).norm()) < 0.5 * float((other["samples"] - base).norm())


def test_bottleneck_audio_video_keeps_the_image_frame_and_the_audio(comfy, ltxav):
    latent = _av_latent(comfy)
    video, audio = latent["samples"].unbind()
    video = video.clone()
    video[:, :, :1] = torch.randn(video[:, :, :1].shape, generator=torch.Generator().manual_seed(11))
    mask = torch.ones((BATCH, 1, video.shape[2], 1, 1))
    mask[:, :, :1] = 0.0
    i2v = {
        "samples": comfy.nested.NestedTensor((video, audio)),
        "noise_mask": comfy.nested.NestedTensor((mask, torch.ones((BATCH, 1, audio.shape[2], 1)))),
    }
    result = _scheduled(
        comfy, _guider(comfy, ltxav, 32), i2v, _bottleneck_settings(window=1, window_start=0.5)
    )
    out_video, out_audio = result.output["samples"].unbind()
    assert out_video.shape == video.shape and out_audio.shape == audio.shape
    assert torch.isfinite(out_video).all() and torch.isfinite(out_audio).all()
    assert torch.allclose(out_video[:, :, :1], video[:, :, :1], atol=1e-4)
    line = result.report.log_line()
    assert "window K=1 on steps 4-6" in line and "keyframes s=2 on steps 3-4" in line


# ---------------------------------------------------------------- LTX2 Efficiency Check (V3 node)


def _efficiency_check(comfy, guider, latent, preset: str = "off", **knobs):
    from ltx2_efficient.hosts.comfyui.node_efficiency_check import LTX2EfficiencyCheck

    LTX2EfficiencyCheck.GET_SCHEMA()  # ComfyUI's own validation of the schema
    fixed = ("noise", "guider", "sampler", "sigmas", "latent_image", "preset")
    required = LTX2EfficiencyCheck.INPUT_TYPES()["required"]
    values = {name: spec[1]["default"] for name, spec in required.items() if name not in fixed} | knobs
    for name in knobs:
        if f"{name}_mode" in required:
            values[f"{name}_mode"] = "custom"
    out = LTX2EfficiencyCheck.execute(
        comfy.custom.Noise_RandomNoise(7), guider, comfy.samplers.sampler_object("euler"), _sigmas(comfy),
        latent, preset, **values,
    )  # fmt: skip
    import json

    return out, json.loads(out.args[3])


def test_efficiency_check_schema_is_a_valid_v3_node(comfy):
    from ltx2_efficient.hosts.comfyui.node_efficiency_check import LTX2EfficiencyCheck
    from ltx2_efficient.hosts.comfyui.node_video_sampler import LTX2EfficientVideoSampler

    inputs = LTX2EfficiencyCheck.INPUT_TYPES()  # the classic view ComfyUI's /object_info serves
    sampler = LTX2EfficientVideoSampler.INPUT_TYPES()
    for name, spec in sampler["required"].items():
        assert name in inputs["required"], name
        if len(spec) > 1 and "default" in spec[1]:
            assert inputs["required"][name][1]["default"] == spec[1]["default"], name
    # New inputs come last: saved workflows store widget values by position.
    optional = list(inputs["optional"])
    assert optional == ["vae", "audio_vae", "thermal_guard", "temporal_upsampler", "sweep", "time_budget_s"]
    assert inputs["optional"]["sweep"][0] == "STRING" and inputs["optional"]["time_budget_s"][0] == "FLOAT"
    assert tuple(LTX2EfficiencyCheck.RETURN_TYPES) == ("LATENT", "LATENT", "IMAGE", "STRING", "STRING")
    assert LTX2EfficiencyCheck.OUTPUT_NODE is True


def test_efficiency_check_off_is_identical_and_lossy_is_not(comfy, ltxv):
    from ltx2_efficient.hosts.comfyui.check_results import last_check

    latent = _video_latent(comfy)
    base_out, _ = _baseline(comfy, _guider(comfy, ltxv, 16), latent)
    out, report = _efficiency_check(comfy, _guider(comfy, ltxv, 16), latent, "off")
    assert torch.equal(out.args[0]["samples"], base_out["samples"])  # the reference is SamplerCustomAdvanced
    assert torch.equal(out.args[1]["samples"], base_out["samples"])
    assert report["video_latent"]["identical"] and report["video_latent"]["psnr_db"] is None
    assert report["dense"]["model_calls"] == STEPS  # cond + uncond batched in one call per step
    assert report["warmup_s"] > 0  # ComfyUI loaded the model in the untimed warm-up
    assert out.args[4] == ""  # no sweep, no Pareto table
    # No VAE: the comparison image is ComfyUI's latent-to-RGB preview of both runs.
    frames, height, width = out.args[0]["samples"].shape[2:]
    assert out.args[2].shape == (BATCH * frames, height, 3 * width, 3)
    assert report["comparison"]["source"] == "latent preview"
    assert last_check() == report

    out, lossy = _efficiency_check(
        comfy, _guider(comfy, ltxv, 16), latent, "off", frame_stride=2, attention_window=1,
        interpolation="lerp", refine_steps=2, refine_strength=0.4,
    )  # fmt: skip
    video = lossy["video_latent"]
    assert not video["identical"] and video["psnr_db"] is not None
    assert lossy["keyframes"][0] == 0 and len(lossy["keyframes"]) < frames  # stride 2
    assert video["interpolated"]["frames"] > 0 and "window K=1" in out.ui["text"][0]
    assert last_check() == lossy


def test_efficiency_check_ltx2_audio_video(comfy, ltxav):
    latent = _av_latent(comfy)
    out, same = _efficiency_check(comfy, _guider(comfy, ltxav, 32), latent, "off")
    assert same["audio"]["space"] == "latent" and same["audio"]["identical"]
    out, lossy = _efficiency_check(comfy, _guider(comfy, ltxav, 32), latent, "off", attention_window=1)
    # The window changes the video, and through the cross-modal attention the audio too.
    assert lossy["audio"]["relative_error"] > 0.0 and lossy["audio"]["rms_ratio"] is not None
    video = lossy["video_latent"]
    assert same["video_latent"]["psnr_db"] is None  # identical: infinite PSNR
    assert video["psnr_db"] is not None and math.isfinite(video["psnr_db"]) and not video["identical"]
    assert any("no audio VAE" in note for note in lossy["notes"])
    for a, b in zip(out.args[1]["samples"].unbind(), latent["samples"].unbind(), strict=True):
        assert a.shape == b.shape


def test_efficiency_check_sweep_needs_ssim_and_says_so_before_running(comfy, ltxv):
    from ltx2_efficient.hosts.comfyui.check_results import last_check

    # The tiny model's latent frames (2x4) are smaller than SSIM's window and there is no VAE.
    before = last_check()
    with pytest.raises(ValueError, match="a sweep needs SSIM"):
        _efficiency_check(comfy, _guider(comfy, ltxv, 16), _video_latent(comfy), "off", sweep="fast, quality")
    assert last_check() == before


def test_cancelled_efficiency_check_publishes_nothing(comfy, ltxv):
    from ltx2_efficient.hosts.comfyui.check_results import last_check

    before = last_check()

    class CancelAfter:
        steps = 0

        def between_steps(self):
            self.steps += 1
            if self.steps == STEPS + 2:  # inside the efficient run
                comfy.mm.interrupt_current_processing(True)

        def finish(self):
            pass

    try:
        with pytest.raises(comfy.mm.InterruptProcessingException):
            _efficiency_check(
                comfy, _guider(comfy, ltxv, 16), _video_latent(comfy), "balanced", thermal_guard=CancelAfter()
            )
    finally:
        comfy.mm.interrupt_current_processing(False)
    assert last_check() == before
