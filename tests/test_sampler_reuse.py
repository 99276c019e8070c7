"""StepReuse: the per-modality controller over the C++ reuse policy."""

from __future__ import annotations

import pytest
import torch

from ltx2_efficient import _core
from ltx2_efficient.sampler.reuse import StepReuse, relative_change
from ltx2_efficient.sampler.settings import EfficientSettings


def _trajectory(steps: int, drift: float, jump_at: int | None = None) -> list[torch.Tensor]:
    """Inputs that change by a relative `drift` per step (a jump of 50% at `jump_at`)."""
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(2, 64, 8, generator=gen)
    xs = [x]
    for i in range(1, steps):
        direction = torch.randn(x.shape, generator=gen)
        scale = 0.5 if i == jump_at else drift
        x = x + scale * direction * (x.norm() / direction.norm())
        xs.append(x)
    return xs


def _run(reuse: StepReuse, xs: list[torch.Tensor], model) -> tuple[list[torch.Tensor], int]:
    outs, calls = [], 0
    for i, x in enumerate(xs):
        reuse.begin_step(i, x)

        def compute(x: torch.Tensor = x) -> torch.Tensor:
            nonlocal calls
            calls += 1
            return model(x)

        outs.append(reuse(x, compute, key="cond"))
    return outs, calls


def test_reuses_a_slowly_changing_model_and_counts():
    xs = _trajectory(30, 0.005)
    reuse = StepReuse(30, reuse_start=0.2, threshold=0.05, max_consecutive=2, modality="video")
    outs, calls = _run(reuse, xs, torch.tanh)
    summary = reuse.summary()
    assert summary.reused > 5
    assert calls == summary.computed == 30 - summary.reused
    assert summary.by_reason["warmup"] == 6  # ceil(0.2 * 30)
    assert summary.by_reason["last_step"] == 1
    run = longest = 0
    for step, reused, _ in summary.decisions:
        run = run + 1 if reused else 0
        longest = max(longest, run)
        if reused:
            assert step >= 6 and step != 29
            # "output" mode: the last computed output, unchanged
            last = max(s for s, r, _ in summary.decisions if not r and s < step)
            assert torch.equal(outs[step], outs[last])
    assert longest <= 2
    assert reuse.transformation_rate > 0


def test_recomputes_on_a_jump():
    xs = _trajectory(30, 0.003, jump_at=16)
    reuse = StepReuse(30, reuse_start=0.2, threshold=0.1, max_consecutive=8)
    _run(reuse, xs, torch.tanh)
    decisions = {step: (reused, reason) for step, reused, reason in reuse.summary().decisions}
    assert decisions[15][0] is True
    assert decisions[16] == (False, "threshold")


def test_transform_mode_adds_the_last_transformation():
    xs = _trajectory(12, 0.001)
    reuse = StepReuse(12, reuse_start=0.0, threshold=1.0, max_consecutive=3, mode="transform")
    outs, _ = _run(reuse, xs, lambda x: 2.0 * x + 1.0)
    for step, reused, _ in reuse.summary().decisions:
        if reused:
            last = max(s for s, r, _ in reuse.summary().decisions if not r and s < step)
            expected = xs[step] + (outs[last] - xs[last])
            assert torch.allclose(outs[step], expected, atol=1e-6)
    assert reuse.summary().reused > 0


def test_keys_are_cached_separately_and_decided_once_per_step():
    xs = _trajectory(10, 0.001)
    reuse = StepReuse(10, reuse_start=0.0, threshold=1.0, max_consecutive=4)
    for i, x in enumerate(xs):
        first = reuse.begin_step(i, x)
        assert reuse.begin_step(i, x) == first  # the same decision again, not a second one
        cond = reuse(x, lambda x=x: x + 1, key="cond")
        uncond = reuse(x, lambda x=x: x - 1, key="uncond")
        assert not torch.equal(cond, uncond)
    assert reuse.summary().computed + reuse.summary().reused == 10


def test_disabled_settings_never_reuse():
    xs = _trajectory(8, 0.0001)
    reuse = StepReuse.from_settings(EfficientSettings.off(), 8)
    _, calls = _run(reuse, xs, torch.tanh)
    assert calls == 8 and reuse.summary().by_reason == {"disabled": 8}
    assert not reuse.enabled


def test_bad_use_raises():
    with pytest.raises(ValueError, match="mode must be one of output transform, got 'delta'"):
        StepReuse(10, mode="delta")
    with pytest.raises(ValueError, match="steps must be in \\[1, 10000\\], got 0"):
        StepReuse(0)
    with pytest.raises(ValueError, match="reuse_threshold must be a number in \\[0, 10\\]"):
        StepReuse(10, reuse_start=0.2, threshold=-1.0, max_consecutive=2)
    reuse = StepReuse(10, reuse_start=0.0, threshold=1.0, max_consecutive=2)
    x = torch.ones(3)
    with pytest.raises(RuntimeError, match="begin_step\\(\\) must be called"):
        reuse(x, lambda: x)
    reuse.begin_step(0, x)
    with pytest.raises(ValueError, match="step must be in \\[1, 9\\]"):
        reuse.begin_step(-1, x)
    assert reuse.begin_step(1, torch.ones(4)) is False  # re-batched input: computed, not an error
    assert reuse.shape_changes == 1
    with pytest.raises(RuntimeError, match="is computed, not reused"):
        reuse.reuse(x)
    assert isinstance(_core.ReuseReason.THRESHOLD, _core.ReuseReason)


def test_relative_change():
    a = torch.tensor([3.0, 4.0])
    assert relative_change(a * 1.1, a) == pytest.approx(0.1, rel=1e-6)
    assert relative_change(torch.zeros(2), torch.zeros(2)) == 0.0
    assert relative_change(torch.ones(2), torch.zeros(2)) == float("inf")


def test_a_step_batched_differently_is_computed_and_reuse_resumes():
    """ComfyUI may run cond and uncond in one call or two, step by step, when memory is short."""
    reuse = StepReuse(12, reuse_start=0.0, threshold=10.0, max_consecutive=2)
    outputs = []
    for step in range(12):
        batch = 1 if step == 5 else 2  # one step split into single-sample calls
        x = torch.full((batch, 4), 1.0 - step / 100)
        reused = reuse.begin_step(step, x)
        outputs.append(reuse(x, lambda x=x: x * 2))
        if step == 5:
            assert not reused and outputs[-1].shape == (1, 4)
        if step == 6:
            assert not reused  # the cache was emptied by the re-batched step
    assert reuse.shape_changes == 2  # into and out of the single-sample step
    assert reuse.summary().reused > 0


def test_policy_counts_a_reuse_the_host_could_not_serve_as_computed():
    policy = _core.ReusePolicy(_core.ReusePolicyConfig(12, 0.2, 1.0, 2))
    for step in range(3):  # warm-up, calibrated at rate 1
        policy.decide(step, 0.01)
        policy.record_computed(0.01, 0.01)
    assert policy.decide(3, 0.01).reuse
    policy.computed_instead()
    stats = policy.stats
    assert (stats.computed, stats.reused, stats.longest_reuse_run) == (4, 0, 0)
    assert stats.by_reason == {"warmup": 3, "no_cached_output": 1}
    assert policy.decide(4, 0.01).reuse and policy.decide(5, 0.01).reuse  # a fresh run of two
    assert not policy.decide(6, 0.01).reuse
    with pytest.raises(ValueError, match="computed_instead"):
        policy.computed_instead()
