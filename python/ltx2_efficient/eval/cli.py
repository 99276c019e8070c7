"""``ltx2eff eval``: sweep the knob grid on several seeds and motion classes, print the Pareto table.

For every request (prompt, seed) the dense run is the reference; every grid point is run on the
same requests. Per point: measured speedup (dense model-call time over the point's, summed over
requests, on this CPU), the cost model's predicted speedup for LTX-2 at 1280x704x121 with 30 CFG
steps, fidelity (PSNR, SSIM, motion), and whether the preset quality gates hold on every request.
Writes ``pareto.md`` and ``pareto.json`` to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

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
LTX2_REFERENCE = (1280, 704, 121, 24)  # width, height, pixel frames, fps
LTX2_STEPS = 30


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ltx2eff eval",
        description="Sweep stride, window, far field, reuse, refine and interpolation on the demo "
        "model and print the Pareto table of speedup against fidelity.",
    )
    parser.add_argument("--out", default="ltx2eff-eval", help="output folder (default: ./ltx2eff-eval)")
    parser.add_argument(
        "--seeds", type=int, default=4, help="requests (seed + motion class each; default: 4)"
    )
    parser.add_argument("--quick", action="store_true", help="a few grid points only (same as --grid quick)")
    parser.add_argument(
        "--grid",
        choices=("full", "quick", "reuse", "window"),
        default=None,
        help="which points: full (default), quick (a few), reuse (where step reuse starts, caps, "
        "thresholds), window (window K with and without the anchor frame and far field)",
    )
    parser.add_argument("--steps", type=int, default=20, help="sampling steps (default: 20)")
    parser.add_argument("--guidance", type=float, default=3.0, help="CFG scale (default: 3)")
    parser.add_argument(
        "--check",
        metavar="PRESETS",
        default=None,
        help="instead of the grid: the efficiency check of one preset (or a sweep of several, "
        "comma-separated) against dense on the first request; writes check.json / check_sweep.json",
    )
    parser.add_argument(
        "--time-budget", type=float, default=600.0, help="seconds a --check sweep may take (default: 600)"
    )
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except ValueError as error:
        print(f"ltx2eff eval: {error}", file=sys.stderr)
        return 2


def requests_for(seeds: int, steps: int, guidance: float) -> list[Any]:
    """``seeds`` requests, each a different seed and (cycling) motion class."""
    from ltx2_efficient.demo.prompt import DemoPrompt
    from ltx2_efficient.demo.runs import DemoRequest

    if not 1 <= seeds <= 64:
        raise ValueError(f"seeds must be in [1, 64], got {seeds}")
    return [
        DemoRequest(DemoPrompt.parse(EVAL_PROMPTS[i % len(EVAL_PROMPTS)]), 100 + i, steps, guidance)
        for i in range(seeds)
    ]


def _run(args: argparse.Namespace) -> int:
    from ltx2_efficient.demo.model import load_demo_model
    from ltx2_efficient.eval.grid import GRIDS

    requests = requests_for(args.seeds, args.steps, args.guidance)
    if args.check is not None:
        from ltx2_efficient.eval.check_cli import parse_presets, run_check

        if not args.time_budget > 0:
            raise ValueError(f"--time-budget must be a positive number of seconds, got {args.time_budget:g}")
        return run_check(parse_presets(args.check), requests[0], Path(args.out), args.time_budget)
    if args.quick and args.grid not in (None, "quick"):
        raise ValueError(f"--quick and --grid {args.grid} contradict each other: give one")
    grid = "quick" if args.quick else (args.grid or "full")
    points = GRIDS[grid]()
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    model = load_demo_model(device="cpu")
    started = time.perf_counter()
    rows = evaluate(model, requests, points, log=lambda line: print(line, file=sys.stderr, flush=True))
    mark_fronts(rows)
    header = {
        "requests": [{"prompt": r.prompt.text(), "seed": r.seed} for r in requests],
        "steps": args.steps,
        "guidance": args.guidance,
        "grid": grid,
        "balanced_gate": BALANCED_GATE,
        "fast_gate": FAST_GATE,
        "wall_s": time.perf_counter() - started,
    }
    (out_dir / "pareto.json").write_text(
        json.dumps({**header, "rows": rows}, indent=2, allow_nan=False) + "\n"
    )
    table = render_table(rows)
    (out_dir / "pareto.md").write_text(_markdown(header, table))
    print(table)
    print(f"wrote {out_dir}/pareto.md and pareto.json ({len(points)} points x {len(requests)} requests)")
    return 0


def evaluate(model: Any, requests: list[Any], points: list[Any], log: Any = None) -> list[dict[str, Any]]:
    """Runs the dense reference and every grid point on every request; one row per point."""
    from ltx2_efficient.demo.runs import run_settings, run_summary
    from ltx2_efficient.sampler.settings import EfficientSettings

    _warm_up(model, requests[0])
    dense = []
    for request in requests:
        # The reference is timed twice and the faster run kept: one-time costs and other load on
        # the machine would otherwise inflate every speedup.
        first, second = (run_settings(model, request, "dense", EfficientSettings.off()) for _ in range(2))
        dense.append(first if first.model_s <= second.model_s else second)
    rows = []
    for k, point in enumerate(points):
        settings = point.settings()
        summaries = [
            run_summary(run_settings(model, r, point.label, settings), d)
            for r, d in zip(requests, dense, strict=True)
        ]
        row = aggregate(point.label, settings, summaries, sum(d.model_s for d in dense))
        rows.append(row)
        if log is not None:
            log(
                f"[{k + 1}/{len(points)}] {point.label}: {row['speedup']:.2f}x measured, "
                f"{row['predicted_ltx2_speedup']:.2f}x LTX-2, PSNR {_db(row['psnr_mean'], row['identical_requests'])} "
                f"(min {_db(row['psnr_min'], 0)})"
            )
    return rows


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
    }
    psnr_floor = math.inf if row["psnr_min"] is None else row["psnr_min"]
    row["passes_balanced_gate"] = (
        psnr_floor >= BALANCED_GATE["psnr_db"]
        and row["ssim_min"] >= BALANCED_GATE["ssim"]
        and deviation <= BALANCED_GATE["motion_deviation"]
    )
    row["passes_fast_gate"] = psnr_floor >= FAST_GATE["psnr_db"]
    return row


def predicted_ltx2_speedup(settings: Any) -> float:
    """The cost model's speedup for LTX-2 at 1280x704, 121 frames, 30 steps with CFG."""
    import ltx2_efficient as core

    sampling = core.SamplingSpec()
    sampling.steps = LTX2_STEPS
    sampling.calls_per_step = 2
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


