"""Where window attention loses time inside the model (device script).

The end-to-end loop runs window attention through the host adapter (``WindowedSelfAttention``
on ``[B, T, heads * D]`` projections, anchor frame on), while ``bench/attention.py`` times the
kernel alone on ``[B, heads, T, D]``. This script times the steps in between at one grid, so the
difference can be pinned on one of them:

- dense SDPA on ``[B, heads, T, D]`` and through the adapter's dense path (``[B, T, heads * D]``);
- ours on contiguous ``[B, heads, T, D]`` and on the strided view of ``[B, T, heads * D]``,
  anchor off and on;
- ours through ``WindowedSelfAttention`` (the path the sampler runs), for each backend.

    python bench/attention_in_model.py [--grid 16 34 60] [--batch 1] [--window 2] [--json PATH]

Prints a table: time, ratio to dense SDPA, ratio to the ideal (pair fraction x dense time).
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import torch

HEADS = 32
HEAD_DIM = 128


def _kernel_bench() -> ModuleType:
    """bench/attention.py (the kernel benchmark), for its plan pair fraction."""
    spec = importlib.util.spec_from_file_location("bench_attention", Path(__file__).with_name("attention.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def timed(fn: Callable[[], object], reps: int) -> float:
    """Median milliseconds of ``fn`` over ``reps`` runs (CUDA events, L2 flushed before each)."""
    flush = torch.empty(256 << 20, dtype=torch.uint8, device="cuda")
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        flush.zero_()
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


class Table:
    """The rows so far, each printed as it comes with its ratios to dense SDPA and to the ideal."""

    def __init__(self, dense_ms: float) -> None:
        self.dense_ms = dense_ms
        self.rows: list[dict[str, object]] = []

    def add(self, name: str, ms: float, pair_fraction: float, backend: str = "") -> None:
        dense_ms = self.dense_ms
        self.rows.append(
            {
                "row": name,
                "ms": ms,
                "vs_dense": dense_ms / ms,
                "vs_ideal": ms / (pair_fraction * dense_ms),
                "pair_fraction": pair_fraction,
                "backend": backend,
            }
        )
        print(
            f"{name:52s} {ms:8.2f} ms  {dense_ms / ms:5.2f}x dense  {ms / (pair_fraction * dense_ms):5.2f}x ideal"
            f"  {backend}",
            flush=True,
        )


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not torch.cuda.is_available():
        print("no CUDA device: this benchmark runs on the GPU only", file=sys.stderr)
        return 2

    from ltx2_efficient.sampler.attention_patch import sdpa_attention

    grid = tuple(args.grid)
    qkv, heads_view, contiguous = _projections(grid, args.batch)
    sdpa = torch.nn.functional.scaled_dot_product_attention
    table = Table(timed(lambda: sdpa(*contiguous), args.reps))
    table.add("dense SDPA [B,h,T,D] contiguous", table.dense_ms, 1.0)
    table.add("dense SDPA adapter [B,T,h*D]", timed(lambda: sdpa_attention(*qkv, HEADS), args.reps), 1.0)
    for backend in ("cuda", "batched", "torch", "auto"):
        for anchor in (False, True):
            _time_ours(table, args, grid, backend, anchor, qkv, heads_view, contiguous)
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                {
                    "device": torch.cuda.get_device_name(),
                    "date": datetime.date.today().isoformat(),
                    "command": " ".join(sys.argv),
                    "grid": grid,
                    "batch": args.batch,
                    "rows": table.rows,
                },
                indent=2,
            )
        )
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--grid", type=int, nargs=3, default=[16, 34, 60], metavar=("F", "H", "W"))
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--window", type=int, default=2)
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--json", type=Path, default=None)
    return parser


def _projections(
    grid: tuple[int, ...], b: int
) -> tuple[list[torch.Tensor], list[torch.Tensor], list[torch.Tensor]]:
    """Random q, k, v as the model projects them (``[B, T, heads * D]``), their strided
    ``[B, heads, T, D]`` views, and contiguous copies of those."""
    tokens = grid[0] * grid[1] * grid[2]
    width = HEADS * HEAD_DIM
    gen = torch.Generator(device="cuda").manual_seed(0)
    qkv = [
        torch.randn(b, tokens, width, device="cuda", dtype=torch.bfloat16, generator=gen) for _ in range(3)
    ]
    heads_view = [t.view(b, tokens, HEADS, HEAD_DIM).transpose(1, 2) for t in qkv]
    contiguous = [t.contiguous() for t in heads_view]
    return qkv, heads_view, contiguous


def _time_ours(
    table: Table,
    args: argparse.Namespace,
    grid: tuple[int, ...],
    backend: str,
    anchor: bool,
    qkv: list[torch.Tensor],
    heads_view: list[torch.Tensor],
    contiguous: list[torch.Tensor],
) -> None:
    """Ours through ``backend`` on both layouts (and, for auto, through the adapter); a row that
    fails is reported and the others go on."""
    from ltx2_efficient.sampler.attention_patch import WindowedSelfAttention
    from ltx2_efficient.sampler.settings import EfficientSettings
    from ltx2_efficient.torch_glue import attention as glue

    f = _kernel_bench().pair_fraction(grid, args.window, anchor)
    tag = f"K={args.window}{' +anchor' if anchor else ''}"

    def ours(tensors: list[torch.Tensor]) -> object:
        return glue.window_attention(
            *tensors, grid=grid, window=args.window, anchor_frame=anchor, backend=backend
        )

    try:
        table.add(
            f"ours {backend} {tag} contiguous",
            timed(lambda: ours(contiguous), args.reps),
            f,
            glue.last_backend(),
        )
        table.add(
            f"ours {backend} {tag} strided view",
            timed(lambda: ours(heads_view), args.reps),
            f,
            glue.last_backend(),
        )
        if backend == "auto":  # the sampler's path: the adapter on the projections' layout
            settings = EfficientSettings.from_preset("off", window=args.window, anchor_frame=anchor)
            adapter = WindowedSelfAttention(settings, grid=grid)
            ms = timed(lambda: adapter(*qkv, HEADS), args.reps)
            table.add(f"ours adapter {tag} [B,T,h*D]", ms, f, glue.last_backend())
    except Exception as error:  # report and go on with the other rows
        print(f"ours {backend} {tag}: {type(error).__name__}: {error}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
