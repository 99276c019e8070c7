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

``--memory-cap-gb N [M ...]`` runs the streamed runs under each cap (enforced with torch's
per-process memory fraction) and reports per run the peak allocated and reserved memory, what was
resident before it, the streamed weights in flight and the activations apart, and whether it fit.
``--matrix`` is the low-VRAM matrix (docs/BENCHMARKS.md, "Low VRAM"): streamed weights under
8 and 12 GiB, ``--lengths`` x (dense, window alone, each preset's schedule) x ``--regimes``, then
the longest 1280x704 clip that fits each cap.

Runs are ordered by importance and skipped (and listed as skipped) when the time budget would be
exceeded, so a device call always ends with a complete table and JSON; ``--resume`` keeps the
rows of an earlier call and runs the rest.

    python bench/e2e.py --out $OUT --time-budget 420
    python bench/e2e.py --matrix --time-budget 480 --out $OUT      # bench/device_lowvram.sh
    python bench/e2e.py --tiny --steps 2 --runs 1280x704x121:dense,balanced   # CPU smoke test
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from ltx2_efficient import _core
from ltx2_efficient.hosts.ltx_core import AudioStream, efficient_denoise
from ltx2_efficient.sampler.block_streaming import BlockStreamer
from ltx2_efficient.sampler.out_of_memory import is_out_of_memory
from ltx2_efficient.sampler.settings import EfficientSettings, regime_for

SIZES: dict[str, tuple[int, int, int]] = {
    "896x512x97": (896, 512, 97),
    "1280x704x121": (1280, 704, 121),
    "1920x1088x121": (1920, 1088, 121),
    # stage 1 of the two-stage pipelines runs at half resolution
    "640x352x121": (640, 352, 121),
    "960x544x121": (960, 544, 121),
    # long clips (the low-VRAM matrix)
    "1280x704x257": (1280, 704, 257),
    "960x544x481": (960, 544, 481),
}


def parse_size(name: str) -> tuple[int, int, int]:
    """``WIDTHxHEIGHTxFRAMES`` (a named size or any other): width and height multiples of 32,
    frames 8k + 1, as LTX-2's latent needs."""
    if name in SIZES:
        return SIZES[name]
    parts = name.split("x")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise ValueError(f"size must be WIDTHxHEIGHTxFRAMES (e.g. 1280x704x257), got {name!r}")
    width, height, frames = (int(p) for p in parts)
    if width < 32 or height < 32 or width % 32 or height % 32 or frames < 9 or (frames - 1) % 8:
        raise ValueError(
            f"size must have width and height multiples of 32 (>= 32) and frames 8k + 1 (>= 9), got {name!r}"
        )
    return width, height, frames


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
    # The dense loop under the laptop preset's activation budget (the longest-clip probes).
    "budget-2g": {"activation_budget_mb": 2048},
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
# The largest reuse_threshold the core accepts: its knob row's maximum.
REUSE_THRESHOLD_BOUND: float = next(
    row["max"] for row in _core.knob_table() if row["name"] == "reuse_threshold"
)


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
    status: str = "ok"  # ok | skipped | failed | oom
    seconds: float = float("nan")
    model_calls: int = 0
    seconds_per_call: float = float("nan")
    attention_share: float = float("nan")
    peak_gib: float = float("nan")  # peak allocated (torch.cuda.max_memory_allocated)
    steps: int = 0
    cfg: float = float("nan")
    memory_cap_gib: float = float("nan")  # the enforced cap (nan: none)
    fit: str = ""  # "fit" | "OOM" under the cap ("" when not run)
    peak_reserved_gib: float = float("nan")  # peak reserved by the caching allocator
    resident_gib: float = float("nan")  # allocated before the run: resident weights, inputs
    weights_in_flight_gib: float = float("nan")  # the most streamed block weights at once
    activations_gib: float = float("nan")  # peak - resident - weights in flight
    activation_budget_mb: int = 0
    predicted_activation_gib: float = float("nan")  # the cost model's per-block peak
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


def core_plan(
    pixels: Any, settings: EfficientSettings, steps: int, dims: Dims, reused_steps: int = -1, cfg: float = 3.0
) -> Any:
    """The core's plan of a run (cost model): ``reused_steps`` = the run's measured count (-1:
    the policy's bound)."""
    mdims = _core.ModelDims()
    mdims.blocks, mdims.heads, mdims.head_dim = dims.blocks, dims.heads, dims.head_dim
    mdims.text_tokens, mdims.context_dim, mdims.in_channels = dims.text_tokens, dims.context, dims.channels
    spec = _core.SamplingSpec(steps, 2 if cfg != 1.0 else 1, 1, 0, reused_steps)
    return _core.make_plan(pixels, settings.knobs, spec, mdims)


def predicted_speedup(
    pixels: Any, settings: EfficientSettings, steps: int, dims: Dims, reused_steps: int = -1, cfg: float = 3.0
) -> float:
    """The cost model's speedup; ``reused_steps`` = the run's measured count (-1: the policy's bound)."""
    return float(core_plan(pixels, settings, steps, dims, reused_steps, cfg).predicted_speedup)


GIB = float(2**30)


def memory_cap_fraction(cap_gib: float, total_bytes: int) -> float:
    """The per-process memory fraction that caps the process at ``cap_gib`` GiB of a GPU with
    ``total_bytes``; ValueError naming --memory-cap-gb and its range otherwise."""
    total = total_bytes / GIB
    if not isinstance(cap_gib, (int, float)) or isinstance(cap_gib, bool) or not 0 < cap_gib <= total:
        raise ValueError(
            f"--memory-cap-gb must be in (0, {total:.1f}] GiB (this GPU's memory), got {cap_gib!r}"
        )
    return float(cap_gib) / total


def apply_memory_cap(cap_gib: float, device: torch.device) -> None:
    """Enforces the cap: the caching allocator raises out of memory past it. Cached blocks are
    released first, so memory reserved before the cap does not count against it."""
    fraction = memory_cap_fraction(cap_gib, torch.cuda.get_device_properties(device).total_memory)
    torch.cuda.empty_cache()
    torch.cuda.set_per_process_memory_fraction(fraction, device)


@dataclass
class MemoryUse:
    """Device memory of one run in GiB: peaks, what was resident before it, and the parts."""

    peak_allocated: float = float("nan")
    peak_reserved: float = float("nan")
    resident: float = float("nan")
    weights_in_flight: float = float("nan")

    @property
    def activations(self) -> float:
        """What the peak holds beyond the resident memory and the streamed weights: the
        activations and the sampler's state (latents, caches) at the peak."""
        in_flight = 0.0 if math.isnan(self.weights_in_flight) else self.weights_in_flight
        return self.peak_allocated - self.resident - in_flight


@contextmanager
def cuda_memory(device: torch.device, streamer: BlockStreamer | None) -> Iterator[MemoryUse]:
    """Measures a run's memory (CUDA); weights in flight come from the streamer on any device."""
    use = MemoryUse()
    in_flight = streamer.in_flight_bytes if streamer is not None else 0  # block 0, prefetched
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        use.resident = (torch.cuda.memory_allocated(device) - in_flight) / GIB
    if streamer is not None:
        streamer.stats.peak_in_flight_bytes = in_flight
    try:
        yield use
    finally:
        if device.type == "cuda":
            torch.cuda.synchronize(device)
            use.peak_allocated = torch.cuda.max_memory_allocated(device) / GIB
            use.peak_reserved = torch.cuda.max_memory_reserved(device) / GIB
        if streamer is not None:
            use.weights_in_flight = streamer.stats.peak_in_flight_bytes / GIB


def record_memory(result: RunResult, use: MemoryUse) -> None:
    result.peak_gib = use.peak_allocated
    result.peak_reserved_gib = use.peak_reserved
    result.resident_gib = use.resident
    result.weights_in_flight_gib = use.weights_in_flight
    result.activations_gib = use.activations


def run_settings(config: str, steps: int, cfg: float) -> EfficientSettings:
    """A run's settings, presets resolved for the regime of its steps and guidance."""
    return config_settings(config).for_regime(regime_for(steps, cfg))


def run_one(
    model: torch.nn.Module,
    size_name: str,
    config: str,
    args: argparse.Namespace,
    dims: Dims,
    device: torch.device,
    offload: bool,
    streamer: BlockStreamer | None = None,
) -> RunResult:
    """One sampling run; an out-of-memory error inside it is a result (status "oom"), not a failure."""
    result = RunResult(size_name, config, offload, steps=args.steps, cfg=args.cfg)
    result.memory_cap_gib = getattr(args, "active_cap_gib", float("nan"))
    settings = run_settings(config, args.steps, args.cfg)
    result.activation_budget_mb = settings.activation_budget_mb
    inputs = make_inputs(parse_size(size_name), dims, device, args.dtype, args.seed)
    sigmas = schedule(args.steps, inputs["video"])
    plan = core_plan(inputs["pixels"], settings, args.steps, dims, cfg=args.cfg)
    result.predicted_activation_gib = float(plan.peak_activation_bytes) / GIB
    timer = AttentionTimer(model, device.type == "cuda")
    try:
        with cuda_memory(device, streamer) as memory:
            start = time.perf_counter()
            out = efficient_denoise(
                model,
                inputs["video"],
                sigmas,
                inputs["context"],
                settings,
                FPS,
                negative_context=inputs["negative"] if args.cfg != 1.0 else None,
                cfg_scale=args.cfg,
                audio=inputs["audio"],
                generator=torch.Generator(device=device).manual_seed(args.seed + 1),
            )
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            result.seconds = time.perf_counter() - start
        attention_seconds = timer.seconds()
    except Exception as exc:
        if not is_out_of_memory(exc):
            raise
        if streamer is not None:
            streamer.release_all()
        record_memory(result, memory)
        result.status, result.fit, result.note = "oom", "OOM", str(exc)
        return result
    finally:
        timer.remove()
    record_memory(result, memory)
    result.fit = "fit"
    report = out.report
    if not torch.isfinite(out.video.float()).all():
        result.note = "non-finite output"
    result.model_calls = report.model_calls
    result.seconds_per_call = result.seconds / max(1, report.model_calls)
    result.attention_share = attention_seconds / result.seconds
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
        parse_size(size)
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


def within_bound(r: RunResult) -> str:
    """Whether a budgeted run's activations (peak - resident - weights in flight) stayed within the
    budget plus the text K/V cache's quarter of it (docs/BENCHMARKS.md, "Memory bound")."""
    if r.activation_budget_mb <= 0 or math.isnan(r.activations_gib):
        return "-"
    return "yes" if r.activations_gib * 1024 <= 1.25 * r.activation_budget_mb else "NO"


def memory_table(results: list[RunResult], device_name: str, cap_enforced: bool = True) -> str:
    """The low-VRAM table: per row fit / OOM under its cap, time, speedup and the memory parts."""
    enforced = "" if cap_enforced else " (no memory cap on the CPU: fit means it ran)"
    lines = [
        f"Device: {device_name}{enforced}",
        "",
        "| cap GiB | size | run | steps x CFG | fit | time s | speedup | peak alloc GiB | peak reserved GiB "
        "| resident GiB | weights in flight GiB | activations GiB | budget MB | predicted act. GiB | within bound "
        "| note |",
        "|---:|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in results:
        note = r.note if r.status != "ok" else ""
        fit = r.fit or r.status
        lines.append(
            f"| {r.memory_cap_gib:g} | {r.size} | {r.config} | {r.steps}x{r.cfg:g} | {fit} | {r.seconds:.1f} "
            f"| {r.speedup:.2f}x | {r.peak_gib:.2f} | {r.peak_reserved_gib:.2f} | {r.resident_gib:.2f} "
            f"| {r.weights_in_flight_gib:.2f} | {r.activations_gib:.2f} | {r.activation_budget_mb} "
            f"| {r.predicted_activation_gib:.2f} | {within_bound(r)} | {note[:120]} |"
        )
    return "\n".join(lines) + "\n"


# The low-VRAM matrix (--matrix): streamed weights under each --memory-cap-gb, these lengths
# (the target first), dense vs window attention alone vs each preset, in two regimes. The presets
# run their reuse schedules (random weights never settle under their thresholds).
MATRIX_SIZES = ["1280x704x257", "1280x704x121", "960x544x481"]
MATRIX_REGIMES = ["30x3", "8x1"]  # STEPSxCFG: the dev model's guided loop, the distilled model's
MATRIX_CAPS_GIB = [8.0, 12.0]
LONGEST_WIDTH_HEIGHT = (1280, 704)
LONGEST_CONFIGS = ["dense", "budget-2g"]


def matrix_configs() -> list[str]:
    presets = [p for p in _core.preset_names() if p != "off"]
    first = [p for p in ("balanced", "fast") if p in presets]
    ordered = first + [p for p in presets if p not in first]
    return ["dense", "window-k1-noanchor", *(f"{p}{SCHEDULE_SUFFIX}" for p in ordered)]


def parse_regime(text: str) -> tuple[int, float]:
    steps, _, cfg = text.partition("x")
    try:
        parsed = int(steps), float(cfg)
    except ValueError:
        parsed = (0, float("nan"))
    if parsed[0] < 1 or not math.isfinite(parsed[1]) or parsed[1] < 1.0:
        raise ValueError(
            f"--regimes entries must be STEPSxCFG with steps >= 1 and CFG >= 1 (e.g. 30x3), got {text!r}"
        )
    return parsed


@dataclass(frozen=True)
class Row:
    """One run of the plan: where, what, how many steps, under which cap (nan: none)."""

    size: str
    config: str
    offload: bool
    steps: int
    cfg: float
    cap: float = float("nan")

    def key(self) -> tuple[str, str, bool, int, float, str]:
        return (self.size, self.config, self.offload, self.steps, self.cfg, f"{self.cap:g}")


def matrix_rows(sizes: list[str], regimes: list[tuple[int, float]], caps: list[float]) -> list[Row]:
    """The matrix in order of importance, smallest cap first: the first size in the first regime
    (the targets), every size in the last regime (the cheapest), then the rest."""
    groups = [(sizes[0], regimes[0])] + [(size, regimes[-1]) for size in sizes]
    groups += [(size, regime) for regime in regimes for size in sizes]
    ordered = list(dict.fromkeys(groups))
    return [
        Row(size, config, True, steps, cfg, cap)
        for cap in sorted(caps)
        for size, (steps, cfg) in ordered
        for config in matrix_configs()
    ]


def result_key(r: RunResult) -> tuple[str, str, bool, int, float, str]:
    return (r.size, r.config, r.offload, r.steps, r.cfg, f"{r.memory_cap_gib:g}")


def estimate_seconds(row: Row, dims: Dims, stream_bytes_per_s: float, block_bytes: float) -> float:
    """The cost model's time of a row; streamed calls take at least their transfers."""
    width, height, frames = parse_size(row.size)
    settings = run_settings(row.config, row.steps, row.cfg)
    plan = core_plan(_core.PixelShape(width, height, frames, FPS), settings, row.steps, dims, cfg=row.cfg)
    calls = row.steps * (2 if row.cfg != 1.0 else 1) / float(plan.predicted_speedup)
    transfer = calls * block_bytes / stream_bytes_per_s if row.offload else 0.0
    return max(float(plan.plan_seconds), transfer)


def longest_candidates(cap_gib: float, fitted: list[RunResult]) -> list[int]:
    """Frame counts to probe for the longest clip under ``cap_gib`` at 1280x704: the memory
    bound's prediction from the measured dense rows (activations per token), in 10% steps down."""
    width, height = LONGEST_WIDTH_HEIGHT
    per_frame_tokens = (width // 32) * (height // 32)
    rows = [r for r in fitted if r.fit == "fit" and r.config == "dense" and not math.isnan(r.activations_gib)]
    if not rows:
        return []
    best = max(rows, key=lambda r: r.activations_gib)
    w, h, f = parse_size(best.size)
    tokens = ((f - 1) // 8 + 1) * (w // 32) * (h // 32)
    per_token = best.activations_gib / tokens
    room = cap_gib - best.resident_gib - best.weights_in_flight_gib
    # From 10% above the prediction down, so a fit after an OOM brackets the longest clip.
    latent_frames = int(1.1 * room / per_token / per_frame_tokens)
    out = []
    for _ in range(4):
        if latent_frames < 2:
            break
        out.append((latent_frames - 1) * 8 + 1)
        latent_frames = int(latent_frames * 0.9)
    return out


def cudnn_graph_status() -> dict[str, object]:
    """What the frame-batched attention's in-place cuDNN graphs did in this process."""
    from ltx2_efficient.torch_glue import cudnn_graph

    status = cudnn_graph.status()
    status["declined"] = sorted(set(status["declined"].values()))
    return status


STREAM_BYTES_PER_S = 52e9  # host-to-device rate of the streamed runs (docs/BENCHMARKS.md)


def build_parser() -> argparse.ArgumentParser:
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
    parser.add_argument(
        "--memory-cap-gb",
        type=float,
        nargs="+",
        default=None,
        help="GiB the process may use on the GPU (enforced with torch's per-process memory fraction), "
        "one or more caps: the streamed runs run under each, smallest first",
    )
    parser.add_argument(
        "--matrix",
        action="store_true",
        help="the low-VRAM matrix: streamed weights under each cap (default 8 and 12 GiB), --lengths x "
        "(dense, window alone, each preset's schedule) x --regimes, then the longest 1280x704 clip that fits",
    )
    parser.add_argument("--lengths", nargs="+", default=None, help=f"matrix sizes (default {MATRIX_SIZES})")
    parser.add_argument(
        "--regimes", nargs="+", default=None, help=f"matrix STEPSxCFG (default {MATRIX_REGIMES})"
    )
    parser.add_argument("--no-longest", action="store_true", help="matrix without the longest-clip probes")
    parser.add_argument(
        "--resume", type=Path, default=None, help="e2e.json of an earlier call: its rows are kept"
    )
    parser.add_argument(
        "--plan-only", action="store_true", help="print the rows and their estimates, run nothing"
    )
    return parser


def plan_rows(args: argparse.Namespace) -> list[Row]:
    """Every run the arguments ask for, in order: on-GPU runs, then streamed runs (per cap)."""
    rows = [Row(size, config, False, args.steps, args.cfg) for size, config in args.gpu_runs]
    caps = args.memory_cap_gb or [float("nan")]
    for cap in sorted(caps):
        rows += [Row(size, config, True, args.steps, args.cfg, cap) for size, config in args.offload_runs]
    if args.matrix:
        sizes = args.lengths or MATRIX_SIZES
        for size in sizes:
            parse_size(size)
        regimes = [parse_regime(r) for r in (args.regimes or MATRIX_REGIMES)]
        rows += matrix_rows(sizes, regimes, args.memory_cap_gb or MATRIX_CAPS_GIB)
    return rows


def check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.steps < 1:
        parser.error(f"--steps must be >= 1, got {args.steps}")
    try:
        args.gpu_runs = parse_runs(
            args.runs if args.runs is not None else ([] if args.matrix else DEFAULT_RUNS)
        )
        default_offload = [] if args.tiny or args.matrix else DEFAULT_OFFLOAD_RUNS
        args.offload_runs = parse_runs(args.offload if args.offload is not None else default_offload)
        for text in args.regimes or []:
            parse_regime(text)
        for size in args.lengths or []:
            parse_size(size)
    except ValueError as exc:
        parser.error(str(exc))
    for cap in args.memory_cap_gb or []:
        if not math.isfinite(cap) or cap <= 0:
            parser.error(f"--memory-cap-gb must be in (0, the GPU's memory] GiB, got {cap!r}")
    if args.memory_cap_gb and not (args.offload_runs or args.matrix):
        parser.error("--memory-cap-gb applies to streamed runs: give --offload SIZE:cfg,... or --matrix")
    if (args.lengths or args.regimes) and not args.matrix:
        parser.error("--lengths and --regimes belong to --matrix")


class Bench:
    """The model, the device and the results of one call; runs rows within the time budget."""

    def __init__(self, args: argparse.Namespace, device: torch.device, dims: Dims, device_name: str) -> None:
        self.args, self.device, self.dims, self.device_name = args, device, dims, device_name
        self.results: list[RunResult] = []
        self.done: set[tuple[str, str, bool, int, float, str]] = set()
        self.dense_seconds: dict[tuple[str, bool, int, float], float] = {}
        self.model: torch.nn.Module | None = None
        self.streamer: BlockStreamer | None = None
        self.started = time.perf_counter()
        self.build_seconds = 0.0

    def keep(self, r: RunResult) -> None:
        self.results.append(r)
        if r.status in ("ok", "oom") or r.fit:
            self.done.add(result_key(r))
        if r.config == "dense" and r.status == "ok":
            self.dense_seconds[(r.size, r.offload, r.steps, r.cfg)] = r.seconds

    def load_earlier(self, path: Path, dense_only: bool) -> None:
        earlier = json.loads(path.read_text())
        if earlier.get("device") != self.device_name:
            raise SystemExit(f"{path} ran on {earlier.get('device')!r}, this is {self.device_name!r}")
        for r in earlier["results"]:
            r = {"steps": earlier.get("steps", 0), "cfg": earlier.get("cfg", float("nan")), **r}
            if dense_only and not (r["config"] == "dense" and r["status"] == "ok"):
                continue
            if r["status"] in ("ok", "oom") or r.get("fit"):
                self.keep(RunResult(**{**r, "note": r.get("note") or f"from {path.name}"}))

    def write(self) -> None:
        args = self.args
        data = {
            "device": self.device_name,
            "date": time.strftime("%Y-%m-%d"),
            "command": " ".join(sys.argv),
            "steps": args.steps,
            "cfg": args.cfg,
            "cap_enforced": self.device.type == "cuda",
            "build_seconds": self.build_seconds,
            "attention_backend": _core.cuda_status(),
            "cudnn_graph": cudnn_graph_status(),
            "streaming": asdict(self.streamer.stats) if self.streamer is not None else None,
            "results": [asdict(r) for r in self.results],
        }
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "e2e.json").write_text(json.dumps(data, indent=1))
        (args.out / "e2e.md").write_text(table(self.results, self.device_name))
        if any(r.offload for r in self.results):
            table_text = memory_table(self.results, self.device_name, self.device.type == "cuda")
            (args.out / "lowvram.md").write_text(table_text)

    def implied_fit(self, row: Row) -> RunResult | None:
        """A row that fit under a smaller cap fits under this one (the cap only limits)."""
        for r in self.results:
            same = (r.size, r.config, r.offload, r.steps, r.cfg) == row.key()[:5]
            if same and r.fit == "fit" and r.memory_cap_gib < row.cap:
                return RunResult(
                    row.size, row.config, True, status="skipped", steps=row.steps, cfg=row.cfg,
                    memory_cap_gib=row.cap, fit="fit", note=f"fit under {r.memory_cap_gib:g} GiB (implied)",
                )  # fmt: skip
        return None

    def expected_seconds(self, row: Row) -> float:
        dense = self.dense_seconds.get((row.size, row.offload, row.steps, row.cfg))
        if dense is not None:
            pixels = _core.PixelShape(*parse_size(row.size), FPS)
            settings = run_settings(row.config, row.steps, row.cfg)
            return dense / predicted_speedup(pixels, settings, row.steps, self.dims, cfg=row.cfg)
        moved = self.streamer.stats.block_bytes if self.streamer is not None else stream_bytes(self.dims)
        return estimate_seconds(row, self.dims, STREAM_BYTES_PER_S, moved)

    def execute(self, row: Row, note: str = "") -> RunResult | None:
        if row.key() in self.done:
            return None
        if row.offload and not math.isnan(row.cap) and (implied := self.implied_fit(row)) is not None:
            self.keep(implied)
            return implied
        elapsed = time.perf_counter() - self.started
        expected = self.expected_seconds(row)
        if not self.args.tiny and elapsed + expected > self.args.time_budget:
            skipped = RunResult(
                row.size, row.config, row.offload, status="skipped", steps=row.steps, cfg=row.cfg
            )
            skipped.memory_cap_gib, skipped.note = row.cap, f"~{expected:.0f} s over budget"
            self.results.append(skipped)
            return skipped
        args = argparse.Namespace(
            **{**vars(self.args), "steps": row.steps, "cfg": row.cfg, "active_cap_gib": row.cap}
        )
        assert self.model is not None
        try:
            r = run_one(
                self.model, row.size, row.config, args, self.dims, self.device, row.offload, self.streamer
            )
        except Exception as exc:  # a failed run must not lose the other results
            oom = is_out_of_memory(exc)  # e.g. the inputs of a long clip, before sampling starts
            r = RunResult(row.size, row.config, row.offload, steps=row.steps, cfg=row.cfg)
            r.status, r.fit = ("oom", "OOM") if oom else ("failed", "")
            r.memory_cap_gib, r.note = row.cap, f"{type(exc).__name__}: {exc}"
            if self.streamer is not None:
                self.streamer.release_all()
        r.note = "; ".join(part for part in (r.note, note) if part)
        base = self.dense_seconds.get((row.size, row.offload, row.steps, row.cfg))
        if r.status == "ok" and row.config != "dense" and base:
            r.speedup = base / r.seconds
        elif r.status == "ok" and row.config == "dense":
            r.speedup = 1.0
        self.keep(r)
        cap = f" cap {row.cap:g} GiB" if not math.isnan(row.cap) else ""
        print(
            f"{row.size} {row.config} {row.steps}x{row.cfg:g}{' offload' if row.offload else ''}{cap}: "
            f"{r.status} {r.seconds:.1f} s, {r.speedup:.2f}x, peak {r.peak_gib:.2f} GiB | {r.log_line or r.note}",
            flush=True,
        )
        self.write()
        return r

    def longest(self, cap: float) -> None:
        """Probes the longest 1280x704 clip that fits under ``cap`` (one dense step, CFG 1)."""
        fitted = [r for r in self.results if r.offload]  # activations per token do not depend on the cap
        for frames in longest_candidates(cap, fitted):
            size = f"{LONGEST_WIDTH_HEIGHT[0]}x{LONGEST_WIDTH_HEIGHT[1]}x{frames}"
            r = self.execute(Row(size, "dense", True, 1, 1.0, cap), note="longest-clip probe")
            if r is not None and r.fit == "fit":
                return


def stream_bytes(dims: Dims) -> float:
    """Bytes of block weights one streamed model call moves (bf16; the core counts the video
    stream's weights, a lower bound of the audio-video block's)."""
    mdims = _core.ModelDims()
    mdims.blocks, mdims.heads, mdims.head_dim, mdims.context_dim = (
        dims.blocks,
        dims.heads,
        dims.head_dim,
        dims.context,
    )
    return float(dims.blocks * mdims.block_params() * 2)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    check_args(parser, args)
    device = torch.device("cpu" if args.tiny or not torch.cuda.is_available() else "cuda")
    args.dtype = torch.float32 if device.type == "cpu" else torch.bfloat16
    dims = Dims.tiny() if args.tiny else Dims()
    rows = plan_rows(args)
    device_name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    bench = Bench(args, device, dims, device_name)
    if args.plan_only:
        total = 0.0
        for row in rows:
            seconds = bench.expected_seconds(row)
            total += seconds
            print(f"{row.size} {row.config} {row.steps}x{row.cfg:g} cap {row.cap:g}: ~{seconds:.0f} s")
        print(f"{len(rows)} rows, ~{total:.0f} s by the cost model (before implied fits and skips)")
        return 0
    if device.type == "cuda" and args.memory_cap_gb:
        for cap in args.memory_cap_gb:  # validated against this GPU before anything runs
            memory_cap_fraction(cap, torch.cuda.get_device_properties(device).total_memory)

    t0 = time.perf_counter()
    bench.model = build_model(dims, device, args.dtype)
    bench.build_seconds = time.perf_counter() - t0
    print(
        f"model: {sum(p.numel() for p in bench.model.parameters()) / 1e9:.2f} B parameters on {device_name}, "
        f"built in {bench.build_seconds:.1f} s; attention: {_core.cuda_status()}",
        flush=True,
    )
    # Warm up kernels and the allocator on the smallest request.
    warm = argparse.Namespace(**{**vars(args), "steps": 1})
    run_one(bench.model, "640x352x121", "dense", warm, dims, device, False)
    if args.reference is not None:
        bench.load_earlier(args.reference, dense_only=True)
    if args.resume is not None:
        bench.load_earlier(args.resume, dense_only=False)

    for row in (r for r in rows if not r.offload):
        bench.execute(row)
    streamed = [r for r in rows if r.offload]
    if streamed:
        run_streamed(bench, streamed)
    bench.write()
    print()
    print(table(bench.results, device_name))
    if any(r.offload for r in bench.results):
        print(memory_table(bench.results, device_name, device.type == "cuda"))
    return 0


def run_streamed(bench: Bench, rows: list[Row]) -> None:
    """The streamed rows, cap by cap (smallest first); with --matrix each cap's longest-clip
    probes follow its first group of rows."""
    assert bench.model is not None
    device = bench.device
    bench.streamer = BlockStreamer(bench.model.transformer_blocks, device)
    print(
        f"offload: streaming {bench.streamer.stats.block_bytes / GIB:.1f} GiB of block weights per call",
        flush=True,
    )
    caps = sorted({r.cap for r in rows if not math.isnan(r.cap)})
    try:
        for row in (r for r in rows if math.isnan(r.cap)):
            bench.execute(row)
        probe = bench.args.matrix and not bench.args.no_longest
        for cap in caps:
            if device.type == "cuda":
                apply_memory_cap(cap, device)
            capped = [r for r in rows if r.cap == cap]
            # The longest clip right after the first group (its dense run sets the prediction).
            first = len(matrix_configs()) if probe else len(capped)
            for row in capped[:first]:
                bench.execute(row)
            if probe:
                bench.longest(cap)
            for row in capped[first:]:
                bench.execute(row)
    finally:
        if device.type == "cuda":
            torch.cuda.set_per_process_memory_fraction(1.0, device)
        bench.streamer.remove()


if __name__ == "__main__":
    sys.exit(main())
