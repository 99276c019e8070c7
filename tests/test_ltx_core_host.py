"""The ltx-core host on ltx-core's real LTXModel at a tiny size (random seeded weights, CPU)."""

from __future__ import annotations

import re

import pytest
import torch

pytest.importorskip("ltx_core")

from ltx_core.components.diffusion_steps import EulerDiffusionStep
from ltx_core.components.guiders import CFGGuider
from ltx_core.components.noisers import GaussianNoiser
from ltx_core.components.patchifiers import AudioPatchifier, VideoLatentPatchifier
from ltx_core.conditioning.types.keyframe_cond import VideoConditionByKeyframeIndex
from ltx_core.conditioning.types.latent_cond import VideoConditionByLatentIndex
from ltx_core.model.transformer.modality import Modality
from ltx_core.model.transformer.model import LTXModel, LTXModelType, X0Model
from ltx_core.tools import AudioLatentTools, VideoLatentTools
from ltx_core.types import AudioLatentShape, VideoLatentShape

from ltx2_efficient.hosts.ltx_core import (
    AudioStream,
    GuideTokens,
    SamplingCancelled,
    apply_efficient,
    efficient_denoise,
    grid_from_positions,
    video_positions,
)
from ltx2_efficient.sampler.attention_patch import WindowedSelfAttention
from ltx2_efficient.sampler.chunking import ChunkedFeedForward
from ltx2_efficient.sampler.settings import EfficientSettings

FPS = 24.0
CTX = 32  # text context width (both streams)
AUDIO_SHAPE = (1, 2, 20, 4)  # [B, C, T, M]: 8 channels per audio token


@pytest.fixture(autouse=True)
def _one_thread():
    # Tiny matrices: one thread is faster and leaves the other core to the rest of the suite.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny_model(kind: LTXModelType, seed: int = 0) -> LTXModel:
    model = LTXModel(
        model_type=kind,
        num_attention_heads=2,
        attention_head_dim=16,
        in_channels=8,
        out_channels=8,
        num_layers=2,
        cross_attention_dim=CTX,
        audio_num_attention_heads=2,
        audio_attention_head_dim=16,
        audio_in_channels=8,
        audio_out_channels=8,
        audio_cross_attention_dim=CTX,
    )
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.05)
    return model.eval()


@pytest.fixture(scope="module")
def video_model() -> LTXModel:
    return tiny_model(LTXModelType.VideoOnly)


@pytest.fixture(scope="module")
def av_model() -> LTXModel:
    return tiny_model(LTXModelType.AudioVideo, seed=1)


def inputs(frames: int = 7, height: int = 3, width: int = 4, seed: int = 0, batch: int = 1):
    gen = torch.Generator().manual_seed(seed)
    latent = torch.randn(batch, 8, frames, height, width, generator=gen)
    ctx = torch.randn(batch, 5, CTX, generator=gen)
    neg = torch.randn(batch, 5, CTX, generator=gen)
    return latent, ctx, neg


def audio_stream(seed: int = 0, batch: int = 1) -> AudioStream:
    gen = torch.Generator().manual_seed(100 + seed)
    shape = (batch, *AUDIO_SHAPE[1:])
    return AudioStream(
        latent=torch.randn(shape, generator=gen),
        context=torch.randn(batch, 5, CTX, generator=gen),
        negative_context=torch.randn(batch, 5, CTX, generator=gen),
    )


# ---- the plain loop, built from ltx-core's own pieces (what ltx-pipelines runs) ----


