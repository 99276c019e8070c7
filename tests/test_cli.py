"""The ``ltx2eff`` command: correct numbers, JSON, and one-line errors with non-zero exit."""

from __future__ import annotations

import json
import subprocess

import pytest


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
