"""``ltx2eff eval``: sweep the knob grid on several seeds and motion classes, print the Pareto table.

For every request (prompt, seed) the dense run is the reference; every grid point is run on the
same requests. Per point: measured speedup (dense model-call time over the point's, summed over
requests, on this CPU), the cost model's predicted speedup for LTX-2 at 1280x704x121 with 30 CFG
steps, fidelity (PSNR, SSIM, motion), and whether the preset quality gates hold on every request.
Writes ``pareto.md`` and ``pareto.json`` to ``--out`` (new or empty; ``--force`` replaces an
earlier eval there; the folder appears whole or not at all). Every point, and the dense
reference, is timed ``--repeats`` times, interleaved: the speedup is the median over the
median, flagged when the spread is wide, with the exact work ratio beside it.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ltx2_efficient.demo.timing import NOISY_SPREAD, check_repeats, time_interleaved, timing_summary
from ltx2_efficient.demo.verb import run_verb
from ltx2_efficient.eval.equal_cost import (
    LTX2_REFERENCE,
    MARGIN_DB,
    compare_with_baselines,
    equal_cost_speedup,
)
from ltx2_efficient.eval.grid import GRIDS

EVAL_PROMPTS = (
    "red square orbit radial-gradient",
    "blue circle bounce plain",
    "green triangle pan vertical-gradient",
    "yellow bar rotate horizontal-gradient",
    "cyan circle cross plain",
    "magenta square zoom radial-gradient",
    "orange triangle fall plain",
)
# The quality gates the presets are held to (tests/test_demo_quality.py checks them).
BALANCED_GATE = {"psnr_db": 30.0, "ssim": 0.93, "motion_deviation": 0.10}
FAST_GATE = {"psnr_db": 26.0}
LTX2_STEPS = 30
LTX2_DISTILLED_STEPS = 8

DEFAULT_OUT = "ltx2eff-eval"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ltx2eff eval",
        description="Sweep stride, window, far field, reuse, refine and interpolation on the demo "
        "model and print the Pareto table of speedup against fidelity.",
    )
    parser.add_argument(
        "--out",
        default=None,
        help="output folder, new or empty (default: ./ltx2eff-eval, or ./ltx2eff-eval-2, ... when taken)",
    )
    parser.add_argument("--force", action="store_true", help="replace an earlier eval run in --out")
    parser.add_argument(
        "--seeds", type=int, default=4, help="requests (seed + motion class each; default: 4)"
    )
    parser.add_argument("--quick", action="store_true", help="a few grid points only (same as --grid quick)")
    parser.add_argument(
        "--grid",
        choices=tuple(GRIDS),
        default=None,
        help="which points: full (default), quick (a few), reuse (where step reuse starts, caps, "
        "thresholds), window (window K with and without the anchor frame and far field), presets "
        "(the shipped presets alone), phased (step-phased windows and bottleneck keyframes against "
        "the equal-cost baselines), heads (head-wise windows: only the heads that keep a share of "
        "their attention inside the window)",
    )
    parser.add_argument(
        "--regime",
        choices=("dev", "distilled"),
        default=None,
        help="dev: 20 steps with CFG 3; distilled: 8 steps without guidance (default: dev, or "
        "distilled for a distilled model); the presets resolve for the regime the core assigns "
        "to the steps and guidance",
    )
    parser.add_argument(
        "--steps",
        type=int,
        default=None,
        help="sampling steps (default: the regime's, or a distilled model's)",
    )
    parser.add_argument(
        "--guidance", type=float, default=None, help="CFG scale (default: 3 dev, 1 distilled)"
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="timings of every point, interleaved; the median is used (default: 3)",
    )
    parser.add_argument(
        "--model",
        default="demo",
        help="the shipped model to sample: demo (default; 8x8-token frames), judge (16x16-token frames,"
        " several objects, camera pans) or judge-distilled (the judge distilled to 8 steps, CFG 1)",
    )
    parser.add_argument("--device", default="cpu", help="torch device to sample on (default: cpu)")
    parser.add_argument(
        "--check",
        metavar="PRESETS",
        default=None,
        help="instead of the grid: the efficiency check of one preset (or a sweep of several, "
        "comma-separated) against dense on the demo model's first request; writes check.json / "
        "check_sweep.json",
    )
    parser.add_argument(
        "--time-budget", type=float, default=600.0, help="seconds a --check sweep may take (default: 600)"
    )
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.check is not None:
        from ltx2_efficient.eval.check_cli import check_args, run_check

        return run_verb(
            "eval", args.out, args.force, lambda: check_args(args), run_check, default_out=DEFAULT_OUT
        )
    return run_verb("eval", args.out, args.force, lambda: _check(args), _run, default_out=DEFAULT_OUT)


@dataclass(frozen=True)
class EvalArgs:
    seeds: int
    grid: str
    steps: int | None  # None: the model's own (20, or a distilled model's schedule)
    guidance: float | None
    repeats: int
    model: str
    device: str
    regime: str | None  # None: dev, or distilled for a distilled model


def _check(args: argparse.Namespace) -> EvalArgs:
    """The arguments, validated without importing torch or the model."""
    requests_for(
        args.seeds, 20 if args.steps is None else args.steps, 3.0 if args.guidance is None else args.guidance
    )
    if args.quick and args.grid not in (None, "quick"):
        raise ValueError(f"--quick and --grid {args.grid} contradict each other: give one")
    grid = "quick" if args.quick else (args.grid or "full")
    repeats = check_repeats(args.repeats)
    return EvalArgs(
        args.seeds, grid, args.steps, args.guidance, repeats, args.model, args.device, args.regime
    )


def requests_for(seeds: int, steps: int, guidance: float) -> list[Any]:
    """``seeds`` requests, each a different seed and (cycling) motion class."""
    from ltx2_efficient.demo.prompt import DemoPrompt
    from ltx2_efficient.demo.request import DemoRequest

    if not 1 <= seeds <= 64:
        raise ValueError(f"seeds must be in [1, 64], got {seeds}")
    return [
        DemoRequest(DemoPrompt.parse(EVAL_PROMPTS[i % len(EVAL_PROMPTS)]), 100 + i, steps, guidance)
        for i in range(seeds)
    ]


def _run(checked: EvalArgs, out_dir: Path) -> str:
    import torch

    from ltx2_efficient.demo.model import load_demo_model, shipped_weights
    from ltx2_efficient.demo.output_folder import write_atomically, write_json_atomically
    from ltx2_efficient.sampler.settings import regime_for

    weights = shipped_weights(checked.model)
    try:
        device = torch.device(checked.device)
    except RuntimeError as error:
        raise ValueError(
            f"device must be a torch device such as cpu or cuda, got '{checked.device}'"
        ) from error
    model = load_demo_model(weights, device=device)
    distilled_model = model.config.sigmas is not None
    regime_name = checked.regime or ("distilled" if distilled_model else "dev")
    if checked.steps is not None:
        steps = checked.steps
    elif distilled_model:
        steps = len(model.config.sigmas) - 1
    else:
        steps = 20 if regime_name == "dev" else 8
    guidance = checked.guidance if checked.guidance is not None else (3.0 if regime_name == "dev" else 1.0)
    regime = regime_for(steps, guidance)
    requests = requests_for(checked.seeds, steps, guidance)
    points = GRIDS[checked.grid](steps)
    started = time.perf_counter()
    partial = out_dir / "pareto.partial.json"

    def checkpoint(done: list[dict[str, Any]]) -> None:
        # Rows so far, so that a run stopped early (a time limit) keeps what it measured.
        write_json_atomically(partial, {"regime": regime, "steps": steps, "rows": done})

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    failed: list[dict[str, str]] = []
    rows = evaluate(
        model,
        requests,
        points,
        log=log,
        repeats=checked.repeats,
        regime=regime,
        on_row=checkpoint,
        failed=failed,
    )
    partial.unlink(missing_ok=True)
    mark_fronts(rows)
    compare_with_baselines(rows)
    header = {
        "requests": [{"prompt": r.prompt.text(), "seed": r.seed} for r in requests],
        "steps": steps,
        "guidance": guidance,
        "grid": checked.grid,
        "regime": regime,
        "timing_repeats": checked.repeats,
        "model": checked.model,
        "device": _device_name(model),
        "balanced_gate": BALANCED_GATE,
        "fast_gate": FAST_GATE,
        "wall_s": time.perf_counter() - started,
        "failed_points": failed,
    }
    write_json_atomically(out_dir / "pareto.json", {**header, "rows": rows})
    from ltx2_efficient.eval.check_report import device_label

    table = render_table(rows, device_label(header["device"]))
    if failed:
        table += "\n\n" + render_failed(failed)
    if any(row["family"] != "sampler" for row in rows):
        table += "\n\n" + render_equal_cost(rows)
    write_atomically(out_dir / "pareto.md", _markdown(header, table))
    print(table)
    return f"pareto.md and pareto.json, {len(points)} points x {len(requests)} requests"


def _device_name(model: Any) -> str:
    import torch

    device = next(model.parameters()).device
    return torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"


def run_point(model: Any, request: Any, point: Any, settings: Any) -> Any:
    """One request with one grid point: the sampler's settings, or a baseline."""
    from dataclasses import replace

    from ltx2_efficient.demo.runs import run_settings
    from ltx2_efficient.eval.easycache import EasyCache

    if point.steps is not None:
        return run_settings(model, replace(request, steps=point.steps), point.label, settings)
    cache = EasyCache(threshold=point.easycache) if point.easycache is not None else None
    result = run_settings(model, request, point.label, settings, step_cache=cache)
    if cache is not None:
        result.report.add_note(f"easycache skipped {cache.skipped}/{cache.steps} steps")
        result.report.reuse_baseline_skipped = cache.skipped  # type: ignore[attr-defined]
    return result


