"""GPU benchmark of window attention at the LTX-2 reference sizes (device script).

For the three reference grids (5,824 / 14,080 / 32,640 tokens; batch 1, 32 heads x 128, bf16) and
K in {1, 2}: dense SDPA, FlexAttention with a block mask built from the window plan (compiled),
chunked SDPA (the torch fallback of ltx2_efficient.window_attention, plain and captured in a CUDA
graph) and ours through the same entry point: the CUDA kernel, the frame-batched SDPA path, and
"auto" (the faster of them for the shape). Each time is the median of many
runs timed with CUDA events, the L2 cache flushed before every run and the inputs rotated among
three sets. "ideal" is the plan's pair fraction (ltx2_efficient._core.WindowPlan) x the dense
time. Also: the far field with p = 4, the 8-bit far field, and spatial freeze when the glue has it.

    python bench/attention.py [--json PATH] [--quick] [--reps N]

Prints a table last; --json writes every number with the device name, date and command.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

import torch

SIZES = [(13, 16, 28), (16, 22, 40), (16, 34, 60)]
HEADS = 32
HEAD_DIM = 128
DTYPE = torch.bfloat16


class Timer:
    """Median time of fn(inputs[i % n]) over reps, with an L2 flush before each run."""

    def __init__(self, reps: int, warmup: int) -> None:
        self.reps = reps
        self.warmup = warmup
        # Larger than the L2 of any current card (H100: 50 MB, H200: 60 MB).
        self.flush_buffer = torch.empty(256 << 20, dtype=torch.uint8, device="cuda")

    def __call__(self, fn: Callable[[Any], Any], inputs: list[Any]) -> float:
        for i in range(self.warmup):
            fn(inputs[i % len(inputs)])
        torch.cuda.synchronize()
        starts = [torch.cuda.Event(enable_timing=True) for _ in range(self.reps)]
        ends = [torch.cuda.Event(enable_timing=True) for _ in range(self.reps)]
        for i in range(self.reps):
            self.flush_buffer.zero_()  # also keeps the GPU busy while the next call is enqueued
            starts[i].record()
            fn(inputs[i % len(inputs)])
            ends[i].record()
        torch.cuda.synchronize()
        return statistics.median(s.elapsed_time(e) for s, e in zip(starts, ends, strict=True))


def make_inputs(grid: tuple[int, int, int], sets: int = 3) -> list[tuple[torch.Tensor, ...]]:
    f, h, w = grid
    t = f * h * w
    gen = torch.Generator(device="cuda")
    gen.manual_seed(1234 + t)
    return [
        tuple(torch.randn(1, HEADS, t, HEAD_DIM, generator=gen, device="cuda", dtype=DTYPE) for _ in range(3))
        for _ in range(sets)
    ]


def pair_fraction(grid: tuple[int, int, int], window: int, anchor: bool = False, far_field: int = 0) -> float:
    from ltx2_efficient import _core

    plan = _core.WindowPlan(_core.LatentShape(*grid), 0, _core.WindowSpec(window, anchor, far_field))
    return plan.pairs().total_fraction


def window_call(grid: tuple[int, int, int], window: int, backend: str, **knobs: Any) -> Callable[[Any], Any]:
    import ltx2_efficient

    def call(qkv: tuple[torch.Tensor, ...]) -> torch.Tensor:
        return ltx2_efficient.window_attention(*qkv, grid=grid, window=window, backend=backend, **knobs)

    return call


def freeze_call(grid: tuple[int, int, int], window: int, refresh: bool) -> Callable[[Any], Any]:
    """One spatial-freeze attention call: a refresh step (own frame + other frames + merge) or a
    frozen step (other frames + merge, the own-frame partial taken from the cache)."""
    from ltx2_efficient.torch_glue.spatial_freeze import SpatialFreeze

    freeze = SpatialFreeze()

    def call(qkv: tuple[torch.Tensor, ...]) -> torch.Tensor:
        freeze.begin_step(refresh=refresh)
        return freeze.attention("layer", *qkv, grid=grid, window=window)

    freeze.begin_step(refresh=True)
    return call


def last_backend() -> str:
    from ltx2_efficient.torch_glue import attention as glue

    return glue.last_backend()


def subset_backend(grid: tuple[int, int, int]) -> str:
    """Which backend serves the key subsets of spatial freeze for CUDA tensors here."""
    from ltx2_efficient.torch_glue.attention import window_attention_subset
    from ltx2_efficient.torch_glue.attention_call import AttentionCall

    t = grid[0] * grid[1] * grid[2]
    x = torch.randn(1, 1, t, HEAD_DIM, device="cuda", dtype=DTYPE)
    window_attention_subset(x, x, x, AttentionCall(grid, 1), subset="other_frames")
    return last_backend()


def batched_counts() -> tuple[int, int]:
    """Batches the in-place cuDNN graph path has executed and declined so far."""
    from ltx2_efficient.torch_glue import cudnn_graph

    status = cudnn_graph.status()
    return status["executed"], status["declined_calls"]


def batched_how(before: tuple[int, int]) -> str:
    """How the frame-batched path ran its batches since ``before`` (``batched_counts()``): in
    place through cuDNN's graph API, or through ATen's ops and a copy."""
    from ltx2_efficient.torch_glue import cudnn_graph

    executed, declined = (now - then for now, then in zip(batched_counts(), before, strict=True))
    if executed == 0:
        return f"ATen ops + copy ({cudnn_graph.status()['module_error'] or 'cuDNN graph declined'})"
    return f"in place (cuDNN graph), {declined} batches declined"


def without_cudnn_graph(fn: Callable[..., float], *args: Any) -> float:
    """fn(*args) with the in-place cuDNN graph path switched off."""
    from ltx2_efficient.torch_glue import cudnn_graph

    with cudnn_graph.turned_off():
        return fn(*args)


def graph_call(fn: Callable[[Any], Any], inputs: list[Any]) -> tuple[Callable[[Any], Any], list[Any]]:
    """Capture fn once per input set in a CUDA graph; returns a replayer and the graph handles."""
    graphs = []
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for _ in range(2):
            for x in inputs:
                fn(x)  # warm up outside the capture (allocator, lazy init)
    torch.cuda.current_stream().wait_stream(stream)
    for x in inputs:
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g):
            fn(x)
        graphs.append(g)
    return (lambda g: g.replay()), graphs


def flex_call(grid: tuple[int, int, int], window: int) -> Callable[[Any], Any]:
    from torch.nn.attention.flex_attention import create_block_mask, flex_attention

    f, h, w = grid
    hw = h * w
    t = f * hw
    size = min(f, 2 * window + 1)

    def mask_mod(b: Any, head: Any, q_idx: Any, kv_idx: Any) -> Any:
        qf = q_idx // hw
        begin = torch.clamp(qf - window, min=0, max=f - size)
        kf = kv_idx // hw
        return (kf >= begin) & (kf < begin + size)

    block_mask = create_block_mask(mask_mod, B=None, H=None, Q_LEN=t, KV_LEN=t, device="cuda")
    compiled = torch.compile(flex_attention, dynamic=False)

    def call(qkv: tuple[torch.Tensor, ...]) -> torch.Tensor:
        return compiled(*qkv, block_mask=block_mask)

    return call


def dense_call(qkv: tuple[torch.Tensor, ...]) -> torch.Tensor:
    return torch.nn.functional.scaled_dot_product_attention(*qkv)


class Bench:
    """The rows so far (printed as they come, rewritten to ``--json`` after each), the timer and
    the deadline past which methods are skipped."""

    def __init__(self, args: argparse.Namespace, timer: Timer, meta: dict[str, Any], began: float) -> None:
        self.args = args
        self.timer = timer
        self.meta = meta
        self.began = began
        self.rows: list[dict[str, Any]] = []

    def late(self) -> bool:
        return bool(self.args.deadline) and time.monotonic() - self.began > self.args.deadline

    def save(self) -> None:
        if self.args.json:
            with open(self.args.json, "w") as fh:
                json.dump({**self.meta, "rows": self.rows}, fh, indent=1)

    def add(
        self,
        grid: tuple[int, int, int],
        label: str,
        method: str,
        ms: float | None,
        dense_ms: float,
        ideal_ms: float | None,
        note: str = "",
    ) -> None:
        row = {
            "grid": "x".join(map(str, grid)),
            "tokens": grid[0] * grid[1] * grid[2],
            "config": label,
            "method": method,
            "ms": ms,
            "speedup_vs_dense": (dense_ms / ms) if ms else None,
            "ratio_to_ideal": (ms / ideal_ms) if (ms and ideal_ms) else None,
            "note": note,
        }
        self.rows.append(row)
        self.save()
        shown = "n/a" if ms is None else f"{ms:.3f} ms"
        print(
            f"  [{time.monotonic() - self.began:5.0f}s] {row['grid']:>9} {label:<10} {method:<22} {shown:>11} {note}",
            flush=True,
        )

    def attempt(self, fn: Callable[..., float], *fn_args: Any) -> tuple[float | None, str]:
        if self.late():
            return None, "skipped: past the deadline"
        try:
            return fn(*fn_args), ""
        except Exception as exc:  # a method that cannot run is reported, not fatal
            traceback.print_exc()
            return None, f"failed: {type(exc).__name__}: {str(exc)[:120]}"

    def graphed(self, fn: Callable[[Any], Any], inputs: list[Any]) -> float:
        replay, graphs = graph_call(fn, inputs)
        return self.timer(replay, graphs)

    def flex(self, grid: tuple[int, int, int], window: int, inputs: list[Any]) -> float:
        return self.timer(flex_call(grid, window), inputs)


def main() -> int:
    args = _parser().parse_args()
    if not torch.cuda.is_available():
        print("no CUDA device", file=sys.stderr)
        return 2
    began = time.monotonic()
    torch.backends.cuda.matmul.allow_tf32 = False
    device_name = torch.cuda.get_device_name()
    timer = Timer(args.reps, warmup=5)
    sizes = SIZES[:1] if args.quick else SIZES
    meta = {
        "device": device_name,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join([os.path.basename(sys.executable), *sys.argv]),
        "torch": torch.__version__,
        "reps": args.reps,
        "kernel_override": os.environ.get("LTX2EFF_CUDA_ATTENTION_KERNEL", "auto"),
    }
    bench = Bench(args, timer, meta, began)
    # Phase 1: dense and ours at every size (the numbers the targets are about), far field.
    dense = _time_dense_and_ours(bench, sizes)
    # Phase 2: the torch fallback (chunked SDPA), plain and as a CUDA graph.
    # Phase 3: FlexAttention (compiled). Phase 4: spatial freeze.
    phases = []
    if not args.ours_only:
        phases.append("chunked")
        if not args.no_flex:
            phases.append("flex")
        phases.append("freeze")
    for phase in phases:
        _time_other_methods(bench, phase, sizes, dense)
    _print_table(bench.rows, device_name, meta["kernel_override"])
    bench.save()
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", help="write all results here (rewritten after every row)")
    parser.add_argument("--reps", type=int, default=40)
    parser.add_argument("--quick", action="store_true", help="smallest size only")
    parser.add_argument("--no-flex", action="store_true", help="skip FlexAttention (its compile is slow)")
    parser.add_argument("--ours-only", action="store_true", help="time dense SDPA and ours only")
    parser.add_argument(
        "--deadline", type=float, default=0.0, help="seconds; later phases are skipped past it (0 = none)"
    )
    return parser


def _time_dense_and_ours(
    bench: Bench, sizes: list[tuple[int, int, int]]
) -> dict[tuple[int, int, int], float]:
    """Dense SDPA, then ours (each backend, K = 1 and 2, and the far field) at every size;
    returns the dense times of the sizes reached before the deadline."""
    dense: dict[tuple[int, int, int], float] = {}
    for grid in sizes:
        if bench.late():
            break
        inputs = make_inputs(grid)
        dense_ms = bench.timer(dense_call, inputs)
        dense[grid] = dense_ms
        bench.add(grid, "dense", "dense SDPA", dense_ms, dense_ms, None)
        for window in (1, 2):
            _time_ours(bench, grid, window, inputs, dense_ms)
        _time_far_field(bench, grid, inputs, dense_ms)
        del inputs
        torch.cuda.empty_cache()
    return dense


def _time_ours(
    bench: Bench, grid: tuple[int, int, int], window: int, inputs: list[Any], dense_ms: float
) -> None:
    """The plan's ideal, then ours through each backend: the CUDA kernel, frame-batched (cuDNN
    graph and ATen) and auto."""
    timer = bench.timer
    frac = pair_fraction(grid, window)
    ideal = frac * dense_ms
    bench.add(grid, f"K={window}", "ideal", ideal, dense_ms, ideal, f"pair fraction {frac:.4f}")
    ms, note = bench.attempt(timer, window_call(grid, window, "cuda"), inputs)
    if ms is not None and last_backend() != "cuda":
        ms, note = None, f"ran on {last_backend()}, not cuda"
    bench.add(grid, f"K={window}", "ours (cuda)", ms, dense_ms, ideal, note)
    before = batched_counts()
    ms, note = bench.attempt(timer, window_call(grid, window, "batched"), inputs)
    bench.add(grid, f"K={window}", "ours (batched)", ms, dense_ms, ideal, note or batched_how(before))
    # The same path with ATen's ops and a copy per batch (no cuDNN graph API).
    ms, note = bench.attempt(without_cudnn_graph, timer, window_call(grid, window, "batched"), inputs)
    bench.add(grid, f"K={window}", "ours (batched, ATen)", ms, dense_ms, ideal, note)
    # What users get: the engine's choice for this shape (kernel, frame-batched or chunked
    # SDPA; timed once on the first call).
    ms, note = bench.attempt(timer, window_call(grid, window, "auto"), inputs)
    bench.add(grid, f"K={window}", "ours (auto)", ms, dense_ms, ideal, note or f"took {last_backend()}")


def _time_far_field(bench: Bench, grid: tuple[int, int, int], inputs: list[Any], dense_ms: float) -> None:
    """Ours with K = 1 and the far field p = 4, in bf16 and 8-bit."""
    frac = pair_fraction(grid, 1, far_field=4)
    for precision, method in (("auto", "ours far p=4"), ("fp8-far-field", "ours far p=4 8-bit")):
        ms, note = bench.attempt(
            bench.timer, window_call(grid, 1, "cuda", far_field=4, precision=precision), inputs
        )
        bench.add(grid, "K=1 p=4", method, ms, dense_ms, frac * dense_ms, note or f"pair fraction {frac:.4f}")


def _time_other_methods(
    bench: Bench, phase: str, sizes: list[tuple[int, int, int]], dense: dict[tuple[int, int, int], float]
) -> None:
    """One later phase ("chunked", "flex" or "freeze") at the sizes phase 1 reached."""
    for grid in sizes:
        if bench.late() or grid not in dense:
            break
        inputs = make_inputs(grid)
        dense_ms = dense[grid]
        for window in (1, 2) if phase != "freeze" else (1,):
            ideal = pair_fraction(grid, window) * dense_ms
            if phase == "chunked":
                _time_chunked(bench, grid, window, inputs, dense_ms, ideal)
            elif phase == "flex":
                ms, note = bench.attempt(bench.flex, grid, window, inputs)
                bench.add(grid, f"K={window}", "FlexAttention", ms, dense_ms, ideal, note)
            else:
                _time_freeze(bench, grid, window, inputs, dense_ms, ideal)
        del inputs
        torch.cuda.empty_cache()


def _time_chunked(
    bench: Bench, grid: tuple[int, int, int], window: int, inputs: list[Any], dense_ms: float, ideal: float
) -> None:
    """The torch fallback (chunked SDPA), plain and captured in a CUDA graph."""
    label = f"K={window}"
    chunked = window_call(grid, window, "torch")
    ms, note = bench.attempt(bench.timer, chunked, inputs)
    bench.add(grid, label, "chunked SDPA", ms, dense_ms, ideal, note)
    ms, note = bench.attempt(bench.graphed, chunked, inputs)
    bench.add(grid, label, "chunked SDPA (graph)", ms, dense_ms, ideal, note)


def _time_freeze(
    bench: Bench, grid: tuple[int, int, int], window: int, inputs: list[Any], dense_ms: float, ideal: float
) -> None:
    """Spatial freeze: a refresh step and a frozen step."""
    label = f"K={window}"
    backend = subset_backend(grid)
    for refresh, method in ((True, "freeze refresh step"), (False, "freeze frozen step")):
        ms, note = bench.attempt(bench.timer, freeze_call(grid, window, refresh), inputs)
        bench.add(
            grid,
            label + " freeze",
            method,
            ms,
            dense_ms,
            ideal,
            note or f"key subsets on {backend}",
        )


def _print_table(rows: list[dict[str, Any]], device_name: str, kernel_override: str) -> None:
    print()
    print(f"device: {device_name}; kernel override: {kernel_override}")
    print(f"{'grid':>9} {'config':<10} {'method':<22} {'ms':>9} {'vs dense':>9} {'/ideal':>7}")
    for r in rows:
        ms = "n/a" if r["ms"] is None else f"{r['ms']:.3f}"
        sp = "" if r["speedup_vs_dense"] is None else f"{r['speedup_vs_dense']:.2f}x"
        ideal = "" if r["ratio_to_ideal"] is None else f"{r['ratio_to_ideal']:.2f}x"
        print(f"{r['grid']:>9} {r['config']:<10} {r['method']:<22} {ms:>9} {sp:>9} {ideal:>7}")


if __name__ == "__main__":
    sys.exit(main())
