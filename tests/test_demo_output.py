"""``ltx2eff demo`` / ``eval`` around their work: arguments and packages checked before torch is
imported, output folders never mixed or half written, Ctrl-C and SIGTERM ending in one line,
and timings repeated, interleaved and summarised by median and spread."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ltx2_efficient.demo import output_folder, requirements, timing
from ltx2_efficient.demo.output_folder import RUN_MARKER, OutputFolderError, StagedRun, check_output_folder
from ltx2_efficient.demo.verb import run_verb

REPO = Path(__file__).resolve().parents[1]


def _python(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=timeout, check=False
    )


# ---- arguments first, one line each ----


@pytest.mark.parametrize(
    ("verb", "args", "message"),
    [
        ("demo", ("--steps", "0"), "ltx2eff demo: steps must be in [1, 200], got 0"),
        ("demo", ("--guidance", "nan"), "ltx2eff demo: guidance must be in [1, 20], got nan"),
        ("demo", ("--seed", "-1"), "ltx2eff demo: seed must be in [0, 2^63), got -1"),
        ("demo", ("--presets", "turbo"), "ltx2eff demo: presets must be among"),
        ("demo", ("--presets", ","), "ltx2eff demo: presets must name at least one of"),
        ("demo", ("--repeats", "0"), "ltx2eff demo: repeats must be in [1, 9], got 0"),
        ("demo", ("--out", ""), "ltx2eff demo: --out must name a folder, got ''"),
        ("demo", ("--prompt", "purple circle"), "prompt word must be one of"),
        ("eval", ("--seeds", "0"), "ltx2eff eval: seeds must be in [1, 64], got 0"),
        ("eval", ("--repeats", "10"), "ltx2eff eval: repeats must be in [1, 9], got 10"),
        ("eval", ("--out", " "), "ltx2eff eval: --out must name a folder, got ' '"),
        ("eval", ("--quick", "--grid", "reuse"), "--quick and --grid reuse contradict each other"),
    ],
)
def test_bad_arguments_fail_in_one_line_before_torch_is_imported(verb, args, message, tmp_path):
    code = (
        "import sys\n"
        f"from ltx2_efficient.{verb}.cli import main\n"
        "rc = main(sys.argv[1:])\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
        "sys.exit(rc)\n"
    )
    out = ["--out", str(tmp_path / "run")] if "--out" not in args else []
    done = _python("-c", code, *out, *args)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert message in lines[0]
    assert not (tmp_path / "run").exists()


def test_output_folder_problems_are_one_line_errors(tmp_path):
    a_file = tmp_path / "file"
    a_file.write_text("mine")
    full = tmp_path / "full"
    full.mkdir()
    (full / "notes.txt").write_text("mine")
    for out, message in [
        (str(a_file), "is a file, not a folder"),
        (str(a_file / "sub"), "is a file, not a folder"),
        (str(full), "is not empty: give a new or empty folder, or --force"),
    ]:
        with pytest.raises(OutputFolderError, match=re.escape(message)):
            check_output_folder(out, force=False)
    with pytest.raises(OutputFolderError, match="not an ltx2eff run: not replaced, even with --force"):
        check_output_folder(str(full), force=True)
    assert (full / "notes.txt").read_text() == "mine"
    assert check_output_folder(str(tmp_path / "new" / "deeper"), force=False) == tmp_path / "new" / "deeper"


@pytest.mark.skipif(os.name == "nt" or os.geteuid() == 0, reason="needs a user that permissions apply to")
def test_an_unwritable_parent_is_a_one_line_error(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        with pytest.raises(OutputFolderError, match="permission denied"):
            check_output_folder(str(locked / "run"), force=False)
    finally:
        locked.chmod(0o755)


def _staged_run(target: Path, files: dict[str, str], fail: type[BaseException] | None = None) -> None:
    with StagedRun(target, "demo") as staged:
        assert staged.folder.parent == target.parent and staged.folder != target
        for name, text in files.items():
            output_folder.write_atomically(staged.folder / name, text)
        if fail is not None:
            raise fail


def test_a_run_appears_whole_and_marked_or_not_at_all(tmp_path):
    target = tmp_path / "run"
    for failure in (KeyboardInterrupt, ValueError, OSError):
        with pytest.raises(failure):
            _staged_run(target, {"report.md": "half"}, failure)
        assert not target.exists()
        assert list(tmp_path.iterdir()) == []  # no staging folder left behind
    _staged_run(target, {"report.md": "first", "videos/dense.gif": "x"})
    assert json.loads((target / RUN_MARKER).read_text()) == {"verb": "demo", "complete": True}
    mask = os.umask(0o022)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o777 & ~mask  # not the private mode of a temp folder
    assert (target / "report.md").stat().st_mode & 0o777 == 0o666 & ~mask
    assert (target / "report.md").read_text() == "first"
    # --force over an earlier run: the new run replaces it whole, no older file stays mixed in.
    assert check_output_folder(str(target), force=True) == target
    _staged_run(target, {"report.md": "second"})
    assert (target / "report.md").read_text() == "second"
    assert not (target / "videos").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_an_existing_empty_folder_is_filled(tmp_path):
    target = tmp_path / "empty"
    target.mkdir()
    _staged_run(check_output_folder(str(target), force=False), {"pareto.md": "table"})
    assert (target / "pareto.md").read_text() == "table" and (target / RUN_MARKER).exists()


def test_without_out_a_taken_default_gives_way_to_a_numbered_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    done = lambda _c, _f: "report.md, in 1.0 s"  # noqa: E731
    assert run_verb("demo", None, False, lambda: None, done, default_out="ltx2eff-demo") == 0
    assert (tmp_path / "ltx2eff-demo" / RUN_MARKER).exists()
    capsys.readouterr()
    for n in (2, 3):
        assert run_verb("demo", None, False, lambda: None, done, default_out="ltx2eff-demo") == 0
        captured = capsys.readouterr()
        assert captured.err.strip() == (
            f"ltx2eff demo: ltx2eff-demo holds an earlier run: writing {tmp_path / f'ltx2eff-demo-{n}'} instead"
        )
        assert (tmp_path / f"ltx2eff-demo-{n}" / RUN_MARKER).exists()
    # A named --out is never renumbered.
    assert run_verb("demo", "ltx2eff-demo", False, lambda: None, done) == 2
    assert "is not empty" in capsys.readouterr().err


def test_write_atomically_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "report.json"
    output_folder.write_json_atomically(path, {"a": 1})
    output_folder.write_json_atomically(path, {"a": 2})
    assert json.loads(path.read_text()) == {"a": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]
    with pytest.raises(ValueError):
        output_folder.write_json_atomically(path, {"a": float("nan")})
    assert json.loads(path.read_text()) == {"a": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_run_verb_reports_interrupts_and_write_errors_in_one_line(tmp_path, capsys):
    def interrupted(_checked, folder):
        (folder / "report.md").write_text("half")
        raise KeyboardInterrupt

    def unwritable(_checked, folder):
        raise PermissionError(13, "Permission denied", str(folder / "report.md"))

    target = tmp_path / "run"
    assert run_verb("demo", str(target), False, lambda: None, interrupted) == 130
    assert capsys.readouterr().err.strip() == f"ltx2eff demo: interrupted; nothing written to {target}"
    assert run_verb("demo", str(target), False, lambda: None, unwritable) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot write" in err[0] and "Permission denied" in err[0]
    assert list(tmp_path.iterdir()) == []
    assert run_verb("demo", str(target), False, lambda: None, lambda _c, _f: "report.md, in 1.0 s") == 0
    assert capsys.readouterr().out.strip() == f"wrote {target}/ (report.md, in 1.0 s)"


# ---- missing packages ----


def test_missing_packages_are_named_with_the_commands_that_install_them(monkeypatch):
    real = importlib.util.find_spec
    gone = {"ltx_core", "safetensors"}
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name in gone else real(name, *a)
    )
    assert requirements.missing_packages() == ["ltx-core", "safetensors"]
    with pytest.raises(requirements.MissingPackages) as caught:
        requirements.require_packages("ltx2eff demo")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("ltx2eff demo needs ltx-core, safetensors, not installed here: ")
    assert "pip install 'ltx2-efficient[demo]'" in message
    assert f"pip install --no-deps {requirements.LTX_CORE_SPEC}" in message


def test_demo_without_ltx_core_says_so_in_one_line_without_starting(monkeypatch, tmp_path, capsys):
    from ltx2_efficient.demo import cli

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "ltx_core" else real(name, *a)
    )
    assert cli.main(["--out", str(tmp_path / "run"), "--steps", "2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ltx2eff demo: ltx2eff demo needs ltx-core")
    assert not (tmp_path / "run").exists()


def test_the_ltx_core_release_is_named_once_for_scripts_and_messages():
    env = (REPO / "scripts" / "lib" / "env.sh").read_text()
    assert f'LTX_CORE_SPEC="{requirements.LTX_CORE_SPEC}"' in env


# ---- timings ----


def test_repeats_are_interleaved_in_rotated_order():
    calls = []

    def time_one(name):
        calls.append(name)
        return {"dense": 4.0, "a": 2.0, "b": 1.0}[name] + 0.1 * len(calls)

    samples = timing.time_interleaved(
        ["dense", "a", "b"], 3, time_one, first={"dense": 4.0, "a": 2.0, "b": 1.0}
    )
    assert calls == ["a", "b", "dense", "b", "dense", "a"]
    assert [len(v) for v in samples.values()] == [3, 3, 3]
    assert samples["dense"][0] == 4.0


def test_timing_summary_takes_medians_and_flags_a_wide_spread():
    steady = timing.timing_summary([1.0, 1.02, 0.98], [2.0, 2.02, 1.98])
    assert steady["model_s"] == 1.0 and steady["speedup_model"] == pytest.approx(2.0)
    assert steady["model_s_spread"] == pytest.approx(0.04)
    assert not steady["timing_noisy"]
    low, high = steady["speedup_range"]
    assert low <= 2.0 <= high
    noisy = timing.timing_summary([1.0, 1.5, 1.0], [2.0, 2.0, 2.0])
    assert noisy["timing_noisy"] and noisy["model_s"] == 1.0
    assert timing.speedup_cell({**noisy}).endswith(" ?")
    assert timing.speedup_cell({**steady}) == f"2.00x ({low:.2f}-{high:.2f})"
    assert timing.work_ratios(
        {"model_calls": 10, "token_passes": 5.0}, {"model_calls": 40, "token_passes": 20.0}
    ) == {
        "work_ratio_calls": 4.0,
        "work_ratio_token_passes": 4.0,
    }


# ---- Ctrl-C of a real run ----


@pytest.mark.skipif(os.name == "nt", reason="POSIX signals")
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupting_the_demo_leaves_nothing_and_says_so_in_one_line(tmp_path, sig):
    target = tmp_path / "run"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ltx2_efficient",
            "demo",
            "--out",
            str(target),
            # long enough (seconds per run) that the signal lands inside the run on a busy machine
            "--steps",
            "40",
            "--presets",
            "fast",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    seen = ""
    deadline = time.monotonic() + 300
    while "[1/2] dense" not in seen and time.monotonic() < deadline:  # the run has begun
        ready, _, _ = select.select([proc.stderr], [], [], 1.0)
        if ready:
            seen += proc.stderr.readline()
        assert proc.poll() is None, seen
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, seen + err
    *progress, last = err.strip().splitlines()
    assert last == f"ltx2eff demo: interrupted; nothing written to {target}"
    assert all(line.startswith("[") for line in progress), err  # no traceback
    assert list(tmp_path.iterdir()) == []
