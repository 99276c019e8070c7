"""CPU micro-benchmark of the attention engine at a small size.

    python bench/attention_cpu.py [--grid 8 16 16] [--heads 8] [--head-dim 64] [--dtype float32]
                                  [--window 1] [--repeats 7] [--json PATH] [--per-isa]

Rows: torch CPU SDPA dense, our CPU kernel dense, our CPU kernel with window K, the torch
fallback (chunked SDPA) with window K, and a frozen step of spatial freeze with window K (the
cross-frame part plus the LSE merge; the intra-frame part comes from the cache). Columns: median
time over interleaved rounds (every row once per round, 50 ms apart so that torch's spinning
OpenMP workers are asleep when the next row starts), speedup vs dense SDPA, and the ratio to the ideal = exact pair fraction of the window x the
dense SDPA time. Every implementation runs with the same number of threads (the C++ kernels'
LTX2EFF_NUM_THREADS / hardware concurrency; torch.set_num_threads to match).

--per-isa adds a single-thread table: CPU time of our kernel (dense and K) with each instruction
set this CPU supports (LTX2EFF_CPU_ISA), and of torch SDPA dense on one thread, in GFLOP/s of
computed pairs (4 * D flops per query-key pair). CPU time depends less on other jobs than wall
time on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from ltx2_efficient import _core
from ltx2_efficient.torch_glue import attention as glue
from ltx2_efficient.torch_glue.spatial_freeze import SpatialFreeze

_SETTLE_S = 0.05
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return platform.processor() or "unknown CPU"


def interleaved_medians(fns: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median time (ms) of each function over `repeats` rounds that run every function once, so
    that a change of machine load touches every row alike."""
    for fn in fns.values():
        fn()  # warm-up (allocations, thread start)
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            # torch's OpenMP workers spin for a while after each parallel region and would steal
            # the cores from the next row's threads: let them go to sleep first.
            time.sleep(_SETTLE_S)
            start = time.perf_counter()
            fn()
            samples[name].append((time.perf_counter() - start) * 1e3)
    return {name: statistics.median(values) for name, values in samples.items()}


def load_average() -> str:
    try:
        with open("/proc/loadavg", encoding="utf-8") as fh:
            return fh.read().split()[0]
    except OSError:
        return "n/a"


def median_thread_ms(fn: Callable[[], object], repeats: int) -> float:
    """Median CPU time (ms) of the calling thread: the kernels run on it with one thread."""
    fn()
    samples = []
    for _ in range(repeats):
        start = time.thread_time()
        fn()
        samples.append((time.thread_time() - start) * 1e3)
    return statistics.median(samples)