def evaluate(
    model: Any,
    requests: list[Any],
    points: list[Any],
    log: Any = None,
    repeats: int = 1,
    regime: str = "dev",
    on_row: Any = None,
    failed: list[dict[str, str]] | None = None,
) -> list[dict[str, Any]]:
    """Runs the dense reference and every grid point on every request; one row per point. The
    first pass gives the outputs and a timing; ``repeats - 1`` more passes, interleaved over the
    points, time them again, and each row's speedup is the median over the dense median. A point
    whose output is not finite on some request gets no row: it is logged, added to ``failed``
    (label and reason) and left out of the timing passes, and the sweep goes on."""
    from ltx2_efficient.demo.runs import run_settings, run_summary, warm_up
    from ltx2_efficient.sampler.settings import EfficientSettings

    warm_up(model, requests[0])
    settings = {"dense": EfficientSettings.off(), **{point.label: point.settings(regime) for point in points}}
    by_label = {point.label: point for point in points}

    def model_seconds(runs: list[Any]) -> float:
        return sum(run.model_s for run in runs)

    dense = [run_settings(model, request, "dense", settings["dense"]) for request in requests]
    first = {"dense": model_seconds(dense)}
    rows = []
    for k, point in enumerate(points):
        runs = [run_point(model, r, point, settings[point.label]) for r in requests]
        first[point.label] = model_seconds(runs)
        reason = _non_finite(runs, requests)
        if reason is not None:
            del first[point.label], settings[point.label]
            if failed is not None:
                failed.append({"label": point.label, "reason": reason})
            if log is not None:
                log(f"[{k + 1}/{len(points)}] {point.label}: {reason}; left out of the table")
            continue
        summaries = []
        for result, d in zip(runs, dense, strict=True):
            summary = run_summary(result, d)
            summary["baseline_skipped"] = getattr(result.report, "reuse_baseline_skipped", 0)
            summaries.append(summary)
        row = aggregate(point.label, settings[point.label], summaries, first["dense"])
        row["family"] = point.family
        row["work_ratio_calls"] = sum(d.model_calls for d in dense) / max(1, sum(r.model_calls for r in runs))
        row["cost_speedup"] = equal_cost_speedup(
            settings[point.label], requests[0].steps, requests[0].guidance, point, summaries
        )
        if point.family != "sampler":
            # A baseline's whole saving is its step (or skip) share: the same ratio at any size.
            row["predicted_ltx2_speedup"] = row["cost_speedup"]
        rows.append(row)
        if on_row is not None:
            on_row(rows)
        if log is not None:
            log(
                f"[{k + 1}/{len(points)}] {point.label}: {row['work_ratio_calls']:.2f}x fewer model calls, "
                f"{row['cost_speedup']:.2f}x LTX-2 at these steps, PSNR {_db(row['psnr_mean'], row['identical_requests'])} "
                f"(min {_db(row['psnr_min'], 0)})"
            )

    def time_one(label: str) -> float:
        if label == "dense":
            return model_seconds([run_settings(model, r, label, settings[label]) for r in requests])
        return model_seconds([run_point(model, r, by_label[label], settings[label]) for r in requests])

    if log is not None and repeats > 1:
        log(f"timing every point {repeats - 1} more times, interleaved ...")
    samples = time_interleaved(list(settings), repeats, time_one, first=first)
    for row in rows:
        timing = timing_summary(samples[row["label"]], samples["dense"])
        row["speedup"] = timing["speedup_model"] or 0.0
        row["speedup_range"] = timing["speedup_range"]
        row["model_s_spread"] = timing["model_s_spread"]
        row["timing_noisy"] = timing["timing_noisy"]
    return rows


