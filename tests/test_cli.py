"""The ``ltx2eff`` command: correct numbers, JSON, and one-line errors with non-zero exit."""

from __future__ import annotations

import json
import subprocess

import pytest

from ltx2_efficient import _core

KNOBS = _core.knob_table()


def _row(name: str) -> dict:
    return next(row for row in KNOBS if row["name"] == name)


def _spelled(value: object) -> str:
    """A knob value as the core spells it (true, 0.25, 1, motion)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def run(cli: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([cli, *args], capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize(
    ("size", "grid", "tokens"),
    [
        (("896", "512", "97"), "13 x 16 x 28", "5,824"),
        (("1280", "704", "121"), "16 x 22 x 40", "14,080"),
        (("1920", "1088", "121"), "16 x 34 x 60", "32,640"),
    ],
)
def test_plan_reference_sizes(ltx2eff_cli, size, grid, tokens):
    w, h, f = size
    r = run(ltx2eff_cli, "plan", "--width", w, "--height", h, "--frames", f)
    assert r.returncode == 0, r.stderr
    assert f"{grid} (F x H x W)" in r.stdout
    assert f"{tokens} per call" in r.stdout
    for label in ("diffused frames", "attention", "pair fraction", "FLOPs per run", "predicted time"):
        assert label in r.stdout


def test_plan_json(ltx2eff_cli):
    r = run(ltx2eff_cli, "plan", "--json", "--preset", "off")
    assert r.returncode == 0
    data = json.loads(r.stdout)
    assert data["latent"]["tokens"] == 14080
    assert data["predicted_speedup"] == pytest.approx(1.0)


def test_plan_overrides(ltx2eff_cli):
    r = run(ltx2eff_cli, "plan", "--json", "--preset", "off", "--window", "1", "--no-anchor")
    data = json.loads(r.stdout)
    assert data["knobs"]["window"] == 1
    assert data["attention"]["keyframe_pair_fraction"] == pytest.approx(3 / 16)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--width", "1000"), "width must be a multiple of 32"),
        (("--frames", "120"), "frames must be 8k+1"),
        (("--height", "0"), "height must be in [32, 8192], got 0"),
        (("--fps", "-1"), "fps must be in"),
        (("--preset", "turbo"), "preset must be one of"),
        (("--stride", "99"), "frame_stride must be an integer in [1, 16], got 99"),
        (("--window", "-7"), "window must be an integer in [-1, 256], got -7"),
        (("--width", "abc"), "--width expects an integer, got 'abc'"),
        (("--bogus",), "unknown option --bogus"),
        (("--width",), "--width needs a value"),
        (
            ("--width", "9223372036854775808"),
            "--width must be in [-2147483648, 2147483647], got 9223372036854775808",
        ),
        (("--steps", "-99999999999999999999"), "--steps must be in [-2147483648, 2147483647]"),
        (("--width", "0x500"), "--width expects an integer, got '0x500'"),
        (("--width", " 1280"), "--width expects an integer, got ' 1280'"),
        (("--width", "1280.0"), "--width expects an integer, got '1280.0'"),
        (("--fps", " 24"), "--fps expects a decimal number, got ' 24'"),
        (("--fps", "0x18"), "--fps expects a decimal number, got '0x18'"),
        (("--fps", "nan"), "--fps expects a decimal number, got 'nan'"),
        (("--fps", "inf"), "--fps expects a decimal number, got 'inf'"),
        (("--fps", "1e999"), "--fps is out of range"),
        (("--fps", ""), "--fps expects a decimal number, got ''"),
        (("--", "--width", "1"), "unexpected argument '--width' after '--'"),
        (("stray",), "unexpected argument 'stray'"),
        (("--json=yes",), "unknown option --json"),
    ],
)
def test_bad_input_one_line_error(ltx2eff_cli, args, message):
    r = run(ltx2eff_cli, "plan", *args)
    assert r.returncode != 0
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert message in lines[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("version", "extra"), "ltx2eff version: takes no arguments, got 'extra'"),
        (("presets", "--bogus"), "unknown option --bogus"),
        (("presets", "--", "x"), "unexpected argument 'x' after '--'"),
        (("thermal", "watch", "--device", "99999999999999999999"), "--device must be in [0, 1023]"),
        (("thermal", "watch", "--count", "0x10"), "--count expects an integer, got '0x10'"),
        (
            ("thermal", "hold", "--period", "0x1", "--", "true"),
            "--period expects a decimal number, got '0x1'",
        ),
    ],
)
def test_other_verbs_bad_input_one_line_error(ltx2eff_cli, args, message):
    r = run(ltx2eff_cli, *args)
    assert r.returncode == 2
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert message in lines[0]


def test_plain_decimal_numbers_still_parse(ltx2eff_cli):
    for fps in ("24", "+24", "23.976", ".5e2", "2.4E1"):
        assert run(ltx2eff_cli, "plan", "--fps", fps).returncode == 0, fps
    assert run(ltx2eff_cli, "version").stdout.startswith("ltx2eff ")


def test_help_and_unknown_verb(ltx2eff_cli):
    assert "usage: ltx2eff plan" in run(ltx2eff_cli, "plan", "--help").stdout
    r = run(ltx2eff_cli, "frobnicate")
    assert r.returncode == 2
    assert "unknown command" in r.stderr
    assert run(ltx2eff_cli, "presets", "--json").returncode == 0


def _other_value(row: dict) -> object:
    """A value of the knob other than the "off" preset's: the top of an int's range, the middle
    of a float's, the other bool, the last other choice."""
    off = row["presets"]["off"]
    if row["type"] == "bool":
        return not off
    if row["type"] == "choice":
        return [c for c in row["choices"] if c != off][-1]
    if row["type"] == "float":
        return (row["min"] + row["max"]) / 2
    return row["max"] if row["max"] != off else row["min"]