def render_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| point | speedup (CPU) | LTX-2 predicted | PSNR mean | PSNR min | SSIM min | motion dev | "
        "motion err | pairs | work | gates | front |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for row in sorted(rows, key=lambda r: -r["predicted_ltx2_speedup"]):
        gates = ("B" if row["passes_balanced_gate"] else "-") + ("F" if row["passes_fast_gate"] else "-")
        front = ("m" if row["front_measured"] else "") + ("L" if row["front_ltx2"] else "")
        lines.append(
            f"| {row['label']} | {row['speedup']:.2f}x | {row['predicted_ltx2_speedup']:.2f}x | "
            f"{_db(row['psnr_mean'], row['identical_requests'])} | {_db(row['psnr_min'], 0)} | {row['ssim_min']:.4f} | "
            f"{row['motion_deviation_max']:.3f} | {row['motion_error_mean']:.4f} | {row['pair_fraction']:.3f} | "
            f"{row['work_fraction']:.0%} | {gates} | {front} |"
        )
    return "\n".join(lines)


def _db(value: float | None, identical: int) -> str:
    """A PSNR cell: "identical" when every request matched dense exactly, else the value (and how
    many requests were identical, which the value leaves out)."""
    if value is None:
        return "identical"
    return f"{value:.2f}" + (f" ({identical} identical)" if identical else "")


def _markdown(header: dict[str, Any], table: str) -> str:
    prompts = "; ".join(f"{r['prompt']} (seed {r['seed']})" for r in header["requests"])
    return "\n".join(
        [
            "# ltx2eff eval: speedup against fidelity on the demo model",
            "",
            f"Requests: {prompts}. {header['steps']} steps, CFG {header['guidance']:g}, {header['grid']} grid, "
            f"{header['wall_s']:.0f} s.",
            "",
            "speedup (CPU): dense model-call time over the point's, summed over the requests. LTX-2 predicted: "
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


def _warm_up(model: Any, request: Any) -> None:
    """One short dense and one short windowed run, so one-time costs stay out of the timings."""
    from dataclasses import replace

    from ltx2_efficient.demo.runs import run_settings
    from ltx2_efficient.sampler.settings import EfficientSettings

    short = replace(request, steps=2)
    run_settings(model, short, "warm-up", EfficientSettings.off())
    run_settings(model, short, "warm-up", EfficientSettings.from_preset("off", window=1, far_field=4))


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)
