"""The state the ComfyUI patch shares between its wrappers and its attention override.

``PatchConfig`` is fixed when a model is patched (settings, model shapes, the keyframe-phase
time scale, and for a phase of the sampler node the request's step schedule with the phase's
first step); it lives in ``model_options["transformer_options"][CONFIG_KEY]``. ``RunState`` is
made fresh for every sampling run by the ``OUTER_SAMPLE`` wrapper (ComfyUI's ``guider.sample``)
and lives in ``transformer_options[RUN_KEY]`` for that run: the step schedule and the step of
the current call, the step-reuse controller, the windowed attention callable with its
counters, the block whose attention runs, model-call counters. ``GEOMETRY_KEY``
carries the token layout of the current transformer call from the ``DIFFUSION_MODEL`` wrapper
down to the attention override (ComfyUI passes the same ``transformer_options`` to every
attention call).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from ltx2_efficient import _core
from ltx2_efficient.hosts.comfyui.ltx_model import LtxModelInfo
from ltx2_efficient.hosts.comfyui.step_clock import StepClock
from ltx2_efficient.sampler.attention_patch import AttentionStats, WindowedSelfAttention
from ltx2_efficient.sampler.reuse import ReuseSummary, StepReuse
from ltx2_efficient.sampler.settings import EfficientSettings

CONFIG_KEY = "ltx2eff_config"
RUN_KEY = "ltx2eff_run"
GEOMETRY_KEY = "ltx2eff_geometry"
WRAPPER_KEY = "ltx2eff"


@dataclass
class ChunkSize:
    """Tokens per feed-forward chunk for the current call (None = unchunked)."""

    tokens: int | None = None


@dataclass
class PatchConfig:
    """What a patched model does; shared by every run of that model."""

    settings: EfficientSettings
    model: LtxModelInfo
    time_scale: float = 1.0  # frame-rate divisor (keyframe phase: the stride)
    phase: str = "sample"  # label for reports: "sample", "full", "keyframes" or "refine"
    schedule: _core.StepSchedule | None = None  # the request's schedule (None: one per run)
    step_offset: int = 0  # request step of this run's first step (a phase of the sampler node)
    chunk: ChunkSize = field(default_factory=ChunkSize)
    text_kv: list[Any] = field(default_factory=list)  # text K/V caches (text_kv_patch.CachedForward)
    on_run_end: Callable[[RunState], None] | None = None  # after every run, even on error (reports)


@dataclass
class RunState:
    """Counters and controllers of one ``guider.sample`` run."""

    config: PatchConfig
    settings: EfficientSettings  # config.settings, its preset resolved for this run's regime
    steps: int
    attention: WindowedSelfAttention
    schedule: _core.StepSchedule | None = None
    reuse: StepReuse | None = None
    clock: StepClock = field(default_factory=StepClock)
    step: int | None = None  # request step of the current call (None: unknown)
    block: int | None = None  # transformer block whose video self-attention runs (None: unknown)
    windowed_steps: set[int] = field(default_factory=set)  # request steps that ran windowed
    dense_blocks: set[int] = field(default_factory=set)  # blocks kept dense on windowed steps
    model_calls: int = 0  # transformer forwards that ran
    reused_calls: int = 0  # transformer forwards replaced by a reused output
    token_passes: float = 0.0  # video tokens x batch over the forwards that ran
    seen_token_passes: float = 0.0  # the same over every forward asked for (ran or reused)
    batch: int = 0
    grid: tuple[int, int, int] | None = None
    global_tokens: int = 0
    chunk_tokens: int | None = None
    notes: list[str] = field(default_factory=list)
    audio_cache: dict[Any, torch.Tensor] = field(default_factory=dict)
    ambiguous_calls: int = 0
    text_kv_reused: int = 0
    text_kv_computed: int = 0

    @property
    def stats(self) -> AttentionStats:
        return self.attention.stats

    def add_note(self, note: str) -> None:
        if note not in self.notes:
            self.notes.append(note)

    def window_on_step(self) -> bool:
        """Whether the schedule windows the current call's step (refine phase: its own flag)."""
        schedule = self.schedule
        if schedule is None or not self.settings.window_enabled:
            return False
        if self.config.phase == "refine":
            return bool(schedule.refine_windowed)
        if self.step is None:
            # No schedule position (a sampler outside ComfyUI's CFGGuider): window only when
            # the schedule windows every step.
            every = schedule.windowed_steps == schedule.steps
            self.add_note("step unknown: " + ("windowed as on every step" if every else "dense attention"))
            return every
        return 0 <= self.step < schedule.steps and bool(schedule.at(self.step).window)

    def window_on_block(self) -> bool:
        """Whether the current block windows on a windowed step (dense first/last blocks)."""
        schedule = self.schedule
        blocks = self.config.model.layers
        if schedule is None or blocks <= 0:
            return True
        if self.block is None:
            if schedule.dense_first_blocks or schedule.dense_last_blocks:
                self.add_note("block index unknown: dense first/last blocks not applied")
            return True
        return bool(schedule.block_windowed(self.block, blocks))

    def reuse_summary(self) -> ReuseSummary | None:
        return self.reuse.summary() if self.reuse is not None else None