def plain_loop(model, latent, sigmas, ctx, neg=None, cfg=1.0, audio=None, mask=None, clean=None):
    b = latent.shape[0]
    patch = VideoLatentPatchifier(patch_size=1)
    tools = VideoLatentTools(patch, VideoLatentShape.from_torch_shape(latent.shape), FPS)
    state = tools.create_initial_state("cpu", latent.dtype, initial_latent=latent)
    x = state.latent
    vmask = (
        state.denoise_mask if mask is None else patch.patchify(mask.expand(b, 1, *latent.shape[2:]).float())
    )
    vclean = state.clean_latent if clean is None else patch.patchify(clean)
    a_x = a_mask = a_pos = a_clean = None
    if audio is not None:
        a_tools = AudioLatentTools(
            AudioPatchifier(patch_size=1), AudioLatentShape.from_torch_shape(audio.latent.shape)
        )
        a_state = a_tools.create_initial_state("cpu", audio.latent.dtype, initial_latent=audio.latent)
        a_x, a_mask, a_pos, a_clean = (
            a_state.latent,
            a_state.denoise_mask,
            a_state.positions,
            a_state.clean_latent,
        )
    x0_model = X0Model(model)
    stepper = EulerDiffusionStep()
    guider = CFGGuider(cfg)
    sigmas = torch.as_tensor(sigmas, dtype=torch.float32)
    with torch.no_grad():
        for i in range(len(sigmas) - 1):
            sigma = sigmas[i]

            def call(vctx, actx, sigma=sigma, x=x, a_x=a_x):
                v = Modality(
                    latent=x,
                    sigma=sigma.expand(b),
                    timesteps=vmask * sigma,
                    positions=state.positions,
                    context=vctx,
                )
                a = None
                if audio is not None:
                    a = Modality(
                        latent=a_x,
                        sigma=sigma.expand(b),
                        timesteps=a_mask * sigma,
                        positions=a_pos,
                        context=actx,
                    )
                return x0_model(v, a, None)

            dv, da = call(ctx, audio.context if audio is not None else None)
            if guider.enabled():
                nv, na = call(neg, audio.negative_context if audio is not None else None)
                dv = dv + guider.delta(dv, nv)
                if audio is not None:
                    da = da + guider.delta(da, na)
            dv = (dv * vmask + vclean.float() * (1 - vmask)).to(dv.dtype)
            x = stepper.step(x, dv, sigmas, i)
            if audio is not None:
                da = (da * a_mask + a_clean.float() * (1 - a_mask)).to(da.dtype)
                a_x = stepper.step(a_x, da, sigmas, i)
    video = patch.unpatchify(x, VideoLatentShape.from_torch_shape(latent.shape))
    out_audio = None
    if audio is not None:
        out_audio = AudioPatchifier(patch_size=1).unpatchify(
            a_x, AudioLatentShape.from_torch_shape(audio.latent.shape)
        )
    return video, out_audio


def forward(model, latent, ctx, audio=None, sigma=0.7):
    """One model call on the tokens of `latent` (and audio) with ltx-core's positions."""
    b = latent.shape[0]
    tools = VideoLatentTools(VideoLatentPatchifier(1), VideoLatentShape.from_torch_shape(latent.shape), FPS)
    state = tools.create_initial_state("cpu", latent.dtype, initial_latent=latent)
    s = torch.tensor(sigma)
    video = Modality(
        latent=state.latent,
        sigma=s.expand(b),
        timesteps=state.denoise_mask * s,
        positions=state.positions,
        context=ctx,
    )
    a = None
    if audio is not None:
        a_tools = AudioLatentTools(AudioPatchifier(1), AudioLatentShape.from_torch_shape(audio.latent.shape))
        a_state = a_tools.create_initial_state("cpu", audio.latent.dtype, initial_latent=audio.latent)
        a = Modality(
            latent=a_state.latent,
            sigma=s.expand(b),
            timesteps=a_state.denoise_mask * s,
            positions=a_state.positions,
            context=audio.context,
        )
    with torch.no_grad():
        return model(video, a, None)


SIGMAS = torch.linspace(1.0, 0.0, 7)


# ---- positions ----


def test_positions_match_ltx_core_and_the_grid_reads_back():
    latent = torch.zeros(2, 8, 5, 3, 4)
    tools = VideoLatentTools(VideoLatentPatchifier(1), VideoLatentShape.from_torch_shape(latent.shape), FPS)
    state = tools.create_initial_state("cpu", torch.bfloat16, initial_latent=latent.bfloat16())
    ours = video_positions(2, (5, 3, 4), FPS, dtype=torch.bfloat16)
    assert torch.equal(ours, state.positions)
    assert grid_from_positions(state.positions) == ((5, 3, 4), 0)
    # A keyframe guide appended after the grid is read as global tokens.
    guide = VideoConditionByKeyframeIndex(keyframes=torch.zeros(2, 8, 1, 3, 4), frame_idx=16, strength=1.0)
    with_guide = guide.apply_to(
        tools.create_initial_state("cpu", torch.float32, initial_latent=latent), tools
    )
    assert grid_from_positions(with_guide.positions) == ((5, 3, 4), 12)
    with pytest.raises(ValueError, match="positions must be"):
        grid_from_positions(torch.zeros(3))


