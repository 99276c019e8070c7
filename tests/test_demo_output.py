"""``ltx2eff demo`` / ``eval`` around their work: arguments and packages checked before torch is
imported, output folders never mixed or half written, Ctrl-C and SIGTERM ending in one line,
and timings repeated, interleaved and summarised by median and spread."""

from __future__ import annotations

import errno
import importlib.util
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
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


def _one_line_usage_error(capsys, out: str) -> str:
    assert run_verb("demo", out, False, lambda: None, lambda _c, _f: "never") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_permission_problems_are_one_line_errors_as_any_user(tmp_path, monkeypatch, capsys):
    # Root passes every permission check, so the refusals are simulated (CI runs as root).
    mine = tmp_path / "mine"
    mine.mkdir()
    monkeypatch.setattr(output_folder.os, "access", lambda *_a, **_k: False)
    with pytest.raises(OutputFolderError, match=re.escape(f"cannot write in {tmp_path} (permission denied)")):
        check_output_folder(str(tmp_path / "run"), force=False)
    monkeypatch.undo()

    real_iterdir = Path.iterdir

    def unreadable(self):
        if self == mine:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_iterdir(self)

    monkeypatch.setattr(Path, "iterdir", unreadable)
    with pytest.raises(OutputFolderError, match=re.escape(f"--out {mine}: Permission denied")):
        check_output_folder(str(mine), force=False)
    assert _one_line_usage_error(capsys, str(mine)) == f"ltx2eff demo: --out {mine}: Permission denied"
    monkeypatch.undo()

    def refused(self, *_a, **_k):
        raise PermissionError(errno.EACCES, "Permission denied", str(self))

    monkeypatch.setattr(Path, "mkdir", refused)
    target = tmp_path / "new" / "run"
    assert check_output_folder(str(target), force=False) == target
    assert run_verb("demo", str(target), False, lambda: None, lambda _c, _f: "never") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"ltx2eff demo: --out {target}: cannot create it (Permission denied)"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]


def _can_drop_privileges() -> bool:
    if os.name == "nt" or os.geteuid() != 0 or shutil.which("setpriv") is None:
        return False
    probe = subprocess.run(
        ["setpriv", "--reuid", "nobody", "--regid", "nogroup", "--clear-groups", sys.executable, "-c",
         "import ltx2_efficient.demo.cli"],
        capture_output=True, cwd="/", timeout=60, check=False,
    )  # fmt: skip
    return probe.returncode == 0


@pytest.mark.skipif(not _can_drop_privileges(), reason="needs root, setpriv and a package nobody can import")
def test_folders_nobody_may_use_are_one_line_errors_for_nobody():
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        base.chmod(0o755)
        (base / "locked").mkdir(mode=0o000)
        (base / "readonly").mkdir(mode=0o555)
        try:
            for out, message in [
                (base / "locked", f"--out {base / 'locked'}: Permission denied"),
                (base / "locked" / "run", f"--out {base / 'locked' / 'run'}: Permission denied"),
                (base / "readonly" / "run", f"cannot write in {base / 'readonly'} (permission denied)"),
            ]:
                done = subprocess.run(
                    ["setpriv", "--reuid", "nobody", "--regid", "nogroup", "--clear-groups",
                     sys.executable, "-m", "ltx2_efficient", "demo", "--out", str(out)],
                    capture_output=True, text=True, cwd="/", timeout=120, check=False,
                )  # fmt: skip
                assert done.returncode == 2, done.stderr
                lines = done.stderr.strip().splitlines()
                assert len(lines) == 1 and message in lines[0], done.stderr
            assert sorted(p.name for p in base.iterdir()) == ["locked", "readonly"]
            assert not any((base / "readonly").iterdir())
        finally:
            (base / "locked").chmod(0o755)


def test_a_name_too_long_is_a_one_line_error_quoting_it_shortened(tmp_path, capsys):
    long_name = "x" * 300
    for out in (tmp_path / long_name, tmp_path / long_name / "run"):
        with pytest.raises(OutputFolderError) as caught:
            check_output_folder(str(out), force=False)
        message = str(caught.value)
        assert message.startswith("--out ") and message.endswith(": File name too long")
        assert "\n" not in message and len(message) < 120, message
        assert "..." in message and str(out).endswith(message.split("...")[1].rsplit(":", 1)[0])
        line = _one_line_usage_error(capsys, str(out))
        assert line == f"ltx2eff demo: {message}"
    assert list(tmp_path.iterdir()) == []
    assert output_folder.shorten("short/path") == "short/path"
    assert len(output_folder.shorten("a" * 200)) == 80


