"""``ltx2eff demo``: the same seed with the dense baseline and each preset, on the CPU, with a report.

Writes to ``--out`` (default ``./ltx2eff-demo``): a video per run, a side-by-side comparison
image and video, a plot of speedup against fidelity, report.md and report.json.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

DEFAULT_PRESETS = ("quality", "balanced", "fast", "laptop")
# Seed 0 of this prompt moves visibly: the circle travels about 28 px along its arc in a
# 32-px frame (the pan of seed 0 moved 7 px, too little to see).
DEFAULT_PROMPT = "red circle orbit plain"
VIDEO_FPS = 6.0  # playback rate of the written videos (17 latent frames -> ~3 s)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ltx2eff demo",
        description="Generate one clip with the embedded demo model densely and with each preset, "
        "on the CPU, and report speed against fidelity.",
    )
    parser.add_argument("--out", default="ltx2eff-demo", help="output folder (default: ./ltx2eff-demo)")
    parser.add_argument("--seed", type=int, default=0, help="noise seed (default: 0)")
    parser.add_argument(
        "--prompt",
        default=DEFAULT_PROMPT,
        help=f"words naming motion, shape, colour, background (default: '{DEFAULT_PROMPT}')",
    )
    parser.add_argument("--steps", type=int, default=20, help="sampling steps (default: 20)")
    parser.add_argument("--guidance", type=float, default=3.0, help="CFG scale (default: 3)")
    parser.add_argument(
        "--presets",
        default=",".join(DEFAULT_PRESETS),
        help=f"comma-separated presets to compare with the dense run (default: {','.join(DEFAULT_PRESETS)})",
    )
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except ValueError as error:
        print(f"ltx2eff demo: {error}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    import torch

    from ltx2_efficient import preset_names
    from ltx2_efficient.demo.model import load_demo_model
    from ltx2_efficient.demo.progress import ProgressBar
    from ltx2_efficient.demo.prompt import DemoPrompt
    from ltx2_efficient.demo.runs import DemoRequest, run_settings, run_summary
    from ltx2_efficient.sampler.settings import EfficientSettings

    presets = [p.strip() for p in args.presets.split(",") if p.strip()]
    for name in presets:
        if name not in preset_names() or name == "off":
            allowed = " ".join(n for n in preset_names() if n != "off")
            raise ValueError(f"presets must be among {allowed}, got '{name}'")
    request = DemoRequest(DemoPrompt.parse(args.prompt), args.seed, args.steps, args.guidance)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)

    started = time.perf_counter()
    model = load_demo_model(device="cpu")
    names = ["dense", *presets]
    bar = ProgressBar(len(names))
    runs = []
    for name in names:
        settings = EfficientSettings.off() if name == "dense" else EfficientSettings.from_preset(name)
        bar.start(name)
        run = run_settings(model, request, name, settings, progress=bar.update)
        runs.append(run)
        note = f"model {run.model_s:.2f}s, {run.model_calls} calls"
        if name != "dense":
            note += f", {runs[0].model_s / max(run.model_s, 1e-9):.2f}x"
        bar.finish(note)
    summaries = [run_summary(run, runs[0]) for run in runs]
    _write_media(out_dir, runs, summaries)
    header = _header(request, model, torch)
    header["total_wall_s"] = time.perf_counter() - started
    from ltx2_efficient.demo.report import write_reports

    _, md_path = write_reports(out_dir, header, summaries)
    _print_table(summaries)
    print(f"wrote {out_dir}/ (report: {md_path}) in {header['total_wall_s']:.1f} s")
    return 0


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
        f"{summary['name']}\n{summary['speedup_model']:.2f}x faster\n"
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
        f"{'run':<9} {'model s':>8} {'speedup':>8} {'calls':>6} {'pairs':>6} {'PSNR dB':>8} {'SSIM':>7} {'motion':>7}"
    )
    for s in summaries:
        psnr = "ident." if s["psnr_db"] is None else f"{s['psnr_db']:.2f}"
        print(
            f"{s['name']:<9} {s['model_s']:>8.2f} {s['speedup_model'] or 1.0:>7.2f}x {s['model_calls']:>6} "
            f"{s['pair_fraction']:>6.3f} {psnr:>8} {s['ssim']:>7.4f} {s['motion_ratio']:>7.3f}"
        )