# ---- apply_efficient ----


@pytest.mark.parametrize("kind", ["video", "av"])
def test_window_covering_every_frame_reproduces_the_unpatched_model(kind, video_model, av_model):
    model = video_model if kind == "video" else av_model
    latent, ctx, _ = inputs(frames=6, batch=2)
    audio = audio_stream(batch=2) if kind == "av" else None
    before = forward(model, latent, ctx, audio)
    originals = [b.attn1.attention_function for b in model.transformer_blocks]
    with apply_efficient(model, EfficientSettings.from_preset("off", window=5)) as handle:
        assert all(
            isinstance(b.attn1.attention_function, WindowedSelfAttention) for b in model.transformer_blocks
        )
        patched = forward(model, latent, ctx, audio)
        assert handle.blocks == 2
        assert handle.stats.windowed_calls == 2 and handle.stats.pair_fraction == pytest.approx(1.0)
    for got, want in zip(patched, before, strict=False):
        if want is not None:
            assert float((got - want).norm() / want.norm()) < 1e-5
    assert [b.attn1.attention_function for b in model.transformer_blocks] == originals
    after = forward(model, latent, ctx, audio)
    assert all(torch.equal(a, b) for a, b in zip(after, before, strict=False) if b is not None)


def test_narrow_window_changes_video_and_leaves_the_audio_stream_alone(av_model):
    latent, ctx, _ = inputs(frames=7)
    audio = audio_stream()
    names = ("attn2", "audio_attn1", "audio_attn2", "audio_to_video_attn", "video_to_audio_attn")
    untouched = {
        (i, n): getattr(b, n).attention_function
        for i, b in enumerate(av_model.transformer_blocks)
        for n in names
    }
    with torch.no_grad():
        audio_only_before = av_model(None, _audio_modality(audio), None)[1]
    dense_video, _ = forward(av_model, latent, ctx, audio)
    with apply_efficient(av_model, EfficientSettings.from_preset("off", window=1)) as handle:
        for (i, n), fn in untouched.items():
            assert getattr(av_model.transformer_blocks[i], n).attention_function is fn
        video, _ = forward(av_model, latent, ctx, audio)
        # Only the video self-attention goes through the window (it checks the token count).
        assert handle.stats.calls == 2 and handle.stats.windowed_calls == 2
        assert handle.stats.pair_fraction < 0.6
        with torch.no_grad():
            audio_only = av_model(None, _audio_modality(audio), None)[1]
        assert handle.stats.calls == 2  # the audio-only forward never reached it
    assert torch.equal(audio_only, audio_only_before)
    assert not torch.allclose(video, dense_video, atol=1e-4)


def _audio_modality(audio: AudioStream) -> Modality:
    tools = AudioLatentTools(AudioPatchifier(1), AudioLatentShape.from_torch_shape(audio.latent.shape))
    state = tools.create_initial_state("cpu", audio.latent.dtype, initial_latent=audio.latent)
    s = torch.tensor(0.6)
    return Modality(
        latent=state.latent,
        sigma=s.expand(1),
        timesteps=state.denoise_mask * s,
        positions=state.positions,
        context=audio.context,
    )


def test_apply_efficient_errors(video_model):
    with pytest.raises(ValueError, match="model must be an ltx-core LTXModel"):
        apply_efficient(torch.nn.Linear(2, 2), EfficientSettings.off())
    with pytest.raises(ValueError, match="settings must be an EfficientSettings"):
        apply_efficient(video_model, "fast")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="chunk_tokens must be an integer >= 1 or None"):
        apply_efficient(video_model, EfficientSettings.off(), chunk_tokens=0)
    with apply_efficient(video_model, EfficientSettings.off()):
        with pytest.raises(ValueError, match="already patched"):
            apply_efficient(video_model, EfficientSettings.off())
    audio_only = LTXModel(
        model_type=LTXModelType.AudioOnly,
        num_layers=1,
        audio_num_attention_heads=2,
        audio_attention_head_dim=16,
        audio_in_channels=8,
        audio_out_channels=8,
        audio_cross_attention_dim=CTX,
    )
    with pytest.raises(ValueError, match="audio-only model cannot be patched"):
        apply_efficient(audio_only, EfficientSettings.off())


