"""The ComfyUI hooks the patch relies on, pinned with small fakes that call it as ComfyUI does.

The fakes of ComfyUI's functions come from tests/comfy_fakes.py (shared with the sampling tests);
a small LTX transformer here runs them. Each reproduces one calling convention of current
ComfyUI (checked against it by tests/test_comfyui_integration.py when COMFYUI_DIR is set):

- ``comfy.ldm.modules.attention.wrap_attn``: with ``transformer_options["optimized_attention_override"]``
  set, ``f(q, k, v, heads, [mask], attn_precision=..., transformer_options=...)`` becomes
  ``override(f_unwrapped, q, k, v, heads, ..., _inside_attn_wrapper=True)``;
- ``comfy.patcher_extension.WrapperExecutor``: ``wrapper(executor, *args, **kwargs)``, the
  wrapper calls ``executor(*args, **kwargs)`` for the next layer, ``executor.class_obj`` is the
  object whose method is wrapped;
- ``LTXBaseModel.forward`` runs its DIFFUSION_MODEL wrappers with
  ``(x, timestep, context, attention_mask, frame_rate, transformer_options, keyframe_idxs,
  denoise_mask=..., **kwargs)``; for LTX-2 ``x`` is ``[video, audio]`` and the output a list;
- ``CFGGuider.sample`` runs OUTER_SAMPLE wrappers with ``(noise, latent_image, sampler, sigmas,
  denoise_mask, callback, disable_pbar, seed)`` and the guider as ``class_obj``; calls carry
  ``transformer_options["sigmas"]`` (current) and ``["sample_sigmas"]`` (schedule), ``["uuids"]``;
- ``SamplerCustomAdvanced``: inputs noise, guider, sampler, sigmas, latent_image; outputs
  output, denoised_output (both LATENT);
- ``comfy.nested_tensor.NestedTensor``: ``is_nested`` and ``unbind()`` -> [video, audio].
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from types import SimpleNamespace

import pytest

torch = pytest.importorskip("torch")

from ltx2_efficient.hosts.comfyui.attention_override import OVERRIDE_KEY, LTXAttentionOverride  # noqa: E402
from ltx2_efficient.hosts.comfyui.diffusion_call import DiffusionCall, call_geometry  # noqa: E402
from ltx2_efficient.hosts.comfyui.feed_forward_chunks import ChunkedForward  # noqa: E402
from ltx2_efficient.hosts.comfyui.latent_parts import split_av  # noqa: E402
from ltx2_efficient.hosts.comfyui.ltx_model import inspect_diffusion_model  # noqa: E402
from ltx2_efficient.hosts.comfyui.model_wrappers import (  # noqa: E402
    DIFFUSION_MODEL,
    diffusion_model_wrapper,
    outer_sample_wrapper,
)
from ltx2_efficient.hosts.comfyui.run_state import (  # noqa: E402
    CONFIG_KEY,
    RUN_KEY,
    WRAPPER_KEY,
    ChunkSize,
    PatchConfig,
    RunState,
)
from ltx2_efficient.hosts.comfyui.step_clock import step_index  # noqa: E402
from ltx2_efficient.sampler.settings import EfficientSettings  # noqa: E402

# ---------------------------------------------------------------- fakes of ComfyUI's conventions


def _load_comfy_fakes():
    """tests/comfy_fakes.py (ComfyUI's wrap_attn, attention_pytorch, WrapperExecutor and the LTX
    block layers), a copy of its own for this module."""
    spec = importlib.util.spec_from_file_location(
        "comfy_fakes_for_contract", Path(__file__).with_name("comfy_fakes.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_comfy = _load_comfy_fakes()
attention_sdpa = _comfy.attention_pytorch  # comfy's attention_pytorch: [B, T, heads * D] in and out
FeedForward = _comfy.FeedForward


class _FakeLTX(torch.nn.Module):
    """A transformer shaped like ComfyUI's LTX models (frame-major tokens, appended guides)."""

    def __init__(self, channels=8, heads=2, head_dim=4, text_dim=6, layers=2, audio=None):
        super().__init__()
        self.num_attention_heads = heads
        self.attention_head_dim = head_dim
        dim = heads * head_dim
        self.proj_in = torch.nn.Linear(channels, dim)
        self.proj_out = torch.nn.Linear(dim, channels)
        self.transformer_blocks = torch.nn.ModuleList(
            _comfy.BasicTransformerBlock(dim, heads, head_dim, text_dim, audio) for _ in range(layers)
        )
        if audio is not None:
            self.audio_num_attention_heads, self.audio_attention_head_dim = audio[1], audio[2]
            self.audio_in = torch.nn.Linear(16, audio[0])
            self.audio_out = torch.nn.Linear(audio[0], 16)
        self.seen: list[dict] = []

    def forward(
        self,
        x,
        timestep,
        context,
        attention_mask=None,
        frame_rate=25,
        transformer_options=None,
        keyframe_idxs=None,
        **kwargs,
    ):
        transformer_options = {} if transformer_options is None else transformer_options
        wrappers = _comfy.get_all_wrappers(DIFFUSION_MODEL, transformer_options)
        executor = _comfy.WrapperExecutor(self._forward, self, wrappers)
        return executor.execute(
            x, timestep, context, attention_mask, frame_rate, transformer_options, keyframe_idxs, **kwargs
        )

    def _forward(
        self,
        x,
        timestep,
        context,
        attention_mask,
        frame_rate,
        transformer_options,
        keyframe_idxs,
        denoise_mask=None,
        **kwargs,
    ):
        self.seen.append(
            {"frame_rate": frame_rate, "keyframe_idxs": keyframe_idxs, "options": transformer_options}
        )
        vx, ax = (x[0], x[1]) if isinstance(x, list) else (x, None)
        b, c, f, h, w = vx.shape
        tokens = vx.permute(0, 2, 3, 4, 1).reshape(b, f * h * w, c)
        hx = self.proj_in(tokens) * (1.0 + timestep.view(-1, 1, 1))
        hax = None
        if ax is not None:
            hax = self.audio_in(ax.permute(0, 2, 1, 3).reshape(b, ax.shape[2], -1)[..., :16])
        for block in self.transformer_blocks:
            hx, hax = block(hx, hax, context, transformer_options)
        out = self.proj_out(hx).reshape(b, f, h, w, c).permute(0, 4, 1, 2, 3)
        if ax is None:
            return out
        a_out = (
            self.audio_out(hax).reshape(b, ax.shape[2], 1, 16).permute(0, 2, 1, 3).expand_as(ax).contiguous()
        )
        return [out, a_out]


