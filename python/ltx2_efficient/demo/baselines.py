"""The demo's equal-cost baselines: what a user gets without this sampler at each preset's cost.

For every preset the demo runs, two alternatives at the same predicted LTX-2 cost (the cost model
at 1280x704x121 with the demo's steps and guidance, and the steps the preset actually reused):

- dense with fewer steps: the same seed sampled densely with ``round(steps / cost)`` steps;
- EasyCache (ComfyUI core's step cache, its published rule) at its default threshold and at a
  cautious one; the curve between them is read at the preset's cost.

Each is compared with the dense run of the full step count, like the presets.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

EASYCACHE_THRESHOLDS = (0.02, 0.2)  # a cautious one (in the presets' cost range) and ComfyUI's default


def baseline_runs(
    model: Any, request: Any, dense: Any, preset_summaries: list[dict[str, Any]], settings: dict[str, Any]
) -> list[dict[str, Any]]:
    """Runs the baselines the presets need; returns their rows (equal-cost speedup and fidelity,
    in ``ltx2eff eval``'s row form)."""
    from ltx2_efficient.demo.runs import fidelity, run_settings
    from ltx2_efficient.eval.easycache import EasyCache
    from ltx2_efficient.eval.equal_cost import equal_cost_speedup
    from ltx2_efficient.eval.grid import GridPoint
    from ltx2_efficient.sampler.settings import EfficientSettings

    steps, guidance = request.steps, request.guidance
    counts = sorted(
        {
            max(2, round(steps / preset_cost(summary, settings[summary["name"]], request)))
            for summary in preset_summaries
        },
        reverse=True,
    )
    rows = []
    for count in (n for n in counts if n < steps):
        point = GridPoint(f"dense {count} steps", steps=count)
        run = run_settings(model, replace(request, steps=count), point.label, EfficientSettings.off())
        cost = equal_cost_speedup(EfficientSettings.off(), steps, guidance, point, [])
        rows.append(_row(point, cost, fidelity(run, dense), run))
    for threshold in EASYCACHE_THRESHOLDS:
        point = GridPoint(f"easycache {threshold:g}", easycache=threshold)
        cache = EasyCache(threshold=threshold)
        run = run_settings(model, request, point.label, EfficientSettings.off(), step_cache=cache)
        cost = equal_cost_speedup(
            EfficientSettings.off(), steps, guidance, point, [{"baseline_skipped": cache.skipped}]
        )
        rows.append(_row(point, cost, fidelity(run, dense), run))
    return rows


def preset_cost(summary: dict[str, Any], settings: Any, request: Any) -> float:
    """A preset run's equal-cost speedup: the cost model's LTX-2 speedup of what it ran."""
    from ltx2_efficient.eval.equal_cost import equal_cost_speedup
    from ltx2_efficient.eval.grid import GridPoint

    return equal_cost_speedup(
        settings, request.steps, request.guidance, GridPoint(summary["name"]), [summary]
    )


def compare_presets(
    preset_summaries: list[dict[str, Any]],
    baselines: list[dict[str, Any]],
    settings: dict[str, Any],
    request: Any,
) -> list[dict[str, Any]]:
    """Each preset against both baseline curves at its own cost: the rows ``ltx2eff eval``'s
    equal-cost comparison adds (baseline PSNR there, margins, whether it beats both)."""
    from ltx2_efficient.eval.equal_cost import compare_with_baselines

    rows = [
        {
            "label": s["name"],
            "family": "sampler",
            "cost_speedup": preset_cost(s, settings[s["name"]], request),
            "psnr_min": s["psnr_db"],
        }
        for s in preset_summaries
    ]
    compare_with_baselines(rows + [dict(b) for b in baselines])
    return rows


def _row(point: Any, cost: float, measured: dict[str, Any], run: Any) -> dict[str, Any]:
    return {
        "label": point.label,
        "family": point.family,
        "cost_speedup": cost,
        "psnr_min": measured["psnr_db"],
        "ssim": measured["ssim"],
        "motion_ratio": measured["motion_ratio"],
        "model_calls": run.model_calls,
    }
