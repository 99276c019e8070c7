"""The eval's equal-cost baselines: the EasyCache rule and the comparison at equal cost."""

from __future__ import annotations

import pytest
import torch

from ltx2_efficient.eval import cli
from ltx2_efficient.eval.easycache import EasyCache
from ltx2_efficient.eval.grid import GridPoint, baselines, phased_grid


def _drive(cache: EasyCache, steps: int, change: float) -> list[bool]:
    """A run whose input grows by the share ``change`` per step and whose output follows it;
    returns, per step, whether the model was called."""
    computed = []
    x = torch.ones(1, 256, 4)
    for step in range(steps):
        cache.begin_step(step, 1.0 - step / steps, steps)
        out, ran = cache.call("cond", x, lambda x=x: 2.0 * x)
        _, ran_uncond = cache.call("uncond", x, lambda x=x: 2.0 * x)
        assert ran == ran_uncond  # the first call decides for the step
        assert torch.allclose(out, 2.0 * x) or not ran
        computed.append(ran)
        x = x * (1.0 + change)
    return computed


def test_easycache_skips_slow_steps_inside_its_window_only() -> None:
    cache = EasyCache()  # defaults: threshold 0.2, from 15% to 95%
    computed = _drive(cache, 20, change=0.02)
    assert all(computed[:4])  # before 15% (and the first active step measures the rate)
    assert computed[19]  # past 95%
    assert cache.skipped == computed.count(False) > 5


def test_easycache_computes_when_the_input_moves_fast() -> None:
    cache = EasyCache(threshold=0.2)
    assert all(_drive(cache, 20, change=0.5))
    assert cache.skipped == 0


def test_easycache_reuse_is_input_plus_the_last_transformation() -> None:
    cache = EasyCache(threshold=3.0, start=0.0, end=1.0)
    x = torch.ones(1, 128, 2)
    for step in range(3):
        cache.begin_step(step, 1.0, 10)
        cache.call("cond", x + step * 0.001, lambda step=step: 3.0 * (x + step * 0.001))
    cache.begin_step(3, 1.0, 10)
    y = x + 0.003
    out, ran = cache.call("cond", y, lambda: pytest.fail("should reuse"))
    assert not ran
    last_in = x + 0.001  # step 2 was already reused: step 1 is the last computed one
    assert torch.allclose(out, y + (3.0 * last_in - last_in))


@pytest.mark.parametrize("kwargs", [{"threshold": -1.0}, {"start": 0.9, "end": 0.1}])
def test_easycache_rejects_bad_settings(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        EasyCache(**kwargs)


def _row(label: str, family: str, cost: float, psnr: float | None) -> dict[str, object]:
    return {
        "label": label, "family": family, "cost_speedup": cost, "predicted_ltx2_speedup": cost, "psnr_min": psnr,
        "ssim_min": 0.9, "motion_deviation_max": 0.01, "passes_balanced_gate": False, "passes_fast_gate": True,
        "psnr_keyframes_min": None, "psnr_interpolated_min": None,
    }  # fmt: skip


def test_rows_are_compared_with_each_baseline_curve_at_their_cost() -> None:
    rows = [
        _row("dense 10", "fewer-steps", 2.0, 30.0),
        _row("dense 5", "fewer-steps", 4.0, 20.0),
        _row("ec 0.1", "easycache", 2.0, 28.0),
        _row("ec 0.3", "easycache", 3.0, 22.0),
        _row("mine", "sampler", 3.0, 27.0),
        _row("identical", "sampler", 1.0, None),
    ]
    cli.compare_with_baselines(rows)
    mine = rows[4]
    assert mine["fewer-steps_psnr_min"] == pytest.approx(25.0)  # halfway between 2x and 4x
    assert mine["easycache_psnr_min"] == pytest.approx(22.0)
    assert mine["baseline_margins_db"] == {"fewer-steps": pytest.approx(2.0), "easycache": pytest.approx(5.0)}
    assert mine["beats_baselines"]
    assert rows[5]["baseline_margins_db"]["fewer-steps"] is None and rows[5]["beats_baselines"]
    assert not rows[5]["fewer-steps_in_range"]  # cheaper than every baseline point: nearest used
    table = cli.render_equal_cost(rows)
    assert "| mine | 3.00x | 27.00 |" in table and "+2.00 / +5.00" in table


def test_equal_cost_of_fewer_steps_is_the_step_ratio() -> None:
    point = GridPoint("dense 10 steps", steps=10)
    assert cli.equal_cost_speedup(point.settings(), 20, 3.0, point, []) == pytest.approx(2.0)


def test_phased_grid_holds_both_baselines_and_valid_settings() -> None:
    for steps, regime in ((20, "dev"), (8, "distilled")):
        points = phased_grid(steps)
        families = {p.family for p in points}
        assert families == {"sampler", "fewer-steps", "easycache"}
        for p in points:
            p.settings(regime)
        assert all(p.steps < steps for p in baselines(steps) if p.steps is not None)


def test_a_point_with_a_non_finite_output_is_reported_and_the_sweep_goes_on(monkeypatch) -> None:
    """A point whose video holds a NaN gets no row: it is listed with its reason, the other points
    still run and are timed."""
    from dataclasses import replace

    import numpy as np

    from ltx2_efficient.demo.model import load_demo_model
    from ltx2_efficient.eval import cli
    from ltx2_efficient.eval.grid import GridPoint

    model = load_demo_model()
    requests = [replace(r, steps=2) for r in cli.requests_for(2, 2, 3.0)]
    points = [GridPoint("broken", {"reuse_start": 0.5}), GridPoint("dense 1 steps", steps=1)]
    real_run_point = cli.run_point

    def run_point(model, request, point, settings):  # type: ignore[no-untyped-def]
        result = real_run_point(model, request, point, settings)
        if point.label == "broken" and request.seed == requests[1].seed:
            result.video = np.full_like(result.video, np.nan)
        return result

    monkeypatch.setattr(cli, "run_point", run_point)
    failed: list[dict[str, str]] = []
    rows = cli.evaluate(model, requests, points, repeats=2, failed=failed)
    assert [row["label"] for row in rows] == ["dense 1 steps"]
    assert rows[0]["speedup"] > 0
    assert failed == [
        {
            "label": "broken",
            "reason": f"non-finite output (NaN or inf) on the request(s) of seed {requests[1].seed}",
        }
    ]
    assert "- broken: non-finite output" in cli.render_failed(failed)
