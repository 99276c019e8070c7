"""The state the ComfyUI patch shares between its wrappers and its attention override.

``PatchConfig`` is fixed when a model is patched (settings, model shapes, the keyframe-phase
time scale); it lives in ``model_options["transformer_options"][CONFIG_KEY]``. ``RunState`` is
made fresh for every sampling run by the ``OUTER_SAMPLE`` wrapper (ComfyUI's ``guider.sample``)
and lives in ``transformer_options[RUN_KEY]`` for that run: the step-reuse controller, the
windowed attention callable with its counters, model-call counters. ``GEOMETRY_KEY`` carries the
token layout of the current transformer call from the ``DIFFUSION_MODEL`` wrapper down to the
attention override (ComfyUI passes the same ``transformer_options`` to every attention call).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from ltx2_efficient.hosts.comfyui.ltx_model import LtxModelInfo
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
    phase: str = "sample"  # label for reports: "sample", "keyframes" or "refine"
    chunk: ChunkSize = field(default_factory=ChunkSize)
    text_kv: list[Any] = field(default_factory=list)  # text K/V caches (text_kv_patch.CachedForward)
    on_run_end: Callable[[RunState], None] | None = None  # after every run, even on error (reports)


@dataclass
class RunState:
    """Counters and controllers of one ``guider.sample`` run."""

    config: PatchConfig
    steps: int
    attention: WindowedSelfAttention
    reuse: StepReuse | None = None
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

    def reuse_summary(self) -> ReuseSummary | None:
        return self.reuse.summary() if self.reuse is not None else None
