"""Equal-cost comparison: a setting against the two baselines (dense with fewer steps, EasyCache's
step cache) at the same predicted LTX-2 cost, on the worst request. ``ltx2eff eval`` and
``ltx2eff demo`` both compare through this module."""

from __future__ import annotations

from typing import Any

LTX2_REFERENCE = (1280, 704, 121, 24)  # width, height, pixel frames, fps: the equal-cost axis
MARGIN_DB = 1.0  # a setting earns a preset's place only this far above both baselines


def equal_cost_speedup(
    settings: Any, steps: int, guidance: float, point: Any, runs: list[dict[str, Any]]
) -> float:
    """The cost model's LTX-2 speedup (1280x704x121) of what the point ran, at the eval's step
    count and guidance, with the steps it actually reused: the axis the baselines are compared on
    (dense with n of N steps is exactly N / n)."""
    import ltx2_efficient as core

    calls = 1 if float(guidance) == 1.0 else 2
    pixels = core.PixelShape(*LTX2_REFERENCE)
    dense = core.make_plan(pixels, core.Knobs(), core.SamplingSpec(steps=steps, calls_per_step=calls))
    if point.steps is not None:
        run = core.make_plan(pixels, core.Knobs(), core.SamplingSpec(steps=point.steps, calls_per_step=calls))
        return float(dense.plan_seconds / run.plan_seconds)
    if point.easycache is not None:
        reused = round(_mean([float(r["baseline_skipped"]) for r in runs]))
    else:
        reused = round(_mean([float(r["steps_reused"]) for r in runs]))
    shares = [float(r["windowed_head_share"]) for r in runs if r.get("windowed_head_share") is not None]
    spec = core.SamplingSpec(
        steps=steps,
        calls_per_step=calls,
        reused_steps=min(reused, steps - 1),
        windowed_head_share=_mean(shares) if shares else -1.0,
    )
    plan = core.make_plan(pixels, settings.knobs, spec)
    return float(dense.plan_seconds / plan.plan_seconds)


def baseline_psnr_at(rows: list[dict[str, Any]], family: str, speedup: float) -> tuple[float | None, bool]:
    """The worst-request PSNR of baseline ``family`` at ``speedup`` (linear between its points
    on the equal-cost axis) and whether ``speedup`` lies inside the curve's range (outside, the
    nearest point stands in)."""
    curve = sorted(
        (row["cost_speedup"], row["psnr_min"])
        for row in rows
        if row["family"] == family and row["psnr_min"] is not None
    )
    if not curve:
        return None, False
    if speedup <= curve[0][0]:
        return curve[0][1], speedup == curve[0][0]
    if speedup >= curve[-1][0]:
        return curve[-1][1], speedup == curve[-1][0]
    for (s0, p0), (s1, p1) in zip(curve, curve[1:], strict=False):
        if s0 <= speedup <= s1:
            t = (speedup - s0) / (s1 - s0) if s1 > s0 else 0.0
            return p0 + t * (p1 - p0), True
    return curve[-1][1], False


def compare_with_baselines(rows: list[dict[str, Any]]) -> None:
    """Per sampler row: each baseline's worst PSNR at the row's cost, the margin, and whether the
    row beats both by at least MARGIN_DB on the worst request (what a preset must do)."""
    for row in rows:
        row.setdefault("family", "sampler")
        if "cost_speedup" not in row:
            row["cost_speedup"] = row["predicted_ltx2_speedup"]
    for row in rows:
        if row["family"] != "sampler":
            continue
        margins: dict[str, float | None] = {}
        for family in ("fewer-steps", "easycache"):
            value, inside = baseline_psnr_at(rows, family, row["cost_speedup"])
            row[f"{family}_psnr_min"] = value
            row[f"{family}_in_range"] = inside
            # An identical run (PSNR None) has no finite margin: it beats any baseline.
            margins[family] = None if value is None or row["psnr_min"] is None else row["psnr_min"] - value
        row["baseline_margins_db"] = margins
        identical = row["psnr_min"] is None
        row["beats_baselines"] = identical or all(m is not None and m >= MARGIN_DB for m in margins.values())


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)