# ---- the sampling loop ----


@pytest.mark.parametrize("kind", ["video", "av"])
def test_stride_one_window_off_reuse_off_is_the_plain_loop_bit_for_bit(kind, video_model, av_model):
    model = video_model if kind == "video" else av_model
    latent, ctx, neg = inputs()
    audio = audio_stream() if kind == "av" else None
    want_video, want_audio = plain_loop(model, latent, SIGMAS, ctx, neg, cfg=3.0, audio=audio)
    baseline_like = EfficientSettings.from_preset("balanced", frame_stride=1, window=-1, reuse_start=1.0)
    for settings in (EfficientSettings.off(), baseline_like):
        result = efficient_denoise(
            model, latent, SIGMAS, ctx, settings, FPS, negative_context=neg, cfg_scale=3.0, audio=audio
        )
        assert torch.equal(result.video, want_video)
        if audio is not None:
            assert torch.equal(result.audio, want_audio)
        assert result.report.model_calls == 12 and result.report.work_fraction == 1.0
        # the text K/V of both guidance branches are computed once and then reused, losslessly
        assert result.report.text_kv_computed == 2 * 2 * 2  # blocks x (K, V) x (cond, uncond)
        assert result.report.text_kv_reused == 2 * 2 * 10


def test_window_covering_every_frame_matches_the_plain_loop_to_rounding(video_model):
    latent, ctx, _ = inputs(frames=5)
    want, _ = plain_loop(video_model, latent, SIGMAS, ctx)
    got = efficient_denoise(
        video_model, latent, SIGMAS, ctx, EfficientSettings.from_preset("off", window=4), FPS
    )
    assert float((got.video - want).norm() / want.norm()) < 1e-5
    assert got.report.attention.windowed_calls == 2 * 6


def test_image_to_video_first_frame_is_kept_through_keyframes_and_refinement(video_model, techniques):
    latent, ctx, neg = inputs(frames=9)
    b = latent.shape[0]
    tools = VideoLatentTools(VideoLatentPatchifier(1), VideoLatentShape.from_torch_shape(latent.shape), FPS)
    image = torch.randn(b, 8, 1, 3, 4, generator=torch.Generator().manual_seed(9))
    state = VideoConditionByLatentIndex(latent=image, strength=1.0, latent_idx=0).apply_to(
        tools.create_initial_state("cpu", torch.float32), tools
    )
    state = GaussianNoiser(torch.Generator().manual_seed(4))(state, 1.0)
    unpatch = lambda t, c: VideoLatentPatchifier(1).unpatchify(t, VideoLatentShape(b, c, 9, 3, 4))  # noqa: E731
    noisy, mask, clean = (
        unpatch(state.latent, 8),
        unpatch(state.denoise_mask, 1),
        unpatch(state.clean_latent, 8),
    )
    want, _ = plain_loop(video_model, noisy, SIGMAS, ctx, neg, cfg=2.0, mask=mask, clean=clean)
    off = efficient_denoise(
        video_model,
        noisy,
        SIGMAS,
        ctx,
        EfficientSettings.off(),
        FPS,
        negative_context=neg,
        cfg_scale=2.0,
        denoise_mask=mask,
        clean_latent=clean,
    )
    assert torch.equal(off.video, want)
    fast = efficient_denoise(
        video_model,
        noisy,
        SIGMAS,
        ctx,
        techniques("aggressive"),
        FPS,
        negative_context=neg,
        cfg_scale=2.0,
        denoise_mask=mask,
        clean_latent=clean,
        generator=torch.Generator().manual_seed(0),
    )
    assert fast.report.pinned_frames == [0]
    assert torch.equal(fast.video[:, :, 0], image[:, :, 0])
    assert fast.report.diffused_frames == 3 and fast.report.refine_steps == 2
    assert torch.isfinite(fast.video).all()


