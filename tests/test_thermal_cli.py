"""``ltx2eff thermal watch`` and ``ltx2eff thermal hold`` without NVML (as in CI), and with the
simulated GPU so that the pausing of the command itself is exercised."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

MISSING_NVML = "/nonexistent/libnvidia-ml.so.1"
posix_only = pytest.mark.skipif(os.name == "nt", reason="thermal hold pauses processes with SIGSTOP/SIGCONT")

# A CPU-bound child that reports the share of its wall time it got to run, then exits with a code.
BUSY_CHILD = """
import sys, time
t0, c0 = time.monotonic(), time.process_time()
while time.monotonic() - t0 < float(sys.argv[1]):
    pass
print(f"share {(time.process_time() - c0) / (time.monotonic() - t0):.3f}", flush=True)
sys.exit(int(sys.argv[2]))
"""


def no_nvml_env() -> dict[str, str]:
    return {**os.environ, "LTX2EFF_NVML_LIBRARY": MISSING_NVML}


def run(cli: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [cli, "thermal", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=no_nvml_env(),
    )


def test_watch_without_nvml_says_so_in_one_line(ltx2eff_cli):
    r = run(ltx2eff_cli, "watch", "--count", "3")
    assert r.returncode == 0
    assert r.stderr == ""
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("ltx2eff thermal watch: NVML unavailable (cannot load")


def test_watch_prints_one_line_per_interval(ltx2eff_cli):
    start = time.monotonic()
    r = run(ltx2eff_cli, "watch", "--simulate", "--count", "3", "--interval", "0.2")
    elapsed = time.monotonic() - start
    assert r.returncode == 0, r.stderr
    header, *lines = r.stdout.strip().splitlines()
    assert header.startswith("Simulated GPU (simulated): slowdown 90 C, shutdown 98 C, power limit 300 W")
    assert len(lines) == 3
    pattern = re.compile(
        r"^\d\d:\d\d:\d\d  \d+ C  [\d.]+ / 300\.0 W \(\d+%\)  util \d+%  SM \d+ MHz  throttle: "
    )
    for line in lines:
        assert pattern.match(line), line
    assert elapsed >= 0.4  # two intervals between three lines


def test_watch_json(ltx2eff_cli):
    r = run(ltx2eff_cli, "watch", "--simulate", "--count", "2", "--interval", "0.05", "--json")
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.strip().splitlines()]
    assert len(rows) == 2
    assert rows[0]["power_limit_w"] == 300
    assert set(rows[0]) >= {"temperature_c", "power_w", "energy_j", "utilization", "clock_event_reasons"}


@posix_only
def test_hold_without_nvml_runs_the_command_unpaced(ltx2eff_cli, tmp_path):
    marker = tmp_path / "ran"
    code = f"import pathlib, sys; pathlib.Path({str(marker)!r}).write_text('x'); sys.exit(7)"
    r = run(ltx2eff_cli, "hold", "--power", "0.6", "--", sys.executable, "-c", code)
    assert r.returncode == 7
    assert marker.exists()
    assert "NVML unavailable" in r.stderr and "running the command unpaced" in r.stderr
    assert "not paced (" in r.stderr.strip().splitlines()[-1]


@posix_only
def test_hold_require_nvml_refuses(ltx2eff_cli, tmp_path):
    marker = tmp_path / "ran"
    code = f"import pathlib; pathlib.Path({str(marker)!r}).write_text('x')"
    r = run(ltx2eff_cli, "hold", "--require-nvml", "--power", "0.6", "--", sys.executable, "-c", code)
    assert r.returncode == 3
    assert not marker.exists()
    assert "not running the command (--require-nvml)" in r.stderr


@posix_only
def test_hold_pauses_the_command_and_reports(ltx2eff_cli):
    # The simulated GPU draws 300 W at full duty: holding 40% (120 W) leaves the command ~30%.
    r = run(
        ltx2eff_cli, "hold", "--simulate", "--power", "0.4", "--", sys.executable, "-c", BUSY_CHILD, "3", "5"
    )
    assert r.returncode == 5, r.stderr
    share = float(re.search(r"share ([\d.]+)", r.stdout).group(1))
    assert share < 0.7  # unpaced it would be close to 1
    summary = r.stderr.strip().splitlines()[-1]
    assert "thermal guard [power 40% of 300 W (120 W)] on Simulated GPU" in summary
    paced = re.search(r"paced ([\d.]+) s \((\d+)%\)", summary)
    assert paced is not None and 40 <= int(paced.group(2)) <= 85, summary
    assert summary.endswith("exit code 5")


@posix_only
def test_hold_lengthens_the_period_when_the_minimum_duty_cannot_hold_the_target(ltx2eff_cli):
    # 10% of 300 W is under the simulated GPU's 40 W idle: the duty sits at its minimum.
    r = run(
        ltx2eff_cli, "hold", "--simulate", "--power", "0.1", "--", sys.executable, "-c", BUSY_CHILD, "6", "0"
    )
    assert r.returncode == 0, r.stderr
    assert "pacing period lengthened to 400 ms" in r.stderr


@posix_only
def test_hold_forwards_interrupt_and_never_leaves_the_command_stopped(ltx2eff_cli):
    proc = subprocess.Popen(
        [
            ltx2eff_cli,
            "thermal",
            "hold",
            "--simulate",
            "--power",
            "0.2",
            "--",
            sys.executable,
            "-c",
            BUSY_CHILD,
            "60",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=no_nvml_env(),
    )
    time.sleep(1.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 128 + signal.SIGINT, err
    assert "exit code 130" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("hold", "--power", "1.5", "--", "true"), "--power must be in [0.1, 1], got 1.5"),
        (("hold", "--temperature", "20", "--", "true"), "--temperature must be in [30, 100], got 20"),
        (("hold", "--period", "5", "--", "true"), "--period must be in [0.01, 1], got 5"),
        (("hold", "--power", "0.5"), "no command to run: put it after '--'"),
        (("watch", "--interval", "0"), "--interval must be in [0.05, 3600], got 0"),
        (("watch", "--count", "abc"), "--count expects an integer, got 'abc'"),
        (("watch", "--bogus"), "unknown option --bogus"),
        (("frobnicate",), "unknown thermal command 'frobnicate'"),
    ],
)
def test_bad_input_one_line_error(ltx2eff_cli, args, message):
    r = run(ltx2eff_cli, *args)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert message in lines[0]


def test_help_texts(ltx2eff_cli):
    assert "usage: ltx2eff thermal <watch|hold>" in run(ltx2eff_cli, "--help").stdout
    watch = run(ltx2eff_cli, "watch", "--help").stdout
    assert "usage: ltx2eff thermal watch" in watch and "--count N" in watch and "--bus-id" in watch
    hold = run(ltx2eff_cli, "hold", "--help").stdout
    assert "usage: ltx2eff thermal hold" in hold and "SIGSTOP/SIGCONT" in hold and "--require-nvml" in hold
    top = subprocess.run([ltx2eff_cli, "--help"], capture_output=True, text=True, check=False).stdout
    assert "thermal" in top
