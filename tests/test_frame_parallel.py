"""Frame-parallel attention and model calls on 2 and 3 CPU processes (gloo) against one process."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("ltx_core")
torch = pytest.importorskip("torch")

from ltx2_efficient import _core  # noqa: E402

HERE = Path(__file__).parent


def _launch(args: list[list[str]], tmp_path: Path, timeout: float = 300) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "LTX2EFF_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    procs = [
        subprocess.Popen(a, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for a in args
    ]
    outputs = []
    try:
        for p in procs:
            out, _ = p.communicate(timeout=timeout)
            outputs.append(out)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p, out in zip(procs, outputs, strict=True):
        assert p.returncode == 0, out[-4000:]


@pytest.mark.parametrize("world", [2, 3])
def test_frame_parallel_matches_one_process(world, tmp_path):
    init = tmp_path / "init"
    worker = str(HERE / "frame_parallel_worker.py")
    _launch(
        [[sys.executable, worker, str(r), str(world), str(init), str(tmp_path)] for r in range(world)],
        tmp_path,
    )
    results = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(world)]
    cases = set(results[0])
    assert any(c.startswith("attention") for c in cases) and any("AudioVideo" in c for c in cases)
    for r, result in enumerate(results):
        assert set(result) == cases
        for case, diff in result.items():
            assert diff < 2e-5, f"rank {r}: {case} differs by {diff}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_demo_sampling_loop_on_two_ranks_matches_one(tmp_path):
    """The torchrun entry: a whole guided sampling loop of the demo model on 2 ranks."""
    summary = tmp_path / "summary.json"
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-addr", "127.0.0.1",
        "--master-port", str(_free_port()), "-m", "ltx2_efficient.parallel.run",
        "--window", "1", "--anchor", "--steps", "3", "--check", "--json", str(summary),
    ]  # fmt: skip
    _launch([cmd], tmp_path, timeout=600)
    result = json.loads(summary.read_text())
    assert result["ranks"] == 2
    assert result["max_abs_diff"] < 1e-4
    # Each rank receives a halo of one frame per call (plus the anchor for rank 1): far less than
    # the other rank's frames.
    for rank in result["per_rank"]:
        assert 0 < rank["halo_bytes"]


def test_split_rejects_more_ranks_than_frames():
    with pytest.raises(ValueError, match="ranks"):
        _core.make_frame_split(_core.LatentShape(3, 2, 2), 0, _core.WindowSpec(1, False, 0), 4)


def test_scaling_benchmark_runs_on_two_cpu_ranks(tmp_path):
    """bench/frame_parallel.py end to end at its tiny size: rows for every config, bytes counted."""
    out = tmp_path / "rows.jsonl"
    bench = str(HERE.parent / "bench" / "frame_parallel.py")
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-addr", "127.0.0.1",
        "--master-port", str(_free_port()), bench, "--tiny", "--repeats", "1", "--out", str(out),
    ]  # fmt: skip
    _launch([cmd], tmp_path, timeout=600)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert {r["config"] for r in rows} == {"window K=1", "window K=2", "dense all-gather"}
    by_config = {r["config"]: r["bytes_per_step"] for r in rows}
    # 5 latent frames on 2 ranks: K=1 needs one halo frame each way, dense all of the other rank's.
    assert 0 < by_config["window K=1"] < by_config["dense all-gather"]
    table = subprocess.run(
        [sys.executable, bench, "--table", str(out)], capture_output=True, text=True, check=True
    )
    assert "| tiny 256x128x33 | window K=1 | 2 |" in table.stdout
