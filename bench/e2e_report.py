"""Renders the results of one or more ``bench/e2e.py`` runs as one markdown table.

The "predicted" column is recomputed with the current cost model for what each run actually did
(its configuration and its measured reused steps), so the table shows how well the model
predicts measured speedups; "forecast" is the model's prediction before the run (the reuse
policy's upper bound). Speedups are against the dense run of the same size in the same files.

    python bench/e2e_report.py docs/e2e/e2e_h200_call1.json docs/e2e/e2e_h200_call2.json
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any


def _bench_module() -> Any:
    path = Path(__file__).with_name("e2e.py")
    spec = importlib.util.spec_from_file_location("bench_e2e", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _reused(row: dict[str, Any]) -> int:
    for part in row.get("steps_reused", "").split():
        modality, _, counts = part.partition(":")
        if modality == "video":
            return int(counts.split("/")[0])
    return 0


def render(files: list[Path]) -> str:
    bench = _bench_module()
    rows: dict[tuple[str, str, bool], dict[str, Any]] = {}
    devices = set()
    for file in files:
        data = json.loads(file.read_text())
        devices.add(data["device"])
        for row in data["results"]:
            if row["status"] == "ok":
                rows[(row["size"], row["config"], bool(row["offload"]))] = {**row, "steps": data["steps"]}
    if len(devices) != 1:
        raise ValueError(f"the files come from different devices: {sorted(devices)}")
    lines = [
        f"Device: {devices.pop()}",
        "",
        "| size | run | weights | time s | calls | s/call | attn1 share | peak GiB | frames | reused (video) "
        "| pair fraction | speedup | predicted | forecast |",
        "|---|---|---|---:|---:|---:|---:|---:|---|---|---:|---:|---:|---:|",
    ]
    for (size, config, offload), row in rows.items():
        dense = rows.get((size, "dense", offload))
        speedup = dense["seconds"] / row["seconds"] if dense else float("nan")
        width, height, frames = bench.parse_size(size)
        pixels = bench._core.PixelShape(width, height, frames, bench.FPS)
        settings = run_settings(bench, row, config)
        predicted = bench.predicted_speedup(pixels, settings, row["steps"], bench.Dims(), _reused(row))
        forecast = bench.predicted_speedup(pixels, settings, row["steps"], bench.Dims())
        lines.append(
            f"| {size} | {config} | {'streamed' if offload else 'on GPU'} | {row['seconds']:.1f} "
            f"| {row['model_calls']} | {row['seconds_per_call']:.3f} | {row['attention_share']:.0%} "
            f"| {row['peak_gib']:.1f} | {row['frames']} | {_reused(row)}/{row['steps']} "
            f"| {row['pair_fraction']:.3f} | {speedup:.2f}x | {predicted:.2f}x | {forecast:.2f}x |"
        )
    return "\n".join(lines) + "\n"


def run_settings(bench: Any, row: dict[str, Any], config: str) -> Any:
    """The settings a run used: its recorded knobs (presets change over time), else its config."""
    knobs = dict(row.get("extra", {}).get("knobs") or {})
    if not knobs:
        return bench.config_settings(config)
    preset = knobs.pop("preset", "off")
    base = preset if preset in bench._core.preset_names() else "off"
    return bench.EfficientSettings.from_preset(base, **knobs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("files", nargs="+", type=Path, help="e2e.json files of one device")
    args = parser.parse_args(argv)
    print(render(args.files))
    return 0


if __name__ == "__main__":
    sys.exit(main())