def test_guide_tokens_are_global_and_pin_their_frame(video_model, techniques):
    latent, ctx, _ = inputs(frames=9)
    guide = GuideTokens(
        latent=torch.randn(1, 12, 8),
        positions=video_positions(1, (1, 3, 4), FPS) + 0.5,
        strength=1.0,
        frame_idx=40,
    )
    result = efficient_denoise(
        video_model,
        latent,
        SIGMAS,
        ctx,
        techniques("aggressive"),
        FPS,
        guides=guide,
        generator=torch.Generator().manual_seed(0),
    )
    assert result.report.pinned_frames == [5]
    assert result.report.diffused_frames == 4  # 0, 4, 5, 8
    assert result.video.shape == latent.shape


def test_chunked_equals_unchunked(av_model, techniques):
    latent, ctx, neg = inputs(frames=9)
    audio = audio_stream()
    settings = techniques("keyframes", reuse_start=1.0)
    kwargs = dict(negative_context=neg, cfg_scale=2.0, audio=audio)
    whole = efficient_denoise(
        av_model, latent, SIGMAS, ctx, settings, FPS, generator=torch.Generator().manual_seed(2), **kwargs
    )
    seen = []
    forward_before = ChunkedFeedForward.forward

    def spy(self, x):
        seen.append((x.shape[1], self.chunk_tokens))
        return forward_before(self, x)

    ChunkedFeedForward.forward = spy
    try:
        chunked = efficient_denoise(
            av_model,
            latent,
            SIGMAS,
            ctx,
            settings,
            FPS,
            chunk_tokens=16,
            generator=torch.Generator().manual_seed(2),
            **kwargs,
        )
    finally:
        ChunkedFeedForward.forward = forward_before
    assert seen and all(chunk == 16 and tokens > 16 for tokens, chunk in seen)
    assert float((chunked.video - whole.video).norm() / whole.video.norm()) < 1e-5
    assert float((chunked.audio - whole.audio).norm() / whole.audio.norm()) < 1e-5


def test_progress_and_cancel(video_model, techniques):
    latent, ctx, _ = inputs(frames=9)
    settings = techniques("keyframes")
    seen = []
    result = efficient_denoise(
        video_model,
        latent,
        SIGMAS,
        ctx,
        settings,
        FPS,
        progress=lambda done, total, phase: seen.append((done, total, phase)),
    )
    assert seen[0] == (1, 9, "keyframes") and seen[-1] == (9, 9, "refine")
    assert [d for d, _, _ in seen] == list(range(1, 10))
    assert result.report.times.keys() == {"keyframes", "interpolate", "refine"}
    calls = []

    def cancel() -> bool:
        calls.append(1)
        return len(calls) > 8  # after the 6 keyframe steps, interpolation and 1 refine step

    with pytest.raises(SamplingCancelled) as info:
        efficient_denoise(video_model, latent, SIGMAS, ctx, settings, FPS, cancel=cancel)
    assert info.value.report.cancelled
    assert info.value.video is not None and info.value.video.shape == latent.shape
    assert "cancelled" in info.value.report.log_line()


def test_bad_inputs_raise_value_errors_naming_the_parameter(video_model, techniques):
    latent, ctx, neg = inputs()
    off = EfficientSettings.off()
    with pytest.raises(ValueError, match="window must be an integer in \\[-1, 256\\], got -7"):
        techniques("aggressive", window=-7)
    with pytest.raises(ValueError, match="negative_context is required when cfg_scale != 1"):
        efficient_denoise(video_model, latent, SIGMAS, ctx, off, FPS, cfg_scale=3.0)
    with pytest.raises(ValueError, match="sigmas must be non-increasing"):
        efficient_denoise(video_model, latent, torch.tensor([0.5, 1.0, 0.0]), ctx, off, FPS)
    with pytest.raises(ValueError, match="frame_rate must be in \\(0, 240\\], got 0"):
        efficient_denoise(video_model, latent, SIGMAS, ctx, off, 0)
    with pytest.raises(ValueError, match="video_latent must be a \\[B, C, F, H, W\\] tensor"):
        efficient_denoise(video_model, latent[0], SIGMAS, ctx, off, FPS)
    with pytest.raises(ValueError, match="settings must be an EfficientSettings"):
        efficient_denoise(video_model, latent, SIGMAS, ctx, "fast", FPS)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="audio was given but the model has no audio stream"):
        efficient_denoise(video_model, latent, SIGMAS, ctx, off, FPS, audio=audio_stream())
    with pytest.raises(ValueError, match="upsampler must be given when interpolation is 'upsampler'"):
        efficient_denoise(
            video_model,
            latent,
            SIGMAS,
            ctx,
            techniques("aggressive", interpolation="upsampler"),
            FPS,
        )
    with pytest.raises(ValueError, match="denoise_mask of shape"):
        efficient_denoise(video_model, latent, SIGMAS, ctx, off, FPS, denoise_mask=torch.ones(1, 1, 3, 1, 1))
    assert all(
        not isinstance(b.attn1.attention_function, WindowedSelfAttention)
        for b in video_model.transformer_blocks
    )


