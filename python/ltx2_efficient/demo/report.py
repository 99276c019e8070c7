"""The demo report: report.json (every number) and report.md (a table a person reads)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ltx2_efficient.demo.output_folder import write_atomically, write_json_atomically
from ltx2_efficient.demo.timing import NOISY_SPREAD, speedup_cell, spread_cell
from ltx2_efficient.eval.equal_cost import MARGIN_DB


def write_reports(out_dir: Path, header: dict[str, Any], runs: list[dict[str, Any]]) -> tuple[Path, Path]:
    """Writes ``report.json`` and ``report.md``; returns their paths."""
    json_path = out_dir / "report.json"
    write_json_atomically(json_path, {**header, "runs": runs})
    md_path = out_dir / "report.md"
    write_atomically(md_path, render_markdown(header, runs))
    return json_path, md_path


def render_markdown(header: dict[str, Any], runs: list[dict[str, Any]]) -> str:
    lines = [
        "# LTX2 Efficient Video Sampler: demo report",
        "",
        f"Prompt **{header['prompt']}**, seed {header['seed']}, {header['steps']} steps, CFG {header['guidance']:g}, "
        f"latent {header['latent_shape']} ({header['tokens_per_call']:,} video tokens per full-length call) "
        f"at {header['frame_rate']:g} fps.",
        f"Model: {header['model']}.",
        f"Machine: {header['machine']}; torch {header['torch']}, {header['threads']} CPU threads.",
        "",
        "Speedup is the dense run's model-call time over the run's (time inside the transformer), "
        + _timing_words(header.get("timing_repeats", 1))
        + " work is the exact ratio of model calls (dense over run) a timing should approach. "
        "Fidelity is measured against the dense run of the same seed.",
        "",
        "| run | model time | spread | speedup | work (calls) | wall | calls | token-passes | pair fraction | "
        "steps reused | frames diffused | PSNR dB | SSIM | flicker | motion vs dense | motion error |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        psnr = "identical" if r["psnr_db"] is None else f"{r['psnr_db']:.2f}"
        lines.append(
            f"| {r['name']} | {r['model_s']:.2f} s | {spread_cell(r)} | {speedup_cell(r)} | "
            f"{_x(r.get('work_ratio_calls'))} | {r['wall_s']:.2f} s | "
            f"{r['model_calls']} | {r['work_fraction']:.0%} | {r['pair_fraction']:.3f} | "
            f"{r['steps_reused']}/{r['steps']} | {r['frames_diffused']}/{r['frames']} | {psnr} | "
            f"{r['ssim']:.4f} | {r['flicker']:.4f} | {r['motion_ratio']:.3f} | {r['motion_error']:.4f} |"
        )
    if header.get("equal_cost"):
        lines += [
            "",
            "## Against the equal-cost baselines",
            "",
            render_equal_cost(header["equal_cost"], header["baselines"]),
        ]
    lines += ["", "## What each run applied", ""]
    for r in runs:
        lines.append(f"- **{r['name']}** ({r['video']}): {r['settings']}.  ")
        lines.append(f"  {r['log_line']}")
    lines += [
        "",
        "## Files",
        "",
        "- `comparison.png`: every run side by side, one row per run, one column per latent frame.",
        "- `comparison.mp4` (or `.gif`): the runs playing side by side, in the table's order.",
        "- `time_vs_fidelity.png`: speedup against PSNR.",
        "- `videos/`: one video per run. `report.json`: every number above.",
        "",
    ]
    return "\n".join(lines)


def _x(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def render_equal_cost(comparison: list[dict[str, Any]], baselines: list[dict[str, Any]]) -> str:
    """Each preset against dense with fewer steps and EasyCache at the same predicted LTX-2 cost
    (the cost model at 1280x704x121 with this run's steps and the steps each run reused)."""
    lines = [
        "What a user gets without this sampler at each preset's cost: dense with fewer steps and "
        "EasyCache (ComfyUI's step cache), read at the preset's predicted LTX-2 cost; a preset "
        f"earns its place where its PSNR is at least {MARGIN_DB:g} dB above both.",
        "",
        "| preset | LTX-2 cost | PSNR dB | dense, fewer steps | EasyCache | margins dB | beats both |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for row in comparison:
        margins = row["baseline_margins_db"]
        cells = " / ".join(
            "--" if margins.get(f) is None else f"{margins[f]:+.2f}" for f in ("fewer-steps", "easycache")
        )
        lines.append(
            f"| {row['label']} | {row['cost_speedup']:.2f}x | {_psnr(row['psnr_min'])} | "
            f"{_baseline(row, 'fewer-steps')} | {_baseline(row, 'easycache')} | "
            f"{'identical' if row['psnr_min'] is None else cells} | {'yes' if row['beats_baselines'] else 'no'} |"
        )
    lines += [
        "",
        "| baseline | LTX-2 cost | model calls | PSNR dB | SSIM | motion vs dense |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for b in baselines:
        lines.append(
            f"| {b['label']} | {b['cost_speedup']:.2f}x | {b['model_calls']} | {_psnr(b['psnr_min'])} | "
            f"{b['ssim']:.4f} | {b['motion_ratio']:.3f} |"
        )
    return "\n".join(lines)


def _psnr(value: float | None) -> str:
    return "identical" if value is None else f"{value:.2f}"


def _baseline(row: dict[str, Any], family: str) -> str:
    value = row.get(f"{family}_psnr_min")
    if value is None:
        return "--"
    return f"{value:.2f}" + ("" if row.get(f"{family}_in_range") else " (nearest)")


def _timing_words(repeats: int) -> str:
    if repeats < 2:
        return "each from its one sampling pass (--repeats N times every run N times, interleaved)."
    return (
        f"each the median of {repeats} interleaved timings; in brackets the range of the repeat-by-repeat "
        f"ratios, and '?' where a spread (max - min over the median) exceeds {NOISY_SPREAD:.0%}."
    )
