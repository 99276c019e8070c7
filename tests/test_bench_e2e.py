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
    with pytest.raises(ValueError, match="size must have width and height multiples of 32"):
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


def test_memory_cap_is_validated_naming_the_parameter_and_range(bench, tmp_path):
    total = 141 * 2**30
    assert bench.memory_cap_fraction(8, total) == pytest.approx(8 / 141)
    for bad in (0, -1, 142, float("nan"), True):
        with pytest.raises(ValueError, match=r"--memory-cap-gb must be in \(0, 141.0\] GiB"):
            bench.memory_cap_fraction(bad, total)
    with pytest.raises(SystemExit):
        bench.main(["--tiny", "--memory-cap-gb", "0", "--matrix", "--out", str(tmp_path)])
    with pytest.raises(SystemExit):  # a cap needs streamed runs
        bench.main(["--tiny", "--memory-cap-gb", "8", "--runs", "640x352x121:dense", "--out", str(tmp_path)])
    with pytest.raises(SystemExit):
        bench.main(["--tiny", "--matrix", "--regimes", "30", "--out", str(tmp_path)])
    with pytest.raises(ValueError, match="--regimes entries must be STEPSxCFG"):
        bench.parse_regime("8x0.5")
    assert bench.parse_regime("8x1") == (8, 1.0)
    assert bench.parse_size("1280x704x601") == (1280, 704, 601)


def test_streamed_capped_runs_report_memory_parts_and_fit(tmp_path, bench):
    rc = bench.main(
        ["--tiny", "--steps", "2", "--runs", "--offload", "640x352x121:dense,window-k1-noanchor",
         "--memory-cap-gb", "8", "--out", str(tmp_path)]
    )  # fmt: skip
    assert rc == 0
    data = json.loads((tmp_path / "e2e.json").read_text())
    assert data["cap_enforced"] is False  # the CPU has no allocator cap; a GPU run enforces it
    streaming = data["streaming"]
    assert streaming["blocks"] == bench.Dims.tiny().blocks and streaming["loads"] > 0
    runs = {r["config"]: r for r in data["results"]}
    for r in runs.values():
        assert r["status"] == "ok" and r["fit"] == "fit" and r["offload"]
        assert r["memory_cap_gib"] == 8.0 and (r["steps"], r["cfg"]) == (2, 3.0)
        assert r["weights_in_flight_gib"] * 2**30 == 2 * streaming["largest_block_bytes"]
        assert r["predicted_activation_gib"] > 0
    assert runs["window-k1-noanchor"]["speedup"] > 0
    table = (tmp_path / "lowvram.md").read_text()
    assert "| 8 | 640x352x121 | window-k1-noanchor | 2x3 | fit |" in table
    assert "weights in flight GiB" in table


def test_matrix_orders_the_targets_first_and_implies_fits_under_larger_caps(tmp_path, bench):
    rows = bench.matrix_rows(["1280x704x257", "1280x704x121"], [(30, 3.0), (8, 1.0)], [12.0, 8.0])
    assert rows[0] == bench.Row("1280x704x257", "dense", True, 30, 3.0, 8.0)
    assert rows[len(bench.matrix_configs())].steps == 8  # then the cheap regime at every size
    assert len(rows) == 2 * 2 * 2 * len(bench.matrix_configs())
    assert len(set(rows)) == len(rows)
    rc = bench.main(
        ["--tiny", "--matrix", "--lengths", "640x352x121", "--regimes", "2x3", "1x1",
         "--memory-cap-gb", "8", "12", "--out", str(tmp_path)]
    )  # fmt: skip
    assert rc == 0
    data = json.loads((tmp_path / "e2e.json").read_text())
    under_8 = [r for r in data["results"] if r["memory_cap_gib"] == 8.0 and r["steps"] in (1, 2)]
    under_12 = [r for r in data["results"] if r["memory_cap_gib"] == 12.0]
    configs = len(bench.matrix_configs())
    assert sum(1 for r in under_8 if r["status"] == "ok") >= 2 * configs
    assert all(r["fit"] == "fit" for r in under_8)
    assert len(under_12) >= 2 * configs
    assert all(
        r["status"] == "skipped" and "fit under 8 GiB (implied)" in r["note"] for r in under_12[: 2 * configs]
    )
    dense = next(r for r in under_8 if r["config"] == "dense" and r["steps"] == 2)
    assert dense["speedup"] == pytest.approx(1.0)
    # Resuming keeps the rows done: nothing runs twice.
    again = tmp_path / "again"
    rc = bench.main(
        ["--tiny", "--matrix", "--lengths", "640x352x121", "--regimes", "2x3", "1x1",
         "--memory-cap-gb", "8", "12", "--resume", str(tmp_path / "e2e.json"), "--out", str(again)]
    )  # fmt: skip
    assert rc == 0
    resumed = json.loads((again / "e2e.json").read_text())["results"]
    keys = [(r["size"], r["config"], r["steps"], r["cfg"], r["memory_cap_gib"]) for r in resumed]
    assert len(keys) == len(set(keys))