# ---- the technique ladder (the presets' own ladder runs on the trained demo model) ----


def test_technique_ladder_does_less_work_at_every_step(av_model, capsys, techniques):
    latent, ctx, neg = inputs(frames=13, height=3, width=4, seed=5)
    audio = audio_stream(seed=5)
    sigmas = torch.linspace(1.0, 0.0, 31)
    reports = {}
    ladder_settings = {
        "off": EfficientSettings.off(),
        "quality": techniques("cautious"),
        "balanced": techniques("keyframes"),
        "fast": techniques("aggressive"),
    }
    for preset, settings in ladder_settings.items():
        result = efficient_denoise(
            av_model,
            latent,
            sigmas,
            ctx,
            settings,
            FPS,
            negative_context=neg,
            cfg_scale=3.0,
            audio=audio,
            generator=torch.Generator().manual_seed(7),
        )
        assert torch.isfinite(result.video).all() and torch.isfinite(result.audio).all()
        reports[preset] = result.report
        print(f"{preset:>8}: {result.report.log_line()}")
    out = capsys.readouterr().out
    with capsys.disabled():
        print("\n" + out, end="")

    def attention_pairs(r):  # query-key pairs of every video self-attention call
        return r.attention.pairs

    ladder = [reports[p] for p in ("off", "quality", "balanced", "fast")]
    for slower, faster in zip(ladder, ladder[1:], strict=False):
        assert faster.token_passes <= slower.token_passes
        assert attention_pairs(faster) < attention_pairs(slower)
        assert faster.pair_fraction < slower.pair_fraction
        assert faster.steps_reused("video") >= slower.steps_reused("video")
    # From quality on, each step also cuts the transformer's token work.
    assert reports["fast"].token_passes < reports["balanced"].token_passes < reports["quality"].token_passes
    assert reports["fast"].steps_reused("video") > 0
    assert reports["off"].work_fraction == 1.0 and reports["off"].pair_fraction == 1.0

    # The log line says it: attention, reuse, frames diffused, work vs dense.
    fast_line = reports["fast"].log_line()
    assert re.search(r"window K=1 \+anchor \+far field p=4 on 2 blocks \(pair fraction 0\.\d{3}\)", fast_line)
    assert f"{reports['fast'].steps_reused('video')}/30 steps reused" in fast_line
    assert "4 of 13 latent frames diffused, 2 refine steps" in fast_line
    assert re.search(r"video token-passes \(\d+% of dense\)", fast_line)
    assert (
        reports["off"]
        .log_line()
        .startswith("dense attention on 2 blocks; 0/30 steps reused; 13 of 13 latent frames diffused")
    )


# ---- step reuse inside a loop we do not own (ltx-pipelines style) ----


def test_reusing_model_in_the_plain_loop(av_model):
    latent, ctx, neg = inputs(frames=7, seed=3)
    audio = audio_stream(seed=3)
    sigmas = torch.linspace(1.0, 0.0, 31)
    want_video, want_audio = plain_loop(av_model, latent, sigmas, ctx, neg, cfg=3.0, audio=audio)
    # Reuse off: the wrapper is transparent, bit for bit.
    with apply_efficient(av_model, EfficientSettings.off(), steps=30) as handle:
        video, audio_out = plain_loop(handle.model, latent, sigmas, ctx, neg, cfg=3.0, audio=audio)
        assert handle.model.model_calls == 60
    assert torch.equal(video, want_video) and torch.equal(audio_out, want_audio)
    # Reuse on (window off to isolate it): fewer model calls, same loop, a close result.
    settings = EfficientSettings.from_preset("fast", window=-1)
    with apply_efficient(av_model, settings, steps=30) as handle:
        video, audio_out = plain_loop(handle.model, latent, sigmas, ctx, neg, cfg=3.0, audio=audio)
        summary = handle.model.summary()
        calls = handle.model.model_calls
    assert summary["video"].reused > 0 and summary["audio"].reused > 0
    assert calls < 60
    assert summary["video"].computed + summary["video"].reused == 30
    assert float((video - want_video).norm() / want_video.norm()) < 0.1
    with pytest.raises(ValueError, match="steps must be an integer >= 1"):
        apply_efficient(av_model, settings, steps=0)


