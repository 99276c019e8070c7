"""scripts/sample_consistency.py: tracks data and samples of the demo model and prints the table."""

from __future__ import annotations

import pytest

pytest.importorskip("ltx_core")


def test_prints_one_row_per_motion_class_and_sampler(capsys, repo_script):
    script = repo_script("scripts/sample_consistency.py", "sample_consistency")
    assert script.main(["--seeds", "2", "--steps", "4", "--motions", "pan,orbit", "--presets", "fast"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| pan ") or line.startswith("| orbit ")]
    assert [r.split("|")[2].strip() for r in rows] == ["dense", "fast", "dense", "fast"]
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert float(cells[2]) > 0  # the data clips move
        assert cells[4].endswith("/2") and cells[5].endswith("/2")


def test_rejects_unknown_motion_and_bad_seed_count(repo_script):
    script = repo_script("scripts/sample_consistency.py", "sample_consistency")
    with pytest.raises(SystemExit):
        script.main(["--motions", "spin"])
    with pytest.raises(SystemExit):
        script.main(["--seeds", "0"])
    with pytest.raises(SystemExit):
        script.main(["--presets", "turbo"])
