"""Trains the demo model: flow matching, AdamW, bf16 autocast on CUDA, EMA, prompt dropout.

The loop stops on a step count or a wall-clock limit, whichever comes first; the learning rate
follows the elapsed share of that budget (warm-up, then cosine), so a time-limited run still
anneals. Everything written goes to ``out_dir``: weights (EMA and raw), config, loss log.

Started by ``torchrun`` (``WORLD_SIZE`` > 1) it trains data-parallel: every process renders its
own batches, gradients are averaged across processes, and rank 0's clock decides the learning
rate and the stop for all of them, so the replicas stay identical; rank 0 writes the outputs.
"""

from __future__ import annotations

import copy
import csv
import json
import math
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch

from ltx2_efficient.demo.clip_stream import ClipStream, StreamBatch, StreamSpec, next_batch
from ltx2_efficient.demo.data_parallel import DataParallel
from ltx2_efficient.demo.distillation import teacher_velocity
from ltx2_efficient.demo.flow_matching import flow_matching_loss, noised, sample_training_sigmas
from ltx2_efficient.demo.judge_clips import JudgeBatch, JudgeStream, judge_batch
from ltx2_efficient.demo.latent_codec import encode
from ltx2_efficient.demo.model import DemoModel, DemoModelConfig, load_demo_model, save_demo_model
from ltx2_efficient.demo.model_growth import load_into


@dataclass(frozen=True)
class TrainConfig:
    model: DemoModelConfig = field(default_factory=DemoModelConfig)
    clips_per_batch: int = 96
    learning_rate: float = 6e-4
    min_learning_rate_share: float = 0.05
    warmup_steps: int = 150
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    ema_decay: float = 0.999
    prompt_drop: float = 0.1  # whole prompt -> unconditional (for CFG)
    attribute_drop: float = 0.15  # each attribute -> unspecified
    max_steps: int = 1_000_000
    time_limit_s: float = 240.0
    seed: int = 0
    device: str = "cuda" if torch.cuda.is_available() else "cpu"
    workers: int = 0
    fixed_batch: bool = False  # one batch, one noise draw, every step (smoke tests)
    log_every: int = 25
    out_dir: str = "demo-training"
    init_weights: str | None = None  # continue from these weights (same model config)
    # Distillation (``demo/distillation.py``): the teacher's weights; the student starts from
    # ``init_weights`` and learns ``model.sigmas`` without guidance.
    teacher_weights: str | None = None


@dataclass
class TrainResult:
    steps: int
    wall_time_s: float
    losses: list[float]  # per step
    final_loss: float  # mean of the last logged window
    samples_seen: int
    main_process: bool = True  # False on the other ranks of a torchrun group (they write nothing)


def train(config: TrainConfig) -> TrainResult:
    with DataParallel.from_environment(config.device) as parallel:
        return _train(config, parallel)


def _train(config: TrainConfig, parallel: DataParallel) -> TrainResult:
    device = parallel.device
    model, teacher, ema = _build_models(config, device)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.learning_rate, betas=(0.9, 0.99), weight_decay=config.weight_decay
    )
    out_dir = Path(config.out_dir)
    if parallel.is_main:
        _write_train_config(out_dir, config, parallel.world)
    # Noise, noise levels and data differ per process; the weights do not.
    generator = torch.Generator().manual_seed(config.seed + 1 + 7919 * parallel.rank)
    batches = _batches(replace(config, seed=config.seed + 1000 * parallel.rank))
    fixed: tuple[StreamBatch | JudgeBatch, torch.Tensor, torch.Tensor] | None = None
    log = _TrainLog(config.log_every, parallel.is_main)
    start = time.perf_counter()
    step = 0
    elapsed = 0.0
    while step < config.max_steps and elapsed < config.time_limit_s:
        batch = fixed[0] if fixed is not None else next(batches)
        clean = encode(batch.pixels_on(device), config.model.patch)
        segment = 0
        if fixed is not None:
            sigma, noise = fixed[1], fixed[2]
        else:
            sigma, noise, segment = _draw_noise(config, clean, teacher is not None, generator, device)
            if config.fixed_batch:
                fixed = (batch, sigma, noise)
        ids = _drop_prompt(batch.prompt_ids.to(device), config, generator)
        lr = _learning_rate(config, step, elapsed)
        for group in optimizer.param_groups:
            group["lr"] = lr
        loss = _loss(model, teacher, config, batch, clean, noise, sigma, segment, ids)
        _apply_gradients(model, optimizer, parallel, loss, config.grad_clip)
        _update_ema(ema, model, min(config.ema_decay, (1 + step) / (10 + step)))
        step += 1
        # One exchange per step: the mean loss, and rank 0's clock for every process.
        value, elapsed, clips = parallel.exchange(loss.detach(), time.perf_counter() - start, clean.shape[0])
        log.record(step, value, elapsed, lr, clips)
    wall = time.perf_counter() - start
    log.close(step, wall)
    final = log.rows[-1]["loss"] if log.rows else float("nan")
    if parallel.is_main:
        _write_outputs(out_dir, model, ema, log.rows, step, wall, final, log.samples, parallel.world)
    return TrainResult(step, wall, log.losses, final, log.samples, parallel.is_main)