class LTXVModel(_FakeLTX):
    pass


class LTXAVModel(LTXVModel):
    def __init__(self, **kwargs):
        super().__init__(audio=(12, 3, 4), **kwargs)


def _call(model, x, options, *, frame_rate=24.0, keyframe_idxs=None, context=None, denoise_mask=None):
    b = (x[0] if isinstance(x, list) else x).shape[0]
    context = torch.randn(b, 5, 6, generator=torch.Generator().manual_seed(9)) if context is None else context
    with torch.no_grad():
        return model(
            x,
            torch.full((b,), 0.5),
            context,
            None,
            frame_rate,
            options,
            keyframe_idxs,
            denoise_mask=denoise_mask,
        )


def _run_options(settings, model, *, steps=4, time_scale=1.0, previous=None):
    """transformer_options as ComfyUI hands them to the model inside a patched run."""
    info = inspect_diffusion_model(model)
    config = PatchConfig(settings=settings, model=info, time_scale=time_scale)
    from ltx2_efficient.hosts.comfyui.model_wrappers import new_run_state

    run = new_run_state(config, steps)
    options = {
        CONFIG_KEY: config,
        RUN_KEY: run,
        OVERRIDE_KEY: LTXAttentionOverride(previous),
        "wrappers": {DIFFUSION_MODEL: {WRAPPER_KEY: [diffusion_model_wrapper]}},
    }
    return options, run


def _video(b=2, c=8, f=5, h=2, w=3, seed=0):
    return torch.randn(b, c, f, h, w, generator=torch.Generator().manual_seed(seed))


