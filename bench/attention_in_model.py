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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--grid", type=int, nargs=3, default=[16, 34, 60], metavar=("F", "H", "W"))
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--window", type=int, default=2)
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        print("no CUDA device: this benchmark runs on the GPU only", file=sys.stderr)
        return 2

    from ltx2_efficient.sampler.attention_patch import WindowedSelfAttention, sdpa_attention
    from ltx2_efficient.sampler.settings import EfficientSettings
    from ltx2_efficient.torch_glue import attention as glue

    grid = tuple(args.grid)
    tokens = grid[0] * grid[1] * grid[2]
    b, width = args.batch, HEADS * HEAD_DIM
    gen = torch.Generator(device="cuda").manual_seed(0)
    q, k, v = (
        torch.randn(b, tokens, width, device="cuda", dtype=torch.bfloat16, generator=gen) for _ in range(3)
    )
    heads_view = [t.view(b, tokens, HEADS, HEAD_DIM).transpose(1, 2) for t in (q, k, v)]
    contiguous = [t.contiguous() for t in heads_view]
    sdpa = torch.nn.functional.scaled_dot_product_attention

    rows: list[dict[str, object]] = []
    dense_ms = timed(lambda: sdpa(*contiguous), args.reps)

    def add(name: str, ms: float, pair_fraction: float, backend: str = "") -> None:
        rows.append(
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

    add("dense SDPA [B,h,T,D] contiguous", dense_ms, 1.0)
    add("dense SDPA adapter [B,T,h*D]", timed(lambda: sdpa_attention(q, k, v, HEADS), args.reps), 1.0)
    for backend in ("cuda", "batched", "torch", "auto"):
        for anchor in (False, True):
            f = _kernel_bench().pair_fraction(grid, args.window, anchor)
            tag = f"K={args.window}{' +anchor' if anchor else ''}"

            def ours(tensors: list[torch.Tensor], anchor: bool = anchor, backend: str = backend) -> object:
                return glue.window_attention(
                    *tensors, grid=grid, window=args.window, anchor_frame=anchor, backend=backend
                )

            try:
                add(
                    f"ours {backend} {tag} contiguous",
                    timed(lambda: ours(contiguous), args.reps),
                    f,
                    glue.last_backend(),
                )
                add(
                    f"ours {backend} {tag} strided view",
                    timed(lambda: ours(heads_view), args.reps),
                    f,
                    glue.last_backend(),
                )
                if backend == "auto":  # the sampler's path: the adapter on the projections' layout
                    settings = EfficientSettings.from_preset("off", window=args.window, anchor_frame=anchor)
                    adapter = WindowedSelfAttention(settings, grid=grid)
                    ms = timed(lambda adapter=adapter: adapter(q, k, v, HEADS), args.reps)
                    add(f"ours adapter {tag} [B,T,h*D]", ms, f, glue.last_backend())
            except Exception as error:  # report and go on with the other rows
                print(f"ours {backend} {tag}: {type(error).__name__}: {error}", flush=True)
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                {
                    "device": torch.cuda.get_device_name(),
                    "date": datetime.date.today().isoformat(),
                    "command": " ".join(sys.argv),
                    "grid": grid,
                    "batch": b,
                    "rows": rows,
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