def _build_models(config: TrainConfig, device: torch.device) -> tuple[DemoModel, DemoModel | None, DemoModel]:
    """The model to train (fresh or from ``init_weights``), the teacher when distilling, the EMA."""
    torch.manual_seed(config.seed)  # the same initial weights on every process
    model = DemoModel(config.model)
    if config.init_weights is not None:
        load_into(model, load_demo_model(Path(config.init_weights)), config.init_weights)
    model = model.to(device)
    teacher = None
    if config.teacher_weights is not None:
        if config.model.sigmas is None:
            raise ValueError("teacher_weights needs model.sigmas, the schedule to distill to")
        teacher = load_demo_model(Path(config.teacher_weights), device=device)
    ema = copy.deepcopy(model).requires_grad_(False)
    return model, teacher, ema


def _write_train_config(out_dir: Path, config: TrainConfig, processes: int) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "train_config.json").write_text(
        json.dumps(_jsonable({**asdict(config), "processes": processes}), indent=2) + "\n"
    )


def _draw_noise(
    config: TrainConfig,
    clean: torch.Tensor,
    distilling: bool,
    generator: torch.Generator,
    device: torch.device,
) -> tuple[torch.Tensor, torch.Tensor, int]:
    """(sigma per clip, noise, schedule segment): sampled noise levels when training, one segment
    of the distilled schedule when distilling."""
    b = clean.shape[0]
    segment = 0
    if not distilling:
        sigma = sample_training_sigmas(b, math.prod(clean.shape[2:]), generator).to(device)
    else:
        segment = int(torch.randint(len(config.model.sigmas) - 1, (1,), generator=generator))
        sigma = torch.full((b,), config.model.sigmas[segment], device=device)
    noise = torch.randn(clean.shape, generator=generator).to(device)
    return sigma, noise, segment


def _loss(
    model: DemoModel,
    teacher: DemoModel | None,
    config: TrainConfig,
    batch: StreamBatch | JudgeBatch,
    clean: torch.Tensor,
    noise: torch.Tensor,
    sigma: torch.Tensor,
    segment: int,
    ids: torch.Tensor,
) -> torch.Tensor:
    """Flow matching against the data, or (distilling) against the teacher's guided velocity."""
    device = clean.device
    x = noised(clean, noise, sigma)
    with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
        if teacher is not None:
            target = teacher_velocity(
                teacher,
                x,
                config.model.sigmas,
                segment,
                teacher.context(ids),
                teacher.context(torch.zeros_like(ids)),
                batch.frame_rate,
            )
        predicted = model.velocity(x, sigma, model.context(ids), batch.frame_rate)
    if teacher is None:
        return flow_matching_loss(predicted, clean, noise)
    return torch.nn.functional.mse_loss(predicted.float(), target)


def _apply_gradients(
    model: DemoModel,
    optimizer: torch.optim.Optimizer,
    parallel: DataParallel,
    loss: torch.Tensor,
    grad_clip: float,
) -> None:
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    parallel.average_gradients(model.parameters())
    torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()