def _non_finite(runs: list[Any], requests: list[Any]) -> str | None:
    """Why a point's outputs cannot be compared (a NaN or inf in some request's video), else None."""
    import numpy as np

    seeds = [r.seed for run, r in zip(runs, requests, strict=True) if not np.isfinite(run.video).all()]
    if not seeds:
        return None
    return f"non-finite output (NaN or inf) on the request(s) of seed {', '.join(map(str, seeds))}"


def render_failed(failed: list[dict[str, str]]) -> str:
    lines = ["Points that did not produce a comparable video:", ""]
    lines += [f"- {item['label']}: {item['reason']}" for item in failed]
    return "\n".join(lines)


def aggregate(label: str, settings: Any, runs: list[dict[str, Any]], dense_model_s: float) -> dict[str, Any]:
    """One grid point over its requests: means, worst cases and the gate verdicts."""
    # An identical run has no finite PSNR: count it apart instead of averaging in a stand-in value.
    psnrs = [r["psnr_db"] for r in runs if r["psnr_db"] is not None]
    ssims = [r["ssim"] for r in runs]
    deviation = max(abs(r["motion_ratio"] - 1.0) for r in runs)
    model_s = sum(r["model_s"] for r in runs)
    row = {
        "label": label,
        "settings": settings.describe(),
        "knobs": settings.to_dict(),
        "speedup": dense_model_s / model_s if model_s > 0 else 0.0,
        "predicted_ltx2_speedup": predicted_ltx2_speedup(settings),
        "work_fraction": _mean([r["work_fraction"] for r in runs]),
        "pair_fraction": _mean([r["pair_fraction"] for r in runs]),
        "steps_reused": _mean([r["steps_reused"] for r in runs]),
        "windowed_head_share": _mean_or_none([r.get("windowed_head_share") for r in runs]),
        "frames_diffused": runs[0]["frames_diffused"],
        "psnr_mean": _mean(psnrs) if psnrs else None,  # None: identical to dense on every request
        "psnr_min": min(psnrs) if psnrs else None,
        "identical_requests": len(runs) - len(psnrs),
        "ssim_mean": _mean(ssims),
        "ssim_min": min(ssims),
        "motion_ratio_mean": _mean([r["motion_ratio"] for r in runs]),
        "motion_deviation_max": deviation,
        "motion_error_mean": _mean([r["motion_error"] for r in runs]),
        "flicker_mean": _mean([r["flicker"] for r in runs]),
        "psnr_keyframes_min": _min_or_none([r.get("psnr_keyframes_db") for r in runs]),
        "psnr_interpolated_min": _min_or_none([r.get("psnr_interpolated_db") for r in runs]),
        "schedule": runs[0].get("schedule", ""),
        "regime": getattr(settings, "regime", "dev"),
    }
    psnr_floor = math.inf if row["psnr_min"] is None else row["psnr_min"]
    row["passes_balanced_gate"] = (
        psnr_floor >= BALANCED_GATE["psnr_db"]
        and row["ssim_min"] >= BALANCED_GATE["ssim"]
        and deviation <= BALANCED_GATE["motion_deviation"]
    )
    row["passes_fast_gate"] = psnr_floor >= FAST_GATE["psnr_db"]
    return row