@pytest.mark.parametrize("method", ["exists", "is_dir", "iterdir", "is_file"])
def test_any_file_system_error_while_checking_is_a_one_line_error(tmp_path, monkeypatch, capsys, method):
    earlier = tmp_path / "run"
    _staged_run(earlier, {"report.md": "earlier"})
    real = getattr(Path, method)

    def failing(self, *args, **kwargs):
        if self == earlier or self.parent == earlier:
            raise OSError(errno.EIO, "Input/output error", str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, method, failing)
    with pytest.raises(OutputFolderError, match=re.escape(f"--out {earlier}: Input/output error")):
        check_output_folder(str(earlier), force=True)
    assert run_verb("demo", str(earlier), True, lambda: None, lambda _c, _f: "never") == 2
    assert capsys.readouterr().err.strip() == f"ltx2eff demo: --out {earlier}: Input/output error"
    monkeypatch.undo()
    assert (earlier / "report.md").read_text() == "earlier"


def test_an_error_above_a_new_folder_is_a_one_line_error(tmp_path, monkeypatch):
    real_exists = Path.exists
    above = tmp_path / "new"

    def failing(self, *args, **kwargs):
        if self == above:
            raise OSError(errno.EIO, "Input/output error", str(self))
        return real_exists(self, *args, **kwargs)

    monkeypatch.setattr(Path, "exists", failing)
    with pytest.raises(OutputFolderError, match=re.escape(f"--out {above}: Input/output error")):
        check_output_folder(str(above / "run"), force=False)


def test_a_failed_move_into_place_keeps_the_earlier_run_and_leaves_nothing_else(
    tmp_path, monkeypatch, capsys
):
    target = tmp_path / "run"
    _staged_run(target, {"report.md": "earlier"})
    real_replace = os.replace

    def failing(src, dst, *args, **kwargs):
        if Path(src).name.startswith(".run.partial-"):
            raise OSError(errno.EXDEV, "Invalid cross-device link", str(src))
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(output_folder.os, "replace", failing)
    with pytest.raises(OutputFolderError, match=re.escape(f"--out {target}: Invalid cross-device link")):
        _staged_run(target, {"report.md": "later"})
    assert run_verb("demo", str(target), True, lambda: None, lambda _c, _f: "done") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"ltx2eff demo: --out {target}: Invalid cross-device link"]
    assert (target / "report.md").read_text() == "earlier"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    fresh = tmp_path / "new" / "deeper" / "run"
    with pytest.raises(OutputFolderError):
        _staged_run(fresh, {"report.md": "later"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


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


def test_a_failed_run_into_a_new_nested_folder_removes_the_folders_it_made(tmp_path, monkeypatch, capsys):
    kept = tmp_path / "kept"
    kept.mkdir()
    for target in (tmp_path / "newp" / "a" / "run", kept / "newp" / "a" / "run"):
        for failure in (KeyboardInterrupt, ValueError, OSError):
            with pytest.raises(failure):
                _staged_run(target, {"report.md": "half"}, failure)
            assert sorted(p.name for p in tmp_path.iterdir()) == ["kept"]
            assert list(kept.iterdir()) == []

    def interrupted(_checked, folder):
        (folder / "report.md").write_text("half")
        raise KeyboardInterrupt

    target = tmp_path / "newp" / "a" / "run"
    assert run_verb("demo", str(target), False, lambda: None, interrupted) == 130
    assert capsys.readouterr().err.strip() == f"ltx2eff demo: interrupted; nothing written to {target}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept"]

    # A folder that something else wrote into during the run is not removed.
    def shared(_checked, folder):
        (tmp_path / "newp" / "theirs.txt").write_text("theirs")
        raise KeyboardInterrupt

    assert run_verb("demo", str(target), False, lambda: None, shared) == 130
    assert sorted(p.name for p in (tmp_path / "newp").iterdir()) == ["theirs.txt"]
    shutil.rmtree(tmp_path / "newp")

    # The staging folder cannot be made: the folders made for it go too.
    def refused(*_a, **_k):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(output_folder.tempfile, "mkdtemp", refused)
    with pytest.raises(OutputFolderError, match=re.escape("cannot create it (Permission denied)")):
        _staged_run(target, {})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept"]


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
        requirements.require_packages()
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("needs ltx-core, safetensors, not installed here: ")
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
    assert len(err) == 1 and err[0].startswith("ltx2eff demo: needs ltx-core, not installed here: ")
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


def _ctrl_c_interrupts() -> None:
    """In the child before exec: SIGINT back to its default. A process started from a background
    job inherits an ignored SIGINT, and Python then keeps ignoring it (as a background job should);
    the test is about what Ctrl-C does, wherever the test suite itself runs."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.skipif(os.name == "nt", reason="POSIX signals")
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupting_the_demo_leaves_nothing_and_says_so_in_one_line(tmp_path, sig):
    target = tmp_path / "new" / "nested" / "run"  # the folders made for the run go too
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
        preexec_fn=_ctrl_c_interrupts,
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
    assert last == f"ltx2eff demo: interrupted; nothing written to {target}", err
    assert all(line.startswith("[") for line in progress), err  # no traceback
    assert list(tmp_path.iterdir()) == []