def _model(cls=LTXVModel, seed=0):
    torch.manual_seed(seed)
    return cls()


# ---------------------------------------------------------------- attention override


def test_override_receives_comfyui_calls_and_windows_only_video_self_attention():
    model = _model(LTXAVModel)
    calls = []

    def recording(func, *args, **kwargs):
        calls.append((func, args[0].shape[1], args[1].shape[1], args[3]))
        assert kwargs["_inside_attn_wrapper"] is True
        return func(*args, **kwargs)

    x = [_video(), torch.randn(2, 8, 7, 16)]
    options, run = _run_options(EfficientSettings.from_preset("off", window=0), model, previous=recording)
    _call(model, x, options)
    video_tokens = 5 * 2 * 3
    unwrapped = attention_sdpa.__wrapped__
    windowed = [c for c in calls if c[0] is not unwrapped]
    assert len(calls) == 2 * 4  # video self, text cross, audio self, video->audio per block
    assert len(windowed) == 2
    assert all(c[1] == c[2] == video_tokens and c[3] == 2 for c in windowed)
    assert run.stats.windowed_calls == 2
    assert all(c[0] is unwrapped for c in calls if c[1] != video_tokens or c[2] != video_tokens)


def test_window_covering_all_frames_reproduces_dense_and_narrow_window_differs():
    model = _model()
    x = _video()
    dense = _call(model, x, {})
    wide, _ = _run_options(EfficientSettings.from_preset("off", window=4), model)
    narrow, run = _run_options(EfficientSettings.from_preset("off", window=0), model)
    out_wide = _call(model, x, wide)
    out_narrow = _call(model, x, narrow)
    assert float((out_wide - dense).norm() / dense.norm()) < 1e-5
    assert float((out_narrow - dense).norm() / dense.norm()) > 1e-3
    assert run.stats.pair_fraction < 0.5


def test_override_chains_previous_and_never_stacks_itself():
    seen = []

    def other(func, *args, **kwargs):
        seen.append(func)
        return func(*args, **kwargs)

    first = LTXAttentionOverride(other)
    second = LTXAttentionOverride(first)
    assert second.previous is other
    q = torch.randn(1, 4, 8)
    out = second(attention_sdpa.__wrapped__, q, q, q, 2, transformer_options={}, _inside_attn_wrapper=True)
    assert seen == [attention_sdpa.__wrapped__]
    assert torch.allclose(out, attention_sdpa.__wrapped__(q, q, q, 2))


def test_masked_video_self_attention_runs_dense_through_comfyui_function():
    model = _model()
    settings = EfficientSettings.from_preset("off", window=0)
    options, run = _run_options(settings, model)
    geometry_call = DiffusionCall([_video(), None, torch.zeros(2, 5, 6), None, 24.0, options, None], {})
    from ltx2_efficient.hosts.comfyui.run_state import GEOMETRY_KEY

    call_options = dict(options)
    call_options[GEOMETRY_KEY] = call_geometry(geometry_call, run.config.model)
    q = torch.randn(2, 30, 8)
    mask = torch.zeros(1, 1, 30, 30)
    out = attention_sdpa(q, q, q, 2, mask, attn_precision=None, transformer_options=call_options)
    assert torch.allclose(out, attention_sdpa.__wrapped__(q, q, q, 2, mask), atol=1e-6)
    assert run.stats.masked_dense_calls == 1 and run.stats.windowed_calls == 0


# ---------------------------------------------------------------- DIFFUSION_MODEL wrapper


def test_wrapper_scales_frame_rate_and_guide_times_in_keyframe_phase():
    model = _model()
    options, _ = _run_options(EfficientSettings.from_preset("off"), model, time_scale=2.0)
    video = _video(f=5 + 1)  # one appended guide frame
    guide = torch.zeros(2, 3, 6, 2)
    guide[:, 0] = 16.0
    _call(model, video, options, frame_rate=24.0, keyframe_idxs=guide)
    seen = model.seen[-1]
    assert seen["frame_rate"] == pytest.approx(12.0)
    assert torch.equal(seen["keyframe_idxs"][:, 0], torch.full((2, 6, 2), 8.0))
    assert torch.equal(guide[:, 0], torch.full((2, 6, 2), 16.0))  # the caller's tensor is untouched