def test_longest_clip_candidates_follow_the_memory_bound(bench):
    fitted = bench.RunResult("1280x704x257", "dense", True, steps=8, cfg=1.0, fit="fit")
    fitted.resident_gib, fitted.weights_in_flight_gib, fitted.activations_gib = 0.6, 1.44, 2.9
    candidates = bench.longest_candidates(8.0, [fitted])
    tokens = 33 * 22 * 40  # 1280x704x257
    room_frames = (8.0 - 0.6 - 1.44) / (2.9 / tokens) / (22 * 40)
    first = (candidates[0] - 1) // 8 + 1
    assert first == int(1.1 * room_frames)
    assert candidates == sorted(candidates, reverse=True) and len(candidates) == 4
    assert all((f - 1) % 8 == 0 for f in candidates)
    assert bench.longest_candidates(8.0, []) == []


def test_an_out_of_memory_run_is_a_row_that_did_not_fit(bench):
    import argparse

    import torch

    dims = bench.Dims.tiny()
    device = torch.device("cpu")
    model = bench.build_model(dims, device, torch.float32)
    original = model.transformer_blocks[1].attn1.attention_function

    def out_of_memory(*_args, **_kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory (injected)")

    streamer = bench.BlockStreamer(model.transformer_blocks, device)
    model.transformer_blocks[1].attn1.attention_function = out_of_memory
    args = argparse.Namespace(steps=2, cfg=3.0, seed=0, dtype=torch.float32, active_cap_gib=8.0)
    try:
        r = bench.run_one(model, "640x352x121", "dense", args, dims, device, True, streamer)
        assert streamer.in_flight_bytes == 0  # the failed call's blocks were dropped
    finally:
        model.transformer_blocks[1].attn1.attention_function = original
        streamer.remove()
    assert (r.status, r.fit, r.memory_cap_gib) == ("oom", "OOM", 8.0)
    assert r.note.startswith("out of memory in the denoise phase (step 1 of 2")
    assert "activation_budget_mb" in r.note
    assert "| 8 | 640x352x121 | dense | 2x3 | OOM |" in bench.memory_table([r], "CPU")


def test_longest_probes_step_down_until_one_fits(bench, tmp_path):
    import argparse

    import torch

    args = argparse.Namespace(tiny=True, time_budget=float("inf"), out=tmp_path, matrix=True)
    runner = bench.Bench(args, torch.device("cpu"), bench.Dims(), "CPU")
    measured = bench.RunResult("1280x704x257", "dense", True, steps=8, cfg=1.0, fit="fit", memory_cap_gib=8.0)
    measured.resident_gib, measured.weights_in_flight_gib, measured.activations_gib = 0.6, 1.44, 2.9
    runner.results.append(measured)
    probed: list[str] = []

    def execute(row, note=""):
        probed.append(row.size)
        assert (row.config, row.steps, row.cfg, row.cap, note) == (
            "dense",
            1,
            1.0,
            12.0,
            "longest-clip probe",
        )
        fit = "fit" if len(probed) == 2 else "OOM"
        return bench.RunResult(row.size, row.config, True, fit=fit)

    runner.execute = execute
    runner.longest(12.0)  # the 8 GiB row's activations per token predict the 12 GiB clip
    expected = bench.longest_candidates(12.0, [measured])
    assert probed == [f"1280x704x{f}" for f in expected[:2]]
