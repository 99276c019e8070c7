"""The end-to-end benchmark script runs (tiny model, CPU, one step) and writes its table."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("ltx_core")


@pytest.fixture
def bench(repo_script):
    return repo_script("bench/e2e.py", "bench_e2e")


def test_tiny_run_writes_results(tmp_path, bench):
    rc = bench.main(["--tiny", "--steps", "1", "--runs", "640x352x121:dense,fast", "--out", str(tmp_path)])
    assert rc == 0
    data = json.loads((tmp_path / "e2e.json").read_text())
    runs = {r["config"]: r for r in data["results"]}
    assert runs["dense"]["status"] == "ok" and runs["fast"]["status"] == "ok"
    assert runs["dense"]["speedup"] == pytest.approx(1.0)
    assert runs["fast"]["model_calls"] > 0
    assert "640x352x121" in (tmp_path / "e2e.md").read_text()


def test_unknown_run_config_is_rejected(bench):
    with pytest.raises(ValueError, match="run config must be"):
        bench.parse_runs(["640x352x121:turbo"])
    with pytest.raises(ValueError, match="size must be one of"):
        bench.parse_runs(["100x100x9:dense"])


def test_report_forecasts_what_each_run_used_not_todays_preset(tmp_path, bench, repo_script):
    report = repo_script("bench/e2e_report.py", "bench_e2e_report")
    rc = bench.main(["--tiny", "--steps", "1", "--runs", "640x352x121:dense,fast", "--out", str(tmp_path)])
    assert rc == 0
    data = json.loads((tmp_path / "e2e.json").read_text())
    fast = next(r for r in data["results"] if r["config"] == "fast")
    assert fast["extra"]["knobs"]["preset"] == "fast"
    # A run recorded with other knob values than today's "fast" (as after a retune) is forecast
    # with the values it ran with.
    fast["extra"]["knobs"]["max_consecutive_reuse"] = 1
    fast["extra"]["knobs"]["reuse_start"] = 0.5
    data["steps"] = 30  # forecasts are made for the file's step count; one step leaves nothing to reuse
    altered = tmp_path / "altered.json"
    altered.write_text(json.dumps(data))
    used = report.run_settings(bench, fast, "fast")
    assert (used.max_consecutive_reuse, used.reuse_start) == (1, 0.5)
    assert used.to_dict()["preset"] == "fast"
    width, height, frames = bench.SIZES["640x352x121"]
    pixels = bench._core.PixelShape(width, height, frames, bench.FPS)
    expected = bench.predicted_speedup(pixels, used, data["steps"], bench.Dims())
    todays = bench.predicted_speedup(pixels, bench.config_settings("fast"), data["steps"], bench.Dims())
    assert expected != pytest.approx(todays)
    row = next(line for line in report.render([altered]).splitlines() if "| fast |" in line)
    assert row.rstrip(" |").endswith(f"{expected:.2f}x")


def test_preset_schedule_runs_reuse_every_step_the_preset_allows(tmp_path, bench):
    """ "<preset>-schedule" keeps the preset's start and cap and reuses every step they allow, so
    the cost model with the measured reuse equals the forecast (the reuse bound)."""
    settings = bench.config_settings("balanced-schedule")
    balanced = bench.config_settings("balanced")
    assert settings.reuse_threshold == bench.REUSE_THRESHOLD_BOUND
    assert (settings.reuse_start, settings.max_consecutive_reuse) == (
        balanced.reuse_start,
        balanced.max_consecutive_reuse,
    )
    with pytest.raises(ValueError, match="run config must be"):
        bench.config_settings("off-schedule")
    rc = bench.main(
        ["--tiny", "--steps", "12", "--runs", "640x352x121:dense,fast-schedule", "--out", str(tmp_path)]
    )
    assert rc == 0
    data = json.loads((tmp_path / "e2e.json").read_text())
    run = next(r for r in data["results"] if r["config"] == "fast-schedule")
    assert run["status"] == "ok"
    reused, steps = (int(x) for x in run["steps_reused"].split()[0].split(":")[1].split("/"))
    assert steps == 12 and reused > 0
    assert run["model_calls"] < next(r for r in data["results"] if r["config"] == "dense")["model_calls"]
    assert run["predicted_speedup"] == pytest.approx(run["extra"]["forecast_speedup"])