def test_patching_keeps_module_names_and_state_dict_keys_and_removes_cleanly(av_model, techniques):
    """The feed-forward chunking and the text K/V cache patch the modules' ``forward`` in place:
    the module tree, parameter names (LoRA targets) and state-dict keys stay the model's own."""
    names = [name for name, _ in av_model.named_modules()]
    keys = list(av_model.state_dict().keys())
    settings = techniques("keyframes", activation_budget_mb=1)
    handle = apply_efficient(av_model, settings, grid=(3, 2, 2), chunk_tokens=4)
    try:
        assert [name for name, _ in av_model.named_modules()] == names
        assert list(av_model.state_dict().keys()) == keys
        block = av_model.transformer_blocks[0]
        assert "forward" in block.ff.__dict__  # chunked
        assert "forward" in block.attn2.to_k.__dict__ and "forward" in block.attn2.to_v.__dict__  # cached
        # The patched calls compute what the classes compute (20 tokens: five chunks of 4).
        x = torch.randn(1, 20, block.ff.net[-1].out_features, generator=torch.Generator().manual_seed(5))
        with torch.no_grad():
            torch.testing.assert_close(block.ff(x), type(block.ff).forward(block.ff, x))
            context = torch.randn(1, 7, block.attn2.to_k.in_features)
            torch.testing.assert_close(
                block.attn2.to_k(context),
                torch.nn.functional.linear(context, block.attn2.to_k.weight, block.attn2.to_k.bias),
            )
    finally:
        handle.remove()
    block = av_model.transformer_blocks[0]
    assert "forward" not in block.ff.__dict__ and "forward" not in block.attn2.to_k.__dict__
    assert [name for name, _ in av_model.named_modules()] == names


def test_thermal_guard_paces_every_step_and_its_line_joins_the_report(video_model):
    from ltx2_efficient import _core
    from ltx2_efficient.thermal import ThermalGuard

    gpu = _core.SimulatedGpu()
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        gpu.advance(seconds, 0.0)

    def busy_step(done, total, phase):  # each step keeps the simulated GPU busy for 0.2 s
        gpu.work(0.2)

    guard = ThermalGuard("power", 30.0, sensor=gpu, clock=lambda: gpu.now, sleep=sleep, sync=lambda: None)
    paced = []
    original = guard.between_steps

    def counting():
        paced.append(1)
        return original()

    guard.between_steps = counting  # type: ignore[method-assign]
    latent, ctx, _ = inputs(frames=7)
    settings = EfficientSettings.from_preset("laptop")
    out = efficient_denoise(
        video_model, latent, SIGMAS, ctx, settings, FPS, progress=busy_step, thermal_guard=guard
    )
    assert len(paced) == len(SIGMAS) - 1  # once after every step
    assert sleeps  # 30% of the simulated card's limit needs waiting
    assert guard.last_report is not None and guard.last_report.available
    notes = [n for n in out.report.notes if n.startswith("thermal: ")]
    assert notes == [f"thermal: {guard.last_report.summary_line()}"]
    # The preset's flag without a guard is reported, not silently dropped.
    plain = efficient_denoise(video_model, latent, SIGMAS, ctx, settings, FPS)
    assert "thermal guard asked for but none given: not paced" in plain.report.notes
    with pytest.raises(
        ValueError, match="thermal_guard must be an ltx2_efficient.thermal.ThermalGuard or None"
    ):
        efficient_denoise(video_model, latent, SIGMAS, ctx, settings, FPS, thermal_guard=object())
