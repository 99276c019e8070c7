"""End-to-end benchmark: complete LTX-2 sampling runs at full model size, dense vs presets.

Builds ltx-core's ``LTXModel`` at the real LTX-2 19B audio-video configuration (48 blocks,
32 x 128 video heads, 32 x 64 audio heads, FF x4) with random bf16 weights on the GPU and runs
complete sampling loops (30 steps, CFG, same seed) through ``efficient_denoise``: the dense
baseline (preset ``off``, which is ltx-core's plain Euler loop), each preset, each preset's reuse
schedule (``<preset>-schedule``: every step the preset may reuse is reused, as on a trained model;
random weights never settle under the presets' own thresholds), and each technique alone. Per
run it reports total time, time per model call, the share of time spent in the video
self-attention modules, peak GPU memory, model calls and video token-passes, the speedup vs
dense and the cost model's predicted speedup beside it. ``--offload`` adds the low-VRAM scenario:
the transformer blocks' weights live in pinned host memory and are streamed to the GPU block by
block (the next block prefetched on a side stream), as ComfyUI does on small cards.

Runs are ordered by importance and skipped (and listed as skipped) when the time budget would be
exceeded, so a device call always ends with a complete table and JSON.

    python bench/e2e.py --out $OUT --time-budget 420
    python bench/e2e.py --tiny --steps 2 --runs 1280x704x121:dense,balanced   # CPU smoke test
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from ltx2_efficient import _core
from ltx2_efficient.hosts.ltx_core import AudioStream, efficient_denoise
from ltx2_efficient.sampler.settings import EfficientSettings

SIZES: dict[str, tuple[int, int, int]] = {
    "896x512x97": (896, 512, 97),
    "1280x704x121": (1280, 704, 121),
    "1920x1088x121": (1920, 1088, 121),
    # stage 1 of the two-stage pipelines runs at half resolution
    "640x352x121": (640, 352, 121),
    "960x544x121": (960, 544, 121),
}

# What the targets need first (1280x704 presets, 1920x1088 window), then the rest.
DEFAULT_RUNS = [
    "1280x704x121:dense,balanced-schedule,fast-schedule,balanced,fast,s4-k1-reuse,s2-k2-reuse",
    "1920x1088x121:dense,window",
    "896x512x97:dense,balanced,fast",
    "1280x704x121:stride,window,far-field,reuse,quality,laptop",
    "1920x1088x121:balanced,fast,s4-k1-reuse",
    "640x352x121:dense,balanced,fast",
    "960x544x121:dense,balanced,fast",
]
DEFAULT_OFFLOAD_RUNS = ["896x512x97:dense,balanced-schedule,fast-schedule,balanced,fast"]

FPS = 24.0
TEXT_TOKENS = 1024


# Each technique alone, with fixed values (independent of how the presets are tuned), and the
# speed-first combinations the presets were tuned away from (docs/PRESETS.md), for reference.
TECHNIQUES: dict[str, dict[str, Any]] = {
    "stride": {"frame_stride": 2, "refine_steps": 3, "refine_strength": 0.35, "interpolation": "motion"},
    "window": {"window": 2, "anchor_frame": True},
    "window-k1": {"window": 1, "anchor_frame": True},
    "window-k1-noanchor": {"window": 1},
    "far-field": {"window": 1, "anchor_frame": True, "far_field": 4},
    "reuse": {"reuse_start": 0.2, "reuse_threshold": 0.1, "max_consecutive_reuse": 2},
    # Per-call costs of the step schedule's call kinds: every step on the keyframes (stride 2, 3,
    # 4; interpolated at the end, no refine), and the bottleneck and late window as scheduled.
    "keyframes-s2": {"frame_stride": 2, "interpolation": "lerp"},
    "keyframes-s3": {"frame_stride": 3, "interpolation": "lerp"},
    "keyframes-s4": {"frame_stride": 4, "interpolation": "lerp"},
    "bottleneck-s3": {
        "frame_stride": 3,
        "keyframe_mode": "bottleneck",
        "keyframe_start": 0.2,
        "keyframe_end": 0.8,
        "interpolation": "motion",
    },
    "window-k1-late": {"window": 1, "anchor_frame": True, "window_start": 0.5},
    "s2-k2-reuse": {
        "frame_stride": 2,
        "refine_steps": 3,
        "refine_strength": 0.35,
        "interpolation": "motion",
        "window": 2,
        "anchor_frame": True,
        "far_field": 4,
        "reuse_start": 0.3,
        "reuse_threshold": 0.08,
        "max_consecutive_reuse": 2,
    },
    "s4-k1-reuse": {
        "frame_stride": 4,
        "refine_steps": 2,
        "refine_strength": 0.3,
        "interpolation": "motion",
        "window": 1,
        "anchor_frame": True,
        "far_field": 4,
        "reuse_start": 0.2,
        "reuse_threshold": 0.15,
        "max_consecutive_reuse": 3,
    },
}


# "<preset>-schedule" runs a preset with its reuse threshold at the policy's upper bound, so that
# every step its start and cap allow is reused: the schedule a trained model reaches (the demo
# model's measured model-call ratios match it) and the cost model's forecast. Random weights never
# settle under the preset's own threshold, so the plain preset runs at dense speed here.
SCHEDULE_SUFFIX = "-schedule"
REUSE_THRESHOLD_BOUND = 10.0  # the largest reuse_threshold the core accepts


def config_settings(name: str) -> EfficientSettings:
    """Settings of a run: dense, a preset, a preset's reuse schedule, or a fixed technique
    combination (TECHNIQUES)."""
    presets = _core.preset_names()
    if name == "dense":
        return EfficientSettings.off()
    if name in presets:
        return EfficientSettings.from_preset(name)
    base = name.removesuffix(SCHEDULE_SUFFIX)
    if name.endswith(SCHEDULE_SUFFIX) and base in presets and base != "off":
        return EfficientSettings.from_preset(base, reuse_threshold=REUSE_THRESHOLD_BOUND)
    if name not in TECHNIQUES:
        choices = [*sorted(TECHNIQUES), *(f"{p}{SCHEDULE_SUFFIX}" for p in presets if p != "off")]
        raise ValueError(f"run config must be dense, a preset or one of {choices}, got {name!r}")
    return EfficientSettings.from_preset("off", **TECHNIQUES[name])


@dataclass
class Dims:
    blocks: int = 48
    heads: int = 32
    head_dim: int = 128
    audio_heads: int = 32
    audio_head_dim: int = 64
    context: int = 4096
    audio_context: int = 2048
    channels: int = 128
    audio_channels: int = 8  # x audio_mel_bins = the audio stream's 128 input channels
    audio_mel_bins: int = 16
    text_tokens: int = TEXT_TOKENS

    @staticmethod
    def tiny() -> Dims:
        return Dims(2, 2, 16, 2, 8, 32, 16, 8, 2, 4, 8)


def build_model(dims: Dims, device: torch.device, dtype: torch.dtype) -> torch.nn.Module:
    """LTXModel (audio-video) with random weights, initialised directly on the device."""
    from ltx_core.model.transformer.model import LTXModel, LTXModelType

    with torch.device("meta"):
        model = LTXModel(
            model_type=LTXModelType.AudioVideo,
            num_attention_heads=dims.heads,
            attention_head_dim=dims.head_dim,
            in_channels=dims.channels,
            out_channels=dims.channels,
            num_layers=dims.blocks,
            cross_attention_dim=dims.context,
            audio_num_attention_heads=dims.audio_heads,
            audio_attention_head_dim=dims.audio_head_dim,
            audio_in_channels=dims.audio_channels * dims.audio_mel_bins,
            audio_out_channels=dims.audio_channels * dims.audio_mel_bins,
            audio_cross_attention_dim=dims.audio_context,
        )
    model = model.to_empty(device=device)
    gen = torch.Generator(device=device).manual_seed(0)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                p.zero_()
            elif p.dim() >= 2 and "scale_shift_table" not in name:
                p.normal_(0.0, 1.0 / math.sqrt(p.shape[1]), generator=gen)
            elif "norm" in name:
                p.fill_(1.0)
            else:
                p.normal_(0.0, 0.02, generator=gen)
    return model.to(dtype).eval().requires_grad_(False)


class BlockStreamer:
    """Keeps the transformer blocks' weights in pinned host memory and streams them per block.

    Before block i runs, its weights are on the GPU (copied on a side stream, waited for by the
    compute stream); block i+1 is prefetched while block i computes; after block i the GPU copy
    is released. This is the transfer-bound regime of a small card with offloading.
    """

    def __init__(self, blocks: torch.nn.ModuleList, device: torch.device) -> None:
        self.blocks = blocks
        self.device = device
        self.host: list[dict[str, torch.Tensor]] = []
        self.params: list[dict[str, torch.nn.Parameter]] = []
        for block in blocks:
            params = dict(block.named_parameters())
            self.params.append(params)
            self.host.append({n: p.detach().to("cpu").pin_memory() for n, p in params.items()})
            for p in params.values():
                p.data = torch.empty(0, dtype=p.dtype, device=device)
        self.copy_stream = torch.cuda.Stream(device=device)
        self.ready: dict[int, torch.cuda.Event] = {}
        self.loaded: dict[int, dict[str, torch.Tensor]] = {}
        self.bytes_per_call = sum(t.numel() * t.element_size() for h in self.host for t in h.values())
        self.handles = []
        for i, block in enumerate(blocks):
            self.handles.append(block.register_forward_pre_hook(self._before(i)))
            self.handles.append(block.register_forward_hook(self._after(i)))

    def _prefetch(self, i: int) -> None:
        if i >= len(self.blocks) or i in self.loaded:
            return
        with torch.cuda.stream(self.copy_stream):
            self.loaded[i] = {n: t.to(self.device, non_blocking=True) for n, t in self.host[i].items()}
            event = torch.cuda.Event()
            event.record(self.copy_stream)
            self.ready[i] = event

    def _before(self, i: int) -> Callable[[torch.nn.Module, Any], None]:
        def hook(_module: torch.nn.Module, _args: Any) -> None:
            self._prefetch(i)
            torch.cuda.current_stream(self.device).wait_event(self.ready.pop(i))
            compute = torch.cuda.current_stream(self.device)
            for name, tensor in self.loaded[i].items():
                tensor.record_stream(compute)
                self.params[i][name].data = tensor
            self._prefetch(i + 1)

        return hook

    def _after(self, i: int) -> Callable[[torch.nn.Module, Any, Any], None]:
        def hook(_module: torch.nn.Module, _args: Any, _out: Any) -> None:
            for p in self.params[i].values():
                p.data = torch.empty(0, dtype=p.dtype, device=self.device)
            self.loaded.pop(i, None)

        return hook

    def remove(self) -> None:
        for h in self.handles:
            h.remove()
        for params, host in zip(self.params, self.host, strict=True):
            for name, p in params.items():
                p.data = host[name].to(self.device)


class AttentionTimer:
    """Sums the time spent in the video self-attention modules (attn1) with CUDA events."""

    def __init__(self, model: torch.nn.Module, enabled: bool) -> None:
        self.enabled = enabled
        self.pairs: list[tuple[torch.cuda.Event, torch.cuda.Event]] = []
        self.handles = []
        if not enabled:
            return
        for block in model.transformer_blocks:
            self.handles.append(block.attn1.register_forward_pre_hook(self._start))
            self.handles.append(block.attn1.register_forward_hook(self._stop))

    def _start(self, _m: torch.nn.Module, _a: Any) -> None:
        start = torch.cuda.Event(enable_timing=True)
        start.record()
        self.pairs.append((start, start))

    def _stop(self, _m: torch.nn.Module, _a: Any, _o: Any) -> None:
        end = torch.cuda.Event(enable_timing=True)
        end.record()
        self.pairs[-1] = (self.pairs[-1][0], end)

    def seconds(self) -> float:
        if not self.enabled:
            return float("nan")
        torch.cuda.synchronize()
        return sum(s.elapsed_time(e) for s, e in self.pairs) / 1000.0

    def remove(self) -> None:
        for h in self.handles:
            h.remove()


@dataclass
class RunResult:
    size: str
    config: str
    offload: bool
    status: str = "ok"  # ok | skipped | failed
    seconds: float = float("nan")
    model_calls: int = 0
    seconds_per_call: float = float("nan")
    attention_share: float = float("nan")
    peak_gib: float = float("nan")
    token_passes: float = 0.0
    pair_fraction: float = float("nan")
    steps_reused: str = ""
    frames: str = ""
    speedup: float = float("nan")
    predicted_speedup: float = float("nan")
    log_line: str = ""
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def make_inputs(
    size: tuple[int, int, int], dims: Dims, device: torch.device, dtype: torch.dtype, seed: int
) -> dict[str, Any]:
    width, height, frames = size
    latent = _core.latent_from_pixels(_core.PixelShape(width, height, frames, FPS))
    gen = torch.Generator(device=device).manual_seed(seed)

    def randn(*shape: int) -> torch.Tensor:
        return torch.randn(shape, generator=gen, device=device, dtype=torch.float32).to(dtype)

    audio_frames = max(1, round(frames / FPS * 25))  # the audio latent runs at 25 per second
    return {
        "video": randn(1, dims.channels, latent.frames, latent.height, latent.width),
        "context": randn(1, dims.text_tokens, dims.context),
        "negative": randn(1, dims.text_tokens, dims.context),
        "audio": AudioStream(
            latent=randn(1, dims.audio_channels, audio_frames, dims.audio_mel_bins),
            context=randn(1, dims.text_tokens, dims.audio_context),
            negative_context=randn(1, dims.text_tokens, dims.audio_context),
        ),
        "pixels": _core.PixelShape(width, height, frames, FPS),
    }


def schedule(steps: int, latent: torch.Tensor) -> torch.Tensor:
    from ltx_core.components.schedulers import LTX2Scheduler

    return LTX2Scheduler().execute(steps=steps, latent=latent)


def predicted_speedup(
    pixels: Any, settings: EfficientSettings, steps: int, dims: Dims, reused_steps: int = -1, cfg: float = 3.0
) -> float:
    """The cost model's speedup; ``reused_steps`` = the run's measured count (-1: the policy's bound)."""
    mdims = _core.ModelDims()
    mdims.blocks, mdims.heads, mdims.head_dim = dims.blocks, dims.heads, dims.head_dim
    mdims.text_tokens, mdims.context_dim, mdims.in_channels = dims.text_tokens, dims.context, dims.channels
    spec = _core.SamplingSpec(steps, 2 if cfg != 1.0 else 1, 1, 0, reused_steps)
    plan = _core.make_plan(pixels, settings.knobs, spec, mdims)
    return float(plan.predicted_speedup)


@contextmanager
def cuda_peak(device: torch.device) -> Iterator[dict[str, float]]:
    out: dict[str, float] = {}
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
    yield out
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        out["peak"] = torch.cuda.max_memory_allocated(device) / 2**30


def run_one(
    model: torch.nn.Module,
    size_name: str,
    config: str,
    args: argparse.Namespace,
    dims: Dims,
    device: torch.device,
    offload: bool,
) -> RunResult:
    result = RunResult(size_name, config, offload)
    settings = config_settings(config)
    inputs = make_inputs(SIZES[size_name], dims, device, args.dtype, args.seed)
    sigmas = schedule(args.steps, inputs["video"])
    timer = AttentionTimer(model, device.type == "cuda")
    try:
        with cuda_peak(device) as peak:
            start = time.perf_counter()
            out = efficient_denoise(
                model,
                inputs["video"],
                sigmas,
                inputs["context"],
                settings,
                FPS,
                negative_context=inputs["negative"],
                cfg_scale=args.cfg,
                audio=inputs["audio"],
                generator=torch.Generator(device=device).manual_seed(args.seed + 1),
            )
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            result.seconds = time.perf_counter() - start
        attention_seconds = timer.seconds()
    finally:
        timer.remove()
    report = out.report
    if not torch.isfinite(out.video.float()).all():
        result.note = "non-finite output"
    result.model_calls = report.model_calls
    result.seconds_per_call = result.seconds / max(1, report.model_calls)
    result.attention_share = attention_seconds / result.seconds
    result.peak_gib = peak.get("peak", float("nan"))
    result.token_passes = report.token_passes
    result.pair_fraction = report.pair_fraction
    result.steps_reused = " ".join(f"{m}:{s.reused}/{s.steps}" for m, s in report.reuse.items())
    result.frames = f"{report.diffused_frames}/{report.full_frames}"
    result.log_line = report.log_line()
    result.extra["settings"] = settings.describe()
    result.extra["knobs"] = settings.to_dict()  # what ran, whatever the presets say later
    # The model checked on what ran (the measured reuse), and its forecast (the reuse bound).
    reused = report.steps_reused("video")
    result.predicted_speedup = predicted_speedup(
        inputs["pixels"], settings, args.steps, dims, reused, args.cfg
    )
    result.extra["forecast_speedup"] = predicted_speedup(
        inputs["pixels"], settings, args.steps, dims, cfg=args.cfg
    )
    result.extra["schedule"] = report.schedule
    return result


def parse_runs(specs: list[str]) -> list[tuple[str, str]]:
    runs: list[tuple[str, str]] = []
    for spec in specs:
        size, _, configs = spec.partition(":")
        if size not in SIZES:
            raise ValueError(f"size must be one of {sorted(SIZES)}, got {size!r}")
        for config in configs.split(","):
            config_settings(config)  # validates the name
            runs.append((size, config))
    return runs


def table(results: list[RunResult], device_name: str) -> str:
    head = (
        "| size | run | offload | time s | calls | s/call | attn1 share | peak GiB | frames | reused "
        "| pair frac | speedup | predicted |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
    )
    rows = []
    for r in results:
        if r.status != "ok":
            rows.append(f"| {r.size} | {r.config} | {r.offload} | {r.status}: {r.note} |" + " |" * 9)
            continue
        rows.append(
            f"| {r.size} | {r.config} | {'yes' if r.offload else 'no'} | {r.seconds:.1f} | {r.model_calls} "
            f"| {r.seconds_per_call:.3f} | {r.attention_share:.0%} | {r.peak_gib:.1f} | {r.frames} "
            f"| {r.steps_reused} | {r.pair_fraction:.3f} | {r.speedup:.2f}x | {r.predicted_speedup:.2f}x |"
        )
    return f"Device: {device_name}\n\n" + head + "\n".join(rows) + "\n"


def cudnn_graph_status() -> dict[str, object]:
    """What the frame-batched attention's in-place cuDNN graphs did in this process."""
    from ltx2_efficient.torch_glue import cudnn_graph

    status = cudnn_graph.status()
    status["declined"] = sorted(set(status["declined"].values()))
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", nargs="*", default=None, help="SIZE:cfg,cfg ... (default: the full plan)")
    parser.add_argument("--offload", nargs="*", default=None, help="SIZE:cfg,... runs with streamed weights")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--cfg", type=float, default=3.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--time-budget", type=float, default=float("inf"), help="seconds for all runs")
    parser.add_argument("--out", type=Path, default=Path("build/e2e"))
    parser.add_argument("--tiny", action="store_true", help="a 2-block model on the CPU (smoke test)")
    parser.add_argument(
        "--reference",
        type=Path,
        default=None,
        help="e2e.json of an earlier run on the same card type: its dense times serve as the baselines",
    )
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error(f"--steps must be >= 1, got {args.steps}")

    device = torch.device("cpu" if args.tiny or not torch.cuda.is_available() else "cuda")
    args.dtype = torch.float32 if device.type == "cpu" else torch.bfloat16
    dims = Dims.tiny() if args.tiny else Dims()
    runs = parse_runs(args.runs if args.runs is not None else DEFAULT_RUNS)
    offload_runs = parse_runs(
        args.offload if args.offload is not None else ([] if args.tiny else DEFAULT_OFFLOAD_RUNS)
    )
    device_name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()

    t0 = time.perf_counter()
    model = build_model(dims, device, args.dtype)
    build_seconds = time.perf_counter() - t0
    print(
        f"model: {sum(p.numel() for p in model.parameters()) / 1e9:.2f} B parameters on {device_name}, "
        f"built in {build_seconds:.1f} s; attention: {_core.cuda_status()}",
        flush=True,
    )

    # Warm up kernels and the allocator on the smallest request.
    run_one(
        model, "640x352x121", "dense", argparse.Namespace(**{**vars(args), "steps": 1}), dims, device, False
    )

    results: list[RunResult] = []
    dense_seconds: dict[tuple[str, bool], float] = {}
    if args.reference is not None:
        earlier = json.loads(args.reference.read_text())
        if earlier.get("device") != device_name:
            parser.error(f"--reference ran on {earlier.get('device')!r}, this is {device_name!r}")
        for r in earlier["results"]:
            if r["config"] == "dense" and r["status"] == "ok":
                dense_seconds[(r["size"], bool(r["offload"]))] = float(r["seconds"])
                results.append(RunResult(**{**r, "note": f"from {args.reference.name}"}))

    def write() -> None:
        data = {
            "device": device_name,
            "date": time.strftime("%Y-%m-%d"),
            "command": " ".join(sys.argv),
            "steps": args.steps,
            "cfg": args.cfg,
            "build_seconds": build_seconds,
            "attention_backend": _core.cuda_status(),
            "cudnn_graph": cudnn_graph_status(),
            "results": [asdict(r) for r in results],
        }
        (args.out / "e2e.json").write_text(json.dumps(data, indent=1))
        (args.out / "e2e.md").write_text(table(results, device_name))

    def execute(size: str, config: str, offload: bool) -> None:
        elapsed = time.perf_counter() - started
        dense = dense_seconds.get((size, offload))
        settings = config_settings(config)
        expected = (
            dense
            / predicted_speedup(
                make_inputs(SIZES[size], dims, torch.device("cpu"), torch.float32, 0)["pixels"],
                settings,
                args.steps,
                dims,
            )
            if dense is not None
            else None
        )
        if expected is not None and elapsed + expected > args.time_budget:
            results.append(
                RunResult(size, config, offload, status="skipped", note=f"~{expected:.0f} s over budget")
            )
            return
        if expected is None and config != "dense" and not args.tiny:
            results.append(RunResult(size, config, offload, status="skipped", note="no dense run to compare"))
            return
        try:
            r = run_one(model, size, config, args, dims, device, offload)
        except Exception as exc:  # a failed run must not lose the other results
            results.append(
                RunResult(size, config, offload, status="failed", note=f"{type(exc).__name__}: {exc}")
            )
            print(f"{size} {config}: FAILED {exc}", flush=True)
            return
        if config == "dense":
            dense_seconds[(size, offload)] = r.seconds
        base = dense_seconds.get((size, offload))
        r.speedup = base / r.seconds if base else float("nan")
        results.append(r)
        print(
            f"{size} {config}{' offload' if offload else ''}: {r.seconds:.1f} s, {r.speedup:.2f}x "
            f"(predicted {r.predicted_speedup:.2f}x) | {r.log_line}",
            flush=True,
        )
        write()

    for size, config in runs:
        execute(size, config, False)
    if offload_runs and device.type == "cuda":
        streamer = BlockStreamer(model.transformer_blocks, device)
        print(
            f"offload: streaming {streamer.bytes_per_call / 2**30:.1f} GiB of block weights per call",
            flush=True,
        )
        try:
            for size, config in offload_runs:
                execute(size, config, True)
        finally:
            streamer.remove()
    write()
    print()
    print(table(results, device_name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