def test_geometry_counts_appended_guides_as_global_tokens():
    model = _model()
    info = inspect_diffusion_model(model)
    video = _video(f=4 + 2)
    guides = torch.zeros(2, 3, 2 * 6, 2)
    mask = torch.ones(2, 1, 6, 2, 3)
    mask[:, :, 5, 0, :] = -1.0  # ComfyUI drops guide tokens with a negative mask
    call = DiffusionCall([video, None, torch.zeros(2, 5, 6), None, 24.0, {}, guides], {"denoise_mask": mask})
    geometry = call_geometry(call, info)
    assert geometry.grid == (4, 2, 3)
    assert geometry.global_tokens == 12 - 3
    assert geometry.video_tokens == 24 + 9
    assert geometry.windowable


def test_geometry_refuses_ambiguous_text_length():
    model = _model()
    info = inspect_diffusion_model(model)
    call = DiffusionCall([_video(), None, torch.zeros(2, 30, 6), None, 24.0, {}, None], {})
    geometry = call_geometry(call, info)
    assert not geometry.windowable and "text" in geometry.reason


def test_step_index_follows_schedule_and_intermediate_sigmas():
    schedule = torch.tensor([1.0, 0.8, 0.5, 0.2, 0.0])
    assert step_index({"sigmas": torch.tensor([0.8]), "sample_sigmas": schedule}) == 1
    assert step_index({"sigmas": torch.tensor([0.3]), "sample_sigmas": schedule}) == 2
    assert step_index({"sigmas": torch.tensor([0.2]), "sample_sigmas": schedule}) == 3
    assert step_index({"sigmas": torch.tensor([0.5])}) is None


def _sample_loop(model, x, options, schedule):
    outs = []
    for i in range(len(schedule) - 1):
        step_options = dict(options)
        step_options.update({"sigmas": schedule[i : i + 1], "sample_sigmas": schedule, "uuids": ["c", "u"]})
        out = _call(model, x, step_options)
        outs.append(out)
        v = out[0] if isinstance(out, list) else out
        drift = 1e-4 * v
        x = [x[0] - drift, x[1]] if isinstance(x, list) else x - drift
    return outs


@pytest.mark.parametrize("cls", [LTXVModel, LTXAVModel])
def test_step_reuse_skips_model_calls_and_returns_cached_outputs(cls):
    model = _model(cls)
    steps = 10
    schedule = torch.linspace(1.0, 0.0, steps + 1)
    settings = EfficientSettings.from_preset(
        "off", reuse_start=0.2, reuse_threshold=5.0, max_consecutive_reuse=3
    )
    options, run = _run_options(settings, model, steps=steps)
    x = [_video(), torch.randn(2, 8, 7, 16)] if cls is LTXAVModel else _video()
    outs = _sample_loop(model, x, options, schedule)
    summary = run.reuse_summary()
    assert summary.reused >= 1
    assert run.model_calls == steps - summary.reused == len(model.seen)
    reused_steps = [s for s, reused, _ in summary.decisions if reused]
    first = reused_steps[0]
    computed_before = max(s for s, reused, _ in summary.decisions if not reused and s < first)
    assert torch.equal(_first(outs[first]), _first(outs[computed_before]))
    if cls is LTXAVModel:
        assert torch.equal(outs[first][1], outs[computed_before][1])
    assert summary.decisions[-1][1] is False  # the last step is always computed


def _first(out):
    return out[0] if isinstance(out, list) else out


# ---------------------------------------------------------------- OUTER_SAMPLE wrapper