def per_isa_table(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    grid: tuple[int, ...],
    window: int,
    pair_fraction: float,
    repeats: int,
) -> None:
    saved = {name: os.environ.get(name) for name in ("LTX2EFF_NUM_THREADS", "LTX2EFF_CPU_ISA")}
    threads = torch.get_num_threads()
    b, heads, tokens, d = q.shape
    dense_flops = 4.0 * b * heads * tokens * tokens * d

    def gflops(ms: float, fraction: float) -> float:
        return dense_flops * fraction / (ms * 1e6)

    try:
        os.environ["LTX2EFF_NUM_THREADS"] = "1"
        torch.set_num_threads(1)
        print(f"\nsingle thread, CPU time, median of {repeats}")
        print(f"| implementation | dense | K={window} |")
        print("|---|---|---|")
        sdpa = median_thread_ms(lambda: F.scaled_dot_product_attention(q, k, v), repeats)
        print(f"| torch SDPA | {sdpa:.1f} ms, {gflops(sdpa, 1.0):.1f} GFLOP/s | - |")
        for isa in _core.cpu_attention_isas():
            os.environ["LTX2EFF_CPU_ISA"] = isa
            dense = median_thread_ms(
                lambda: glue.window_attention(q, k, v, grid=grid, window=-1, backend="cpu"), repeats
            )
            windowed = median_thread_ms(
                lambda: glue.window_attention(q, k, v, grid=grid, window=window, backend="cpu"), repeats
            )
            print(
                f"| ours, {isa} | {dense:.1f} ms, {gflops(dense, 1.0):.1f} GFLOP/s | "
                f"{windowed:.1f} ms, {gflops(windowed, pair_fraction):.1f} GFLOP/s |"
            )
    finally:
        torch.set_num_threads(threads)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--grid", type=int, nargs=3, default=[8, 16, 16], metavar=("F", "H", "W"))
    parser.add_argument("--heads", type=int, default=8)
    parser.add_argument("--head-dim", type=int, default=64)
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="float32")
    parser.add_argument("--window", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--json", help="also write the rows to this JSON file")
    parser.add_argument("--per-isa", action="store_true", help="add the single-thread table per ISA")
    args = parser.parse_args()

    threads = _core.cpu_thread_count()
    torch.set_num_threads(threads)
    grid = tuple(args.grid)
    frames, height, width = grid
    tokens = frames * height * width
    gen = torch.Generator().manual_seed(0)
    dtype = DTYPES[args.dtype]
    q, k, v = (torch.randn(1, args.heads, tokens, args.head_dim, generator=gen).to(dtype) for _ in range(3))
    window = args.window
    plan = _core.WindowPlan(_core.LatentShape(*grid), 0, _core.WindowSpec(window, False, 0))
    pair_fraction = plan.pairs().exact_fraction

    freeze = SpatialFreeze()
    freeze.begin_step(refresh=True)
    freeze.attention("bench", q, k, v, grid=grid, window=window, backend="cpu")
    freeze.begin_step(refresh=False)

    rows: list[tuple[str, Callable[[], object]]] = [
        ("torch SDPA, dense", lambda: F.scaled_dot_product_attention(q, k, v)),
        (
            "ours (C++ CPU), dense",
            lambda: glue.window_attention(q, k, v, grid=grid, window=-1, backend="cpu"),
        ),
        (
            f"ours (C++ CPU), K={window}",
            lambda: glue.window_attention(q, k, v, grid=grid, window=window, backend="cpu"),
        ),
        (
            f"torch fallback (chunked SDPA), K={window}",
            lambda: glue.window_attention(q, k, v, grid=grid, window=window, backend="torch"),
        ),
        (
            f"spatial freeze, frozen step, K={window}",
            lambda: freeze.attention("bench", q, k, v, grid=grid, window=window, backend="cpu"),
        ),
    ]
    times = interleaved_medians(dict(rows), args.repeats)
    dense = times["torch SDPA, dense"]
    ideal = pair_fraction * dense

    print(
        f"CPU: {cpu_model()}; {threads} threads; kernel ISA {_core.cpu_attention_isa()}; torch {torch.__version__}"
    )
    print(
        f"shape: 1 x {args.heads} heads x {tokens} tokens ({frames}x{height}x{width}) x D {args.head_dim}, "
        f"{args.dtype}; K={window} pair fraction {pair_fraction:.3f}; median of {args.repeats} interleaved "
        f"rounds; load average {load_average()}"
    )
    header = f"| {'implementation':<40} | {'time (ms)':>9} | {'speedup vs dense':>16} | {'x ideal':>7} |"
    print(header)
    print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
    out_rows = []
    for name, _ in rows:
        t = times[name]
        ratio = t / ideal if "dense" not in name else float("nan")
        ratio_text = f"{ratio:7.2f}" if ratio == ratio else f"{'-':>7}"
        print(f"| {name:<40} | {t:9.2f} | {dense / t:15.2f}x | {ratio_text} |")
        out_rows.append({"implementation": name, "ms": t, "speedup": dense / t, "x_ideal": ratio})
    if args.per_isa:
        per_isa_table(q, k, v, grid, window, pair_fraction, args.repeats)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"cpu": cpu_model(), "threads": threads, "rows": out_rows}, fh, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