def _mean_or_none(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return _mean(known) if known else None


def _min_or_none(values: list[float | None]) -> float | None:
    finite = [v for v in values if v is not None]
    return min(finite) if finite else None


def render_equal_cost(rows: list[dict[str, Any]]) -> str:
    """The baselines as their own curves, then each sampler row against both at equal cost."""
    lines = ["Baseline curves (worst-request PSNR against dense at the same steps):", ""]
    lines += [
        "| baseline | LTX-2 at these steps | PSNR min | SSIM min | motion dev |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in sorted(
        (r for r in rows if r["family"] != "sampler"), key=lambda r: (r["family"], r["cost_speedup"])
    ):
        lines.append(
            f"| {row['label']} | {row['cost_speedup']:.2f}x | {_db(row['psnr_min'], 0)} | {row['ssim_min']:.4f} | "
            f"{row['motion_deviation_max']:.3f} |"
        )
    lines += ["", "Each setting against both baselines at its own cost (margin = its worst PSNR minus the "
              f"baseline curve's there; >= {MARGIN_DB:g} dB on both earns a preset its place):", ""]  # fmt: skip
    lines += [
        "| point | LTX-2 at these steps | PSNR min | keyframes / interpolated | fewer steps | EasyCache | "
        "margins | gates | beats both |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for row in sorted((r for r in rows if r["family"] == "sampler"), key=lambda r: -r["cost_speedup"]):
        gates = ("B" if row["passes_balanced_gate"] else "-") + ("F" if row["passes_fast_gate"] else "-")
        split = (
            f"{_db(row['psnr_keyframes_min'], 0)} / {_db(row['psnr_interpolated_min'], 0)}"
            if row["psnr_keyframes_min"] is not None or row["psnr_interpolated_min"] is not None
            else "all diffused"
        )
        lines.append(
            f"| {row['label']} | {row['cost_speedup']:.2f}x | {_db(row['psnr_min'], 0)} | {split} | "
            f"{_baseline_cell(row, 'fewer-steps')} | {_baseline_cell(row, 'easycache')} | "
            f"{_margins(row)} | {gates} | "
            f"{'yes' if row['beats_baselines'] else 'no'} |"
        )
    return "\n".join(lines)


def _baseline_cell(row: dict[str, Any], family: str) -> str:
    value = row.get(f"{family}_psnr_min")
    if value is None:
        return "--"
    return f"{value:.2f}" + ("" if row.get(f"{family}_in_range") else " (nearest)")


def _margins(row: dict[str, Any]) -> str:
    if row["psnr_min"] is None:
        return "identical"
    m = row["baseline_margins_db"]
    return " / ".join("--" if m.get(f) is None else f"{m[f]:+.2f}" for f in ("fewer-steps", "easycache"))


def predicted_ltx2_speedup(settings: Any) -> float:
    """The cost model's speedup for LTX-2 at 1280x704, 121 frames: 30 steps with CFG in the dev
    regime, 8 steps without guidance in the distilled one (the forecast reuse bound)."""
    import ltx2_efficient as core

    distilled = getattr(settings, "regime", "dev") == "distilled"
    sampling = core.SamplingSpec()
    sampling.steps = LTX2_DISTILLED_STEPS if distilled else LTX2_STEPS
    sampling.calls_per_step = 1 if distilled else 2
    return float(core.make_plan(core.PixelShape(*LTX2_REFERENCE), settings.knobs, sampling).predicted_speedup)


def mark_fronts(rows: list[dict[str, Any]]) -> None:
    """Flags the Pareto fronts: measured speedup vs mean PSNR, predicted LTX-2 speedup vs worst PSNR."""
    from ltx2_efficient.eval.pareto import pareto_front

    # Identical runs (PSNR None) beat every finite PSNR.
    scored = [
        {
            key: math.inf if row[key] is None else row[key]
            for key in ("speedup", "predicted_ltx2_speedup", "psnr_mean", "psnr_min")
        }
        for row in rows
    ]
    measured = set(pareto_front(scored, ("speedup", "psnr_mean")))
    predicted = set(pareto_front(scored, ("predicted_ltx2_speedup", "psnr_min")))
    for i, row in enumerate(rows):
        row["front_measured"] = i in measured
        row["front_ltx2"] = i in predicted


def render_table(rows: list[dict[str, Any]], device: str = "CPU") -> str:
    lines = [
        f"| point | speedup ({device}) | fewer calls | LTX-2 predicted | PSNR mean | PSNR min | SSIM min | motion dev | "
        "motion err | pairs | work | gates | front |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for row in sorted(rows, key=lambda r: -r["predicted_ltx2_speedup"]):
        gates = ("B" if row["passes_balanced_gate"] else "-") + ("F" if row["passes_fast_gate"] else "-")
        front = ("m" if row["front_measured"] else "") + ("L" if row["front_ltx2"] else "")
        lines.append(
            f"| {row['label']} | {row['speedup']:.2f}x{' ?' if row.get('timing_noisy') else ''} | "
            f"{row.get('work_ratio_calls', 1.0):.2f}x | {row['predicted_ltx2_speedup']:.2f}x | "
            f"{_db(row['psnr_mean'], row['identical_requests'])} | {_db(row['psnr_min'], 0)} | {row['ssim_min']:.4f} | "
            f"{row['motion_deviation_max']:.3f} | {row['motion_error_mean']:.4f} | {_pairs(row)} | "
            f"{row['work_fraction']:.0%} | {gates} | {front} |"
        )
    return "\n".join(lines)


def _pairs(row: dict[str, Any]) -> str:
    """The pair fraction, and with head-wise windows the share of the head-calls that windowed."""
    share = row.get("windowed_head_share")
    return f"{row['pair_fraction']:.3f}" + ("" if share is None else f" ({share:.0%} of heads)")


def _db(value: float | None, identical: int) -> str:
    """A PSNR cell: "identical" when every request matched dense exactly, else the value (and how
    many requests were identical, which the value leaves out)."""
    if value is None:
        return "identical"
    return f"{value:.2f}" + (f" ({identical} identical)" if identical else "")


def _markdown(header: dict[str, Any], table: str) -> str:
    from ltx2_efficient.eval.check_report import device_label

    prompts = "; ".join(f"{r['prompt']} (seed {r['seed']})" for r in header["requests"])
    return "\n".join(
        [
            f"# ltx2eff eval: speedup against fidelity on the {header['model']} model",
            "",
            f"Requests: {prompts}. {header['steps']} steps, CFG {header['guidance']:g}, {header['grid']} grid, "
            f"{header['wall_s']:.0f} s on {header['device']}.",
            "",
            f"speedup ({device_label(header['device'])}): dense model-call time over the point's, summed over the requests, the median of "
            f"{header.get('timing_repeats', 1)} interleaved timings ('?': a spread over {NOISY_SPREAD:.0%}, the machine was busy); "
            "fewer calls: the exact ratio of model calls (dense over the point). LTX-2 predicted: "
            "the cost model at 1280x704x121, 30 CFG steps. PSNR/SSIM/motion against the dense run of each "
            "request (requests identical to dense are left out of the PSNR mean and counted); motion dev = "
            "max |motion magnitude ratio - 1|. gates: B = balanced gate "
            f"(PSNR >= {BALANCED_GATE['psnr_db']:g} dB, SSIM >= {BALANCED_GATE['ssim']:g}, motion within "
            f"{BALANCED_GATE['motion_deviation']:.0%} on every request), F = fast gate "
            f"(PSNR >= {FAST_GATE['psnr_db']:g} dB). front: m = Pareto front of measured speedup vs mean PSNR, "
            "L = of predicted LTX-2 speedup vs worst PSNR.",
            "",
            table,
            "",
        ]
    )


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)