def test_outer_sample_wrapper_gives_each_run_fresh_state_and_restores_options():
    model = _model()
    info = inspect_diffusion_model(model)
    ended = []
    config = PatchConfig(
        settings=EfficientSettings.from_preset("balanced"), model=info, on_run_end=ended.append
    )
    options = {"transformer_options": {CONFIG_KEY: config}}
    guider = SimpleNamespace(model_options=options)
    seen = []

    def outer_sample(
        noise,
        latent_image,
        sampler,
        sigmas,
        denoise_mask=None,
        callback=None,
        disable_pbar=False,
        seed=None,
        latent_shapes=None,
    ):
        seen.append(guider.model_options["transformer_options"][RUN_KEY])
        return latent_image

    for _ in range(2):
        executor = _comfy.WrapperExecutor(outer_sample, guider, [outer_sample_wrapper])
        executor.execute(
            None, torch.zeros(1), None, torch.linspace(1, 0, 9), None, None, False, 0, latent_shapes=None
        )
    assert len(seen) == 2 and seen[0] is not seen[1]
    assert all(isinstance(r, RunState) and r.steps == 8 for r in seen)
    assert ended == seen
    assert guider.model_options is options and RUN_KEY not in options["transformer_options"]


# ---------------------------------------------------------------- nodes and latents


def test_sampler_node_has_sampler_custom_advanced_inputs_and_outputs():
    from ltx2_efficient.hosts.comfyui.node_video_sampler import LTX2EfficientVideoSampler

    required = LTX2EfficientVideoSampler.INPUT_TYPES()["required"]
    first = [(name, spec[0]) for name, spec in list(required.items())[:5]]
    assert first == [
        ("noise", "NOISE"),
        ("guider", "GUIDER"),
        ("sampler", "SAMPLER"),
        ("sigmas", "SIGMAS"),
        ("latent_image", "LATENT"),
    ]
    info = LTX2EfficientVideoSampler.GET_NODE_INFO_V1()
    assert info["output"] == ["LATENT", "LATENT"]
    assert info["output_name"] == ["output", "denoised_output"]


def test_nested_tensor_split():
    video, audio = torch.zeros(1, 128, 3, 2, 2), torch.zeros(1, 8, 5, 16)
    nested = SimpleNamespace(is_nested=True, unbind=lambda: [video, audio])
    assert split_av(nested) == (video, audio)
    assert split_av(video) == (video, None)


def test_chunked_feed_forward_equals_unchunked_and_bypasses_the_patch():
    torch.manual_seed(0)
    ff = FeedForward(8)
    x = torch.randn(2, 37, 8)
    expected = ff(x)
    chunk = ChunkSize(tokens=10)
    patch = ChunkedForward(ff, chunk)
    ff.forward = patch  # what ComfyUI's add_object_patch(".ff.forward") does
    out = ff(x)
    assert patch.chunked_calls == 1
    assert torch.allclose(out, expected, atol=1e-6)
    chunk.tokens = None
    assert torch.allclose(ff(x), expected, atol=1e-6)


def test_text_kv_cache_object_patch_is_exact_and_keeps_the_module_tree():
    from ltx2_efficient.hosts.comfyui.text_kv_patch import CachedForward, cache_counts, reset_caches

    torch.manual_seed(0)
    projection = torch.nn.Linear(6, 8)
    keys_before = list(projection.state_dict())
    context = torch.randn(2, 5, 6)
    expected = projection(context)
    cached = CachedForward(projection)
    projection.forward = cached  # what ComfyUI's add_object_patch(".to_k.forward") does
    with torch.no_grad():
        first, second = projection(context), projection(context)
        other = projection(context + 1.0)
    assert torch.equal(first, expected) and torch.equal(second, expected)
    assert torch.equal(other, torch.nn.functional.linear(context + 1.0, projection.weight, projection.bias))
    assert cache_counts([cached]) == (1, 2)
    assert list(projection.state_dict()) == keys_before
    reset_caches([cached])
    assert cache_counts([cached]) == (0, 0)


def test_inspect_rejects_non_ltx_models_naming_the_class():
    with pytest.raises(ValueError, match="Linear"):
        inspect_diffusion_model(torch.nn.Linear(2, 2))
    info = inspect_diffusion_model(_model(LTXAVModel))
    assert info.audio_video and info.video_width == 8 and info.audio_width == 12
    assert math.isclose(info.layers, 2)