@dataclass
class _TrainLog:
    """Per-step losses, and one row per ``log_every`` steps with the window's mean loss."""

    log_every: int
    prints: bool  # rank 0 prints the rows
    losses: list[float] = field(default_factory=list)
    rows: list[dict[str, float]] = field(default_factory=list)
    window: list[float] = field(default_factory=list)
    samples: int = 0

    def record(self, step: int, value: float, elapsed: float, lr: float, clips: int) -> None:
        self.samples += clips
        if not math.isfinite(value):
            raise FloatingPointError(f"training loss became {value} at step {step}")
        self.losses.append(value)
        self.window.append(value)
        if step % self.log_every != 0:
            return
        row = {
            "step": step,
            "time_s": round(elapsed, 2),
            "loss": sum(self.window) / len(self.window),
            "lr": lr,
            "samples": self.samples,
        }
        self.rows.append(row)
        if self.prints:
            print(
                f"step {step:6d}  {row['time_s']:7.1f}s  loss {row['loss']:.4f}  lr {lr:.2e}  "
                f"{self.samples / max(row['time_s'], 1e-9):.0f} clips/s",
                flush=True,
            )
        self.window = []

    def close(self, step: int, wall: float) -> None:
        """Logs the steps since the last row (without a learning rate)."""
        if self.window:
            self.rows.append(
                {
                    "step": step,
                    "time_s": round(wall, 2),
                    "loss": sum(self.window) / len(self.window),
                    "lr": 0.0,
                    "samples": self.samples,
                }
            )


def _write_outputs(
    out_dir: Path,
    model: DemoModel,
    ema: DemoModel,
    log_rows: list[dict[str, float]],
    steps: int,
    wall: float,
    final: float,
    samples: int,
    processes: int,
) -> None:
    """The loss log, the EMA and raw weights (fp16) and the summary."""
    _write_log(out_dir / "loss.csv", log_rows)
    save_demo_model(ema.cpu(), out_dir / "demo_model.safetensors", out_dir / "demo_model.json", torch.float16)
    save_demo_model(model.cpu(), out_dir / "demo_model_raw.safetensors", None, torch.float16)
    summary = {
        "steps": steps,
        "wall_time_s": round(wall, 1),
        "final_loss": final,
        "samples_seen": samples,
        "processes": processes,
    }
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")


def _batches(config: TrainConfig) -> Iterator[StreamBatch | JudgeBatch]:
    spec = StreamSpec(
        image_size=config.model.image_size,
        patch=config.model.patch,
        frames=config.model.frames,
        frame_rate=config.model.frame_rate,
        clips_per_batch=config.clips_per_batch,
        seed=config.seed,
    )
    judge = config.model.scene == "judge"
    if config.fixed_batch or config.workers == 0:
        import numpy as np

        rng = np.random.default_rng(config.seed)
        weights = np.asarray(spec.stride_weights) / sum(spec.stride_weights)
        while True:
            stride = 1 if config.fixed_batch else int(rng.choice(len(weights), p=weights)) + 1
            yield judge_batch(rng, spec, stride) if judge else next_batch(rng, spec, stride)
    loader = torch.utils.data.DataLoader(
        JudgeStream(spec) if judge else ClipStream(spec),
        batch_size=None,
        num_workers=config.workers,
        prefetch_factor=4,
        persistent_workers=True,
    )
    yield from loader


def _drop_prompt(ids: torch.Tensor, config: TrainConfig, generator: torch.Generator) -> torch.Tensor:
    """Unspecified attributes (0) with ``attribute_drop``; the whole prompt with ``prompt_drop``."""
    b, n = ids.shape
    keep_attr = torch.rand(b, n, generator=generator) >= config.attribute_drop
    keep_all = torch.rand(b, 1, generator=generator) >= config.prompt_drop
    return ids * (keep_attr & keep_all).to(ids.device)


def _learning_rate(config: TrainConfig, step: int, elapsed: float) -> float:
    warm = min(1.0, (step + 1) / max(config.warmup_steps, 1))
    progress = max(elapsed / config.time_limit_s, step / config.max_steps)
    floor = config.min_learning_rate_share
    cosine = floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))
    return config.learning_rate * warm * cosine


@torch.no_grad()
def _update_ema(ema: DemoModel, model: DemoModel, decay: float) -> None:
    ema_params = [p for p in ema.parameters()]
    params = [p.detach() for p in model.parameters()]
    torch._foreach_lerp_(ema_params, params, 1.0 - decay)


def _write_log(path: Path, rows: list[dict[str, float]]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["step", "time_s", "loss", "lr", "samples"])
        writer.writeheader()
        writer.writerows(rows)


def _jsonable(value: object) -> object:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value
