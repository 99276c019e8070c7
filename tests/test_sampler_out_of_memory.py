"""An out-of-memory error inside a run: one clear error naming the knobs that lower the peak of
what was running, the sampler's caches freed, and the next run works (injected from a fake
attention on the CPU)."""

from __future__ import annotations

import gc

import pytest
import torch

from ltx2_efficient.sampler.out_of_memory import SamplerOutOfMemory, Where, advice_for, out_of_memory_error
from ltx2_efficient.sampler.settings import EfficientSettings

pytest.importorskip("ltx_core")


class FailingAttention:
    """The blocks' attention, raising torch's out-of-memory error on the listed call numbers."""

    def __init__(self, inner, fail_on: set[int]) -> None:
        self.inner, self.fail_on, self.calls = inner, fail_on, 0

    def __call__(self, q, k, v, heads, mask=None):
        self.calls += 1
        if self.calls in self.fail_on:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB (injected)")
        return self.inner(q, k, v, heads, mask)


@pytest.fixture(scope="module")
def tiny(repo_script):
    bench = repo_script("bench/e2e.py", "bench_e2e_oom")
    dims = bench.Dims.tiny()
    model = bench.build_model(dims, torch.device("cpu"), torch.float32)
    inputs = bench.make_inputs((640, 352, 25), dims, torch.device("cpu"), torch.float32, 0)
    return bench, model, inputs


def _sample(tiny, settings: EfficientSettings, steps: int) -> torch.Tensor:
    from ltx2_efficient.hosts.ltx_core import efficient_denoise

    bench, model, inputs = tiny
    out = efficient_denoise(
        model, inputs["video"], bench.schedule(steps, inputs["video"]), inputs["context"], settings, bench.FPS,
        negative_context=inputs["negative"], cfg_scale=3.0, audio=inputs["audio"],
        generator=torch.Generator().manual_seed(1),
    )  # fmt: skip
    return out.video


def _held_caches() -> tuple[int, int]:
    """Step-reuse controllers still holding outputs, text K/V projections still holding entries."""
    from ltx2_efficient.sampler.reuse import StepReuse
    from ltx2_efficient.sampler.text_kv_cache import CachedProjection

    gc.collect()
    objects = gc.get_objects()
    reuse = sum(1 for o in objects if type(o) is StepReuse and o._cache)
    kv = sum(1 for o in objects if type(o) is CachedProjection and o._entries)
    return reuse, kv


def _failing(model, fail_on: set[int]) -> tuple[list, FailingAttention]:
    originals = [block.attn1.attention_function for block in model.transformer_blocks]
    failing = FailingAttention(originals[0], fail_on)
    model.transformer_blocks[0].attn1.attention_function = failing
    return originals, failing


def test_oom_in_a_step_names_the_knobs_frees_the_caches_and_the_next_run_works(tiny):
    _, model, _ = tiny
    settings = EfficientSettings.from_preset(
        "off", reuse_start=0.2, reuse_threshold=10.0, max_consecutive_reuse=2
    )
    originals, failing = _failing(model, set())
    try:
        expected = _sample(tiny, settings, 6)
        failing.fail_on, failing.calls = {failing.calls}, 0  # the last call: after some reused steps
        with pytest.raises(SamplerOutOfMemory) as caught:
            _sample(tiny, settings, 6)
        error = caught.value
        assert isinstance(error, torch.OutOfMemoryError)  # hosts that handle OOM still see one
        assert isinstance(error.__cause__, torch.OutOfMemoryError)
        assert error.where.phase == "denoise" and error.where.step >= 1 and error.where.steps == 6
        message = str(error)
        assert message.startswith("out of memory in the denoise phase (step ")
        assert "set activation_budget_mb (now 0, e.g. 2048)" in message
        assert "window / attention_window" in message and "raise frame_stride (now 1)" in message
        assert error.knobs == ("activation_budget_mb", "window", "frame_stride")
        assert _held_caches() == (0, 0)
        # The patches are gone: the attention is the one we installed, projections unwrapped.
        assert model.transformer_blocks[0].attn1.attention_function is failing
        assert "forward" not in model.transformer_blocks[0].attn2.to_k.__dict__
        failing.fail_on = set()
        again = _sample(tiny, settings, 6)
    finally:
        for block, original in zip(model.transformer_blocks, originals, strict=True):
            block.attn1.attention_function = original
    assert torch.equal(again, expected)


@pytest.mark.parametrize(
    ("fail_on", "phase", "knob"),
    [({1}, "keyframes", "frame_stride"), ({1000}, "refine", "refine_steps")],
)
def test_oom_advice_follows_the_phase(tiny, fail_on, phase, knob):
    _, model, _ = tiny
    settings = EfficientSettings.from_preset(
        "off",
        frame_stride=2,
        refine_steps=2,
        refine_strength=0.35,
        interpolation="lerp",
        activation_budget_mb=64,
    )
    originals, failing = _failing(model, set())
    try:
        if phase == "refine":
            _sample(tiny, settings, 4)
            failing.fail_on = {failing.calls}  # the last call of a run is a refine call
            failing.calls = 0
        else:
            failing.fail_on = fail_on
        with pytest.raises(SamplerOutOfMemory) as caught:
            _sample(tiny, settings, 4)
    finally:
        for block, original in zip(model.transformer_blocks, originals, strict=True):
            block.attn1.attention_function = original
    assert caught.value.where.phase == phase
    assert knob in caught.value.knobs
    assert "lower activation_budget_mb (now 64 MB)" in str(caught.value)
    assert _held_caches() == (0, 0)


def test_advice_between_model_calls_and_at_the_smallest_chunk():
    upsampling = EfficientSettings.from_preset("off", frame_stride=2, interpolation="upsampler")
    assert [k for k, _ in advice_for(upsampling, Where("interpolate"))] == ["interpolation"]
    budgeted = EfficientSettings.from_preset("off", activation_budget_mb=16, window=1)
    error = out_of_memory_error(budgeted, Where("finish", 9, 10, 29040, chunk_tokens=256))
    assert "already at its smallest chunk (256 tokens)" in str(error)
    assert "window" not in error.knobs  # the window is on already
    assert "keyframe_end" in error.knobs
    assert "(step 10 of 10, 29,040 video tokens per model call)" in str(error)