@pytest.mark.parametrize("row", KNOBS, ids=[row["name"] for row in KNOBS])
def test_plan_takes_every_knob_of_the_table_by_its_name(ltx2eff_cli, row):
    value = _other_value(row)
    for option in (row["name"], row["name"].replace("_", "-")):
        r = run(ltx2eff_cli, "plan", "--json", "--preset", "off", f"--{option}", _spelled(value))
        assert r.returncode == 0, (option, r.stderr)
        assert json.loads(r.stdout)["knobs"][row["name"]] == value, option


def test_plan_step_range_options_shape_the_schedule(ltx2eff_cli):
    step_ranges = "--window-start 0.5 --window_end 0.9 --dense-first-blocks 2 --dense_last_blocks 1"
    keyframes = (
        "--stride 2 --refine-strength 0.3 --keyframe-mode bottleneck --keyframe-start 0.2 --keyframe-end 0.6"
    )
    r = run(
        ltx2eff_cli,
        *"plan --json --preset off --window 1 --steps 30".split(),
        *step_ranges.split(),
        *keyframes.split(),
    )
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    knobs = data["knobs"]
    assert (knobs["window_start"], knobs["window_end"]) == (0.5, 0.9)
    assert (knobs["dense_first_blocks"], knobs["dense_last_blocks"]) == (2, 1)
    assert (knobs["keyframe_mode"], knobs["keyframe_start"], knobs["keyframe_end"]) == (
        "bottleneck",
        0.2,
        0.6,
    )
    schedule = data["schedule"]
    assert (schedule["window_begin"], schedule["window_end"]) == (15, 27)
    assert (schedule["keyframe_begin"], schedule["keyframe_end"]) == (6, 18)
    assert schedule["windowed_blocks"] == _core.ModelDims().blocks - 3
    assert [s["window"] for s in schedule["steps"]] == [15 <= i < 27 for i in range(30)]


