#!/usr/bin/env python3
"""Draws the demo model's loss curve over one or more training stages (loss.csv files written by
scripts/train_demo_model.py, in the order they ran; each stage continues the previous one).
The x axis is clips seen, which compares stages run on one GPU and data-parallel on several.

    PYTHONPATH=python python scripts/plot_training_loss.py docs/demo_model/loss_stage*.csv \\
        --out docs/demo_model/loss.png
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("logs", nargs="+", type=Path, help="loss.csv of each stage, in training order")
    parser.add_argument("--out", type=Path, required=True, help="PNG to write")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO / "python"))
    from ltx2_efficient.demo.charts import line_chart

    series: dict[str, tuple[list[float], list[float]]] = {}
    offset = 0.0
    for number, log in enumerate(args.logs, start=1):
        with log.open() as handle:
            rows = [row for row in csv.DictReader(handle) if float(row["loss"]) > 0]
        if not rows:
            parser.error(f"{log} holds no loss rows")
        clips = [offset + float(row["samples"]) / 1e6 for row in rows]
        series[f"stage {number} ({log.name})"] = (clips, [float(row["loss"]) for row in rows])
        offset = clips[-1]
    chart = line_chart(series, "demo model training loss", "clips seen (millions)", "loss (log)", log_y=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    chart.save(args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
