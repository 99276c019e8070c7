"""``ltx2eff demo`` and ``ltx2eff eval`` end to end on the CPU (short runs)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
from PIL import Image

from ltx2_efficient.eval.pareto import pareto_front


def _verb(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ltx2_efficient", *args], capture_output=True, text=True, timeout=600
    )


def test_demo_writes_videos_comparison_plot_and_reports(tmp_path):
    done = _verb(
        "demo", "--out", str(tmp_path), "--steps", "8", "--presets", "balanced,fast", "--repeats", "2"
    )
    assert done.returncode == 0, done.stderr
    assert (
        done.stdout.strip().splitlines()[-1].startswith(f"wrote {tmp_path}/ (report.md and report.json, in ")
    )
    assert "[3/3] fast" in done.stderr  # the progress lines
    report = json.loads((tmp_path / "report.json").read_text())
    names = [run["name"] for run in report["runs"]]
    assert names == ["dense", "balanced", "fast"]
    dense, *others = report["runs"]
    assert dense["psnr_db"] is None and dense["speedup_model"] == 1.0 and dense["model_calls"] == 16
    for run in others:
        assert run["model_calls"] < dense["model_calls"] and run["steps_reused"] > 0
        assert run["work_fraction"] == run["model_calls"] / dense["model_calls"]
        assert 0 < run["pair_fraction"] <= 1.0
        assert run["psnr_db"] > 5 and 0 < run["ssim"] < 1
        assert run["speedup_model"] > 0 and run["model_s"] > 0
        assert len(run["model_s_samples"]) == 2 and run["model_s"] == sum(run["model_s_samples"]) / 2
        assert run["work_ratio_calls"] == dense["model_calls"] / run["model_calls"]
        low, high = run["speedup_range"]
        assert low <= high
        assert (tmp_path / run["video"]).stat().st_size > 1000
    for name in ("comparison.png", "time_vs_fidelity.png", "report.md"):
        assert (tmp_path / name).stat().st_size > 1000
    markdown = (tmp_path / "report.md").read_text()
    assert "| balanced |" in markdown and "PSNR" in markdown
    # Each preset against both equal-cost baselines, which ran on the same seed.
    assert "## Against the equal-cost baselines" in markdown
    baselines = report["baselines"]
    assert {b["family"] for b in baselines} == {"fewer-steps", "easycache"}
    for b in baselines:
        assert b["cost_speedup"] >= 1.0 and b["model_calls"] <= dense["model_calls"]
        if b["family"] == "fewer-steps":
            assert b["model_calls"] == 2 * int(b["label"].split()[1])  # dense n steps, CFG: 2 calls a step
    assert [row["label"] for row in report["equal_cost"]] == ["balanced", "fast"]
    for row in report["equal_cost"]:
        assert set(row["baseline_margins_db"]) == {"fewer-steps", "easycache"}
        assert isinstance(row["beats_baselines"], bool)
        assert f"| {row['label']} | {row['cost_speedup']:.2f}x |" in markdown
    sheet = np.asarray(Image.open(tmp_path / "comparison.png"))
    assert sheet.shape[0] >= 3 * 32 * 3  # three rows of upscaled frames


def test_demo_rejects_bad_arguments_naming_them(tmp_path):
    done = _verb("demo", "--out", str(tmp_path), "--presets", "turbo")
    assert done.returncode == 2
    assert "presets must be among" in done.stderr and "turbo" in done.stderr
    done = _verb("demo", "--out", str(tmp_path), "--prompt", "purple circle")
    assert done.returncode == 2 and "prompt word must be one of" in done.stderr
    done = _verb("demo", "--out", str(tmp_path), "--steps", "0")
    assert done.returncode == 2 and "steps must be in [1, 200], got 0" in done.stderr


def test_out_paths_the_file_system_refuses_are_one_line_errors(tmp_path):
    long_out = tmp_path / ("x" * 300)
    for verb in ("demo", "eval"):
        done = _verb(verb, "--out", str(long_out))
        assert done.returncode == 2, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"ltx2eff {verb}: --out "), done.stderr
        assert lines[0].endswith(": File name too long") and len(lines[0]) < 140
    assert list(tmp_path.iterdir()) == []


def test_eval_quick_writes_the_pareto_table(tmp_path):
    done = _verb("eval", "--quick", "--seeds", "1", "--steps", "3", "--repeats", "2", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    data = json.loads((tmp_path / "pareto.json").read_text())
    rows = {row["label"]: row for row in data["rows"]}
    identical = rows["s1 dense noreuse"]
    assert identical["psnr_min"] is None and identical["identical_requests"] == 1  # same as dense
    assert identical["passes_balanced_gate"] and identical["passes_fast_gate"]
    assert "| s1 dense noreuse | " in done.stdout and "| identical | identical |" in done.stdout
    assert identical["work_ratio_calls"] == 1.0 and identical["speedup"] > 0
    assert data["timing_repeats"] == 2
    assert rows["s1 dense noreuse"]["predicted_ltx2_speedup"] == 1.0
    assert rows["preset fast"]["predicted_ltx2_speedup"] > rows["preset balanced"]["predicted_ltx2_speedup"]
    assert any(row["front_ltx2"] for row in data["rows"])
    assert "| point |" in (tmp_path / "pareto.md").read_text()
    assert "| preset fast |" in done.stdout


def test_pareto_front_keeps_only_undominated_rows():
    rows = [
        {"speed": 1.0, "quality": 40.0},
        {"speed": 2.0, "quality": 35.0},
        {"speed": 2.0, "quality": 30.0},  # dominated by the row above
        {"speed": 4.0, "quality": 20.0},
        {"speed": 3.0, "quality": 19.0},  # dominated by speed 4 / quality 20
        {"speed": 4.0, "quality": 20.0},  # a tie stays on the front
    ]
    assert pareto_front(rows, ("speed", "quality")) == [0, 1, 3, 5]


def test_eval_grid_option_names_the_grid_and_refuses_contradictions(tmp_path):
    from ltx2_efficient import _core
    from ltx2_efficient.eval.grid import GRIDS

    done = _verb("eval", "--grid", "huge", "--out", str(tmp_path))
    assert done.returncode == 2 and "argument --grid: invalid choice: 'huge'" in done.stderr
    done = _verb("eval", "--quick", "--grid", "reuse", "--out", str(tmp_path))
    assert done.returncode == 2
    assert "ltx2eff eval: --quick and --grid reuse contradict each other: give one" in done.stderr
    # The reuse sweep holds the balanced and fast presets' own reuse values among its points.
    swept = {
        (p.overrides["reuse_start"], p.overrides["max_consecutive_reuse"], p.overrides["reuse_threshold"])
        for p in GRIDS["reuse"](20)
        if p.family == "sampler" and p.preset == "off"
    }
    for name in ("balanced", "fast"):
        knobs = _core.resolve_preset(name)
        assert (knobs.reuse_start, knobs.max_consecutive_reuse, knobs.reuse_threshold) in swept


def test_eval_window_grid_pairs_every_window_with_and_without_the_anchor():
    from ltx2_efficient.eval.grid import GRIDS

    points = GRIDS["window"](20)
    settings = {
        (p.overrides["window"], p.overrides["anchor_frame"], p.overrides["far_field"]) for p in points
    }
    assert len(settings) == len(points) == 12
    for window in (1, 2, 4):
        assert {(window, True, 0), (window, False, 0), (window, True, 4), (window, False, 4)} <= settings
    assert all(p.preset == "off" and "reuse_threshold" not in p.overrides for p in points)
