"""``ltx2eff demo``: the same seed with the dense baseline and each preset, on the CPU, with a report.

Writes to ``--out`` (default ``./ltx2eff-demo``): a video per run, a side-by-side comparison
image and video, a plot of speedup against fidelity, report.md and report.json. The folder must
be new or empty (``--force`` replaces an earlier run); the run appears there whole or not at
all. Every run is timed ``--repeats`` times, interleaved; the report gives the median, the
spread and the exact work ratio beside each speedup.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ltx2_efficient.demo.report import render_equal_cost
from ltx2_efficient.demo.request import DemoRequest
from ltx2_efficient.demo.timing import (
    check_repeats,
    speedup_cell,
    spread_cell,
    time_interleaved,
    timing_summary,
    work_ratios,
)
from ltx2_efficient.demo.verb import run_verb

# laptop runs balanced's schedule (plus an activation budget and the thermal guard), so the
# default leaves it out: ``--presets quality,balanced,fast,laptop`` adds it.
DEFAULT_PRESETS = ("quality", "balanced", "fast")
# 16 steps keep the demo, its timing pass and its five baseline runs under a minute on 2 CPU
# cores (about 0.22 s a model call); ``ltx2eff eval`` gates the presets at 20.
DEFAULT_STEPS = 16
# Seed 0 of this prompt moves visibly: the circle travels about 28 px along its arc in a
# 32-px frame (the pan of seed 0 moved 7 px, too little to see).
DEFAULT_PROMPT = "red circle orbit plain"
VIDEO_FPS = 6.0  # playback rate of the written videos (17 latent frames -> ~3 s)

DEFAULT_OUT = "ltx2eff-demo"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ltx2eff demo",
        description="Generate one clip with the embedded demo model densely and with each preset, "
        "on the CPU, and report speed against fidelity.",
    )
    parser.add_argument(
        "--out",
        default=None,
        help="output folder, new or empty (default: ./ltx2eff-demo, or ./ltx2eff-demo-2, ... when taken)",
    )
    parser.add_argument("--force", action="store_true", help="replace an earlier demo run in --out")
    parser.add_argument("--seed", type=int, default=0, help="noise seed (default: 0)")
    parser.add_argument(
        "--prompt",
        default=DEFAULT_PROMPT,
        help=f"words naming motion, shape, colour, background (default: '{DEFAULT_PROMPT}')",
    )
    parser.add_argument(
        "--steps", type=int, default=DEFAULT_STEPS, help=f"sampling steps (default: {DEFAULT_STEPS})"
    )
    parser.add_argument("--guidance", type=float, default=3.0, help="CFG scale (default: 3)")
    parser.add_argument(
        "--presets",
        default=",".join(DEFAULT_PRESETS),
        help=f"comma-separated presets to compare with the dense run (default: {','.join(DEFAULT_PRESETS)})",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="timings of every run, interleaved; the median is reported (default: 1, the sampling "
        "pass itself; ltx2eff eval uses 3)",
    )
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    return run_verb("demo", args.out, args.force, lambda: _check(args), _run, default_out=DEFAULT_OUT)


@dataclass(frozen=True)
class DemoArgs:
    request: DemoRequest
    presets: list[str]
    repeats: int


def _check(args: argparse.Namespace) -> DemoArgs:
    """The arguments, validated without importing torch or the model."""
    from ltx2_efficient import preset_names
    from ltx2_efficient.demo.prompt import DemoPrompt

    presets = [p.strip() for p in args.presets.split(",") if p.strip()]
    allowed = [n for n in preset_names() if n != "off"]
    if not presets:
        raise ValueError(f"presets must name at least one of {' '.join(allowed)}")
    for name in presets:
        if name not in allowed:
            raise ValueError(f"presets must be among {' '.join(allowed)}, got '{name}'")
    request = DemoRequest(DemoPrompt.parse(args.prompt), args.seed, args.steps, args.guidance)
    return DemoArgs(request, presets, check_repeats(args.repeats))


def _run(checked: DemoArgs, out_dir: Path) -> str:
    import torch

    from ltx2_efficient.demo.baselines import baseline_runs, compare_presets
    from ltx2_efficient.demo.model import load_demo_model
    from ltx2_efficient.demo.progress import ProgressBar
    from ltx2_efficient.demo.report import write_reports
    from ltx2_efficient.demo.runs import run_settings, run_summary, warm_up
    from ltx2_efficient.sampler.settings import EfficientSettings

    request = checked.request
    started = time.perf_counter()
    model = load_demo_model(device="cpu")
    warm_up(model, request)
    names = ["dense", *checked.presets]
    settings = {
        name: EfficientSettings.off() if name == "dense" else EfficientSettings.from_preset(name)
        for name in names
    }
    bar = ProgressBar(len(names))
    runs = []
    for name in names:
        bar.start(name)
        run = run_settings(model, request, name, settings[name], progress=bar.update)
        runs.append(run)
        bar.finish(f"model {run.model_s:.2f}s, {run.model_calls} calls")

    def time_one(name: str) -> float:
        return run_settings(model, request, name, settings[name]).model_s

    if checked.repeats > 1:
        print(
            f"timing every run {checked.repeats - 1} more times, interleaved ...", file=sys.stderr, flush=True
        )
    samples = time_interleaved(
        names, checked.repeats, time_one, first={run.name: run.model_s for run in runs}
    )
    summaries = [run_summary(run, runs[0]) for run in runs]
    for summary in summaries:
        summary.update(timing_summary(samples[summary["name"]], samples["dense"]))
        summary.update(work_ratios(summary, summaries[0]))
    print("equal-cost baselines: dense with fewer steps, EasyCache ...", file=sys.stderr, flush=True)
    baselines = baseline_runs(model, request, runs[0], summaries[1:], settings)
    comparison = compare_presets(summaries[1:], baselines, settings, request)
    _write_media(out_dir, runs, summaries)
    header = _header(request, model, torch)
    header["baselines"] = baselines
    header["equal_cost"] = comparison
    header["timing_repeats"] = checked.repeats
    header["total_wall_s"] = time.perf_counter() - started
    write_reports(out_dir, header, summaries)
    _print_table(summaries)
    print(render_equal_cost(comparison, baselines))
    return f"report.md and report.json, in {header['total_wall_s']:.1f} s"


def _write_media(out_dir: Path, runs: list[Any], summaries: list[dict[str, Any]]) -> None:
    import numpy as np

    from ltx2_efficient.demo.charts import scatter_chart
    from ltx2_efficient.demo.contact_sheet import contact_sheet
    from ltx2_efficient.demo.video_io import write_video

    for run, summary in zip(runs, summaries, strict=True):
        path = write_video(run.video, out_dir / "videos" / run.name, VIDEO_FPS)
        summary["video"] = str(path.relative_to(out_dir))
    labels = [_row_label(s) for s in summaries]
    contact_sheet([run.video for run in runs], labels, scale=3).save(out_dir / "comparison.png")
    side_by_side = np.concatenate([run.video for run in runs], axis=2)
    write_video(side_by_side, out_dir / "comparison", VIDEO_FPS, scale=4)
    points = [
        (s["speedup_model"] or 1.0, s["psnr_db"] if s["psnr_db"] is not None else 60.0, s["name"])
        for s in summaries
    ]
    scatter_chart(
        points,
        "Speedup (model-call time, CPU) vs fidelity to the dense run",
        "speedup (x)",
        "PSNR dB (dense: 60)",
    ).save(out_dir / "time_vs_fidelity.png")


def _row_label(summary: dict[str, Any]) -> str:
    if summary["psnr_db"] is None:
        return f"{summary['name']}\nreference\n{summary['model_s']:.1f}s model"
    return (
        f"{summary['name']}\n{summary['speedup_model']:.2f}x faster{' ?' if summary['timing_noisy'] else ''}\n"
        f"PSNR {summary['psnr_db']:.1f} dB\nSSIM {summary['ssim']:.3f}"
    )


def _header(request: Any, model: Any, torch: Any) -> dict[str, Any]:
    from ltx2_efficient import __version__

    config = model.config
    shape = list(config.latent_shape(1))
    try:
        from importlib.metadata import version

        ltx_core_version = version("ltx-core")
    except Exception:
        ltx_core_version = "unknown"
    return {
        "version": __version__,
        "prompt": request.prompt.text(),
        "seed": request.seed,
        "steps": request.steps,
        "guidance": request.guidance,
        "latent_shape": shape,
        "tokens_per_call": shape[2] * shape[3] * shape[4],
        "frame_rate": config.frame_rate,
        "model": f"ltx-core {ltx_core_version} LTXModel (video only), {config.num_layers} blocks, "
        f"{config.heads}x{config.head_dim} wide, {sum(p.numel() for p in model.parameters()) / 1e6:.2f}M parameters",
        "machine": f"{platform.machine()} {platform.processor() or platform.system()}, {os.cpu_count()} cores",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }


def _print_table(summaries: list[dict[str, Any]]) -> None:
    print(
        f"{'run':<9} {'model s':>8} {'spread':>7} {'speedup (range)':>20} {'work':>6} {'calls':>6} "
        f"{'pairs':>6} {'PSNR dB':>8} {'SSIM':>7} {'motion':>7}"
    )
    for s in summaries:
        psnr = "ident." if s["psnr_db"] is None else f"{s['psnr_db']:.2f}"
        work = s["work_ratio_calls"]
        print(
            f"{s['name']:<9} {s['model_s']:>8.2f} {spread_cell(s):>6} {speedup_cell(s):>20} "
            f"{'n/a' if work is None else f'{work:.2f}x':>6} {s['model_calls']:>6} "
            f"{s['pair_fraction']:>6.3f} {psnr:>8} {s['ssim']:>7.4f} {s['motion_ratio']:>7.3f}"
        )
    if any(s["timing_noisy"] for s in summaries):
        print(
            "? timing spread over 15% across the repeats: the machine was busy; trust the work ratio "
            "(model calls, dense over run) more than that speedup"
        )