@pytest.mark.parametrize(
    ("args", "knob", "got"),
    [
        (("--window-start", "1.5"), "window_start", "1.5"),
        (("--window_end", "-0.1"), "window_end", "-0.1"),
        (("--window-start", "abc"), "window_start", "'abc'"),
        (("--window-start", "nan"), "window_start", "'nan'"),
        (("--window-end", "1e999"), "window_end", "1e999"),
        (("--dense-first-blocks", "1025"), "dense_first_blocks", "1025"),
        (("--dense-last-blocks", "-1"), "dense_last_blocks", "-1"),
        (("--dense-last-blocks", "1.5"), "dense_last_blocks", "'1.5'"),
        (("--dense-first-blocks", "99999999999999999999"), "dense_first_blocks", "99999999999999999999"),
        (("--keyframe-mode", "middle"), "keyframe_mode", "'middle'"),
        (("--keyframe-start", "2"), "keyframe_start", "2"),
        (("--keyframe_end", "-1"), "keyframe_end", "-1"),
        (("--anchor-frame", "yes"), "anchor_frame", "'yes'"),
        (("--thermal-guard", "2"), "thermal_guard", "'2'"),
        (("--precision", "fp9"), "precision", "'fp9'"),
        (("--max-reuse", "9"), "max_consecutive_reuse", "9"),
        (("--budget-mb", "-1"), "activation_budget_mb", "-1"),
    ],
)
def test_bad_knob_values_are_one_line_naming_the_knob_and_its_range(ltx2eff_cli, args, knob, got):
    r = run(ltx2eff_cli, "plan", *args)
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr == f"ltx2eff plan: {knob} must be {_row(knob)['allowed']}, got {got}\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--window", "1", "--window-start", "0.6", "--window-end", "0.4"),
            "window_end must be >= window_start (0.6), got 0.4",
        ),
        (
            ("--stride", "2", "--frame-stride", "3"),
            "frame_stride is given twice (--frame-stride and --stride)",
        ),
        (
            ("--anchor", "--anchor-frame", "false"),
            "anchor_frame is given twice (--anchor and --anchor-frame)",
        ),
        (("--steps", "0"), f"steps must be in [1, {_core.MAX_STEPS}], got 0"),
        (("--calls-per-step", "9"), f"calls_per_step must be in [1, {_core.MAX_CALLS_PER_STEP}], got 9"),
        (
            ("--batch", str(_core.MAX_BATCH + 1)),
            f"batch must be in [1, {_core.MAX_BATCH}], got {_core.MAX_BATCH + 1}",
        ),
    ],
)
def test_knob_rules_and_sampling_bounds_are_one_line(ltx2eff_cli, args, message):
    r = run(ltx2eff_cli, "plan", *args)
    assert r.returncode == 2 and r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], r.stderr


def test_plan_help_comes_from_the_knob_table(ltx2eff_cli):
    text = run(ltx2eff_cli, "plan", "--help").stdout
    flat = " ".join(text.split())
    for row in KNOBS:
        assert f"--{row['name'].replace('_', '-')} " in text, row["name"]
        assert f"Allowed: {row['allowed']}" in flat, row["name"]
        for choice in row["choices"]:
            assert choice in flat
    assert " | ".join(_core.preset_names()) in flat
    for legacy in ("--stride", "--max-reuse", "--budget-mb", "--anchor/--no-anchor"):
        assert legacy in flat


def test_presets_list_every_knob_of_every_preset(ltx2eff_cli):
    r = run(ltx2eff_cli, "presets")
    assert r.returncode == 0, r.stderr
    listed = run(ltx2eff_cli, "presets", "--json")
    presets = json.loads(listed.stdout)
    assert [p["name"] for p in presets] == list(_core.preset_names())
    for preset in presets:
        start = r.stdout.index(f"{preset['name']}: ")
        following = [r.stdout.find(f"\n{p['name']}: ", start) for p in presets]
        end = min([i for i in following if i > start], default=len(r.stdout))
        block = " ".join(r.stdout[start:end].split())
        assert list(preset["knobs"]) == [row["name"] for row in KNOBS]
        for name, value in preset["knobs"].items():
            assert f"{name}={_spelled(value)}," in block + ",", (preset["name"], name)
