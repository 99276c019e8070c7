"""One clear error for an out-of-memory inside a sampling run, naming the knobs that lower the peak.

When the device runs out of memory in the middle of a run, a host frees the sampler's caches
(step-reuse outputs, the text K/V cache, its own latents) and raises :class:`SamplerOutOfMemory`,
whose message says where it happened and which knobs lower the peak of what was running::

    out of memory in the refine phase (step 2 of 3, 29,040 video tokens per model call): set
    activation_budget_mb (now 0, e.g. 2048) ...; the sampler's caches were freed

It subclasses ``torch.OutOfMemoryError`` (``torch.cuda.OutOfMemoryError``), so a host that handles
out-of-memory errors (ComfyUI unloads its models and stays usable) still recognises it.
"""

from __future__ import annotations

import gc
import traceback
from dataclasses import dataclass

import torch

from ltx2_efficient.sampler.settings import EfficientSettings

MODEL_CALL_PHASES = ("denoise", "keyframes", "finish", "refine")
"""Phases whose memory peak is a model call (the rest run between calls: "interpolate")."""

SUGGESTED_BUDGET_MB = 2048  # a starting point for activation_budget_mb when it is unset


@dataclass(frozen=True)
class Where:
    """What was running when memory ran out."""

    phase: str  # a MODEL_CALL_PHASES entry, or "interpolate"
    step: int = -1  # the step index within the phase's schedule (-1: between steps)
    steps: int = 0
    tokens: int = 0  # video tokens per model call (grid + appended)
    chunk_tokens: int | None = None  # the activation budget's token chunk in use


class SamplerOutOfMemory(torch.OutOfMemoryError):
    """Out of memory inside a sampling run; ``knobs`` are the settings that lower its peak."""

    def __init__(self, message: str, where: Where, knobs: tuple[str, ...]) -> None:
        super().__init__(message)
        self.where = where
        self.knobs = knobs


def is_out_of_memory(exc: BaseException) -> bool:
    """torch's out-of-memory error (CUDA and other devices raise ``torch.OutOfMemoryError``)."""
    return isinstance(exc, torch.OutOfMemoryError)


def _model_call_advice(settings: EfficientSettings, where: Where) -> list[tuple[str, str]]:
    advice: list[tuple[str, str]] = []
    budget = settings.activation_budget_mb
    if budget == 0:
        advice.append(
            (
                "activation_budget_mb",
                f"set activation_budget_mb (now 0, e.g. {SUGGESTED_BUDGET_MB}): the feed-forward and dense "
                "attention then run over token chunks",
            )
        )
    elif where.chunk_tokens is not None and where.chunk_tokens <= 256:
        advice.append(
            (
                "activation_budget_mb",
                f"activation_budget_mb ({budget} MB) is already at its smallest chunk (256 tokens)",
            )
        )
    else:
        advice.append(("activation_budget_mb", f"lower activation_budget_mb (now {budget} MB)"))
    if not settings.window_enabled:
        advice.append(
            (
                "window",
                "turn on window attention (window / attention_window >= 0): it never holds a score matrix",
            )
        )
    if where.phase == "keyframes" or (where.phase == "denoise" and settings.frame_stride == 1):
        advice.append(
            (
                "frame_stride",
                f"raise frame_stride (now {settings.frame_stride}): the keyframe phase diffuses fewer frames",
            )
        )
    elif where.phase == "refine":
        advice.append(("refine_steps", "refine_steps 0 skips the full-length refine phase"))
    elif where.phase == "finish":
        advice.append(("keyframe_end", "keyframe_end 1 keeps the last steps on the keyframes"))
    return advice


def advice_for(settings: EfficientSettings, where: Where) -> list[tuple[str, str]]:
    """(knob, what to do) pairs that lower the peak of what was running at ``where``."""
    if where.phase in MODEL_CALL_PHASES:
        return _model_call_advice(settings, where)
    if settings.interpolation == "upsampler":
        return [("interpolation", "interpolation lerp or motion runs on the CPU instead of the upsampler")]
    return [("frame_stride", "a smaller frame_stride interpolates fewer frames at once")]


def out_of_memory_error(settings: EfficientSettings, where: Where) -> SamplerOutOfMemory:
    """The error to raise (after freeing the caches, :func:`free_after_out_of_memory`)."""
    advice = advice_for(settings, where)
    place = f"in the {where.phase} phase"
    details = []
    if where.step >= 0:
        details.append(f"step {where.step + 1} of {where.steps}")
    if where.tokens:
        details.append(f"{where.tokens:,} video tokens per model call")
    if details:
        place += f" ({', '.join(details)})"
    what = "; ".join(text for _, text in advice)
    message = f"out of memory {place}: {what}; the sampler's caches were freed"
    return SamplerOutOfMemory(message, where, tuple(knob for knob, _ in advice))


def free_after_out_of_memory(exc: BaseException) -> None:
    """Releases what the failed run still holds: the frames of its traceback (their tensors),
    then the allocator's cached blocks, so the next run (or another node) has the memory."""
    if exc.__traceback__ is not None:
        traceback.clear_frames(exc.__traceback__)
    gc.collect()
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.empty_cache()
