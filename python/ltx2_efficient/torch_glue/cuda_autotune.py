"""Picks the faster of two equivalent CUDA paths for window attention, once per call shape.

On a GPU both the C++ kernel and the chunked-SDPA path compute the same function (the tests
hold them to the same float64 reference), but which one is faster depends on the card and the
size: a single-launch kernel wins where launch overhead dominates, the vendor's fused SDPA on
contiguous frame windows can win on large windows on Hopper. The first call of a shape times
both (one warm-up and three timed runs each, with CUDA events) and every later call of that
shape takes the winner. ``LTX2EFF_ATTENTION_AUTOTUNE=0`` turns this off (always the kernel).
Nothing is measured while a CUDA graph is being captured: the kernel runs.
"""

from __future__ import annotations

import logging
import os
import statistics
import time
from collections.abc import Callable, Hashable
from typing import TypeVar

import torch

log = logging.getLogger(__name__)

AUTOTUNE_ENV = "LTX2EFF_ATTENTION_AUTOTUNE"
_TIMED_RUNS = 3
_choices: dict[Hashable, str] = {}
R = TypeVar("R")


def enabled() -> bool:
    """Whether autotuning is on (``LTX2EFF_ATTENTION_AUTOTUNE``, default on)."""
    value = os.environ.get(AUTOTUNE_ENV, "1").strip().lower()
    if value not in ("0", "1", "off", "on", "false", "true"):
        raise ValueError(f"{AUTOTUNE_ENV} must be one of 0 1 on off true false, got {value!r}")
    return value in ("1", "on", "true")


def cached_choice(key: Hashable) -> str | None:
    return _choices.get(key)


def choices() -> dict[Hashable, str]:
    """Every decision made so far (shape key -> path name)."""
    return dict(_choices)


def clear() -> None:
    _choices.clear()


def _time_ms(fn: Callable[[], R]) -> tuple[float, R]:
    result = fn()  # warm-up (and the result the caller may keep)
    times = []
    for _ in range(_TIMED_RUNS):
        if torch.cuda.is_available():
            start = torch.cuda.Event(enable_timing=True)
            end = torch.cuda.Event(enable_timing=True)
            start.record()
            result = fn()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end))
        else:  # host-side work only (tests)
            t0 = time.perf_counter()
            result = fn()
            times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times), result


def pick(key: Hashable, candidates: dict[str, Callable[[], R]], describe: str) -> tuple[str, R]:
    """Times every candidate once for ``key``, remembers the fastest, returns (name, its result).

    A candidate that raises is skipped (the error of the last one is re-raised if all fail).
    """
    timings: dict[str, float] = {}
    results: dict[str, R] = {}
    error: Exception | None = None
    for name, fn in candidates.items():
        try:
            timings[name], results[name] = _time_ms(fn)
        except (RuntimeError, ValueError) as exc:  # Unavailable is a RuntimeError
            error = exc
    if not timings:
        assert error is not None
        raise error
    best = min(timings, key=timings.__getitem__)
    _choices[key] = best
    log.info(
        "window attention %s: %s -> %s",
        describe,
        ", ".join(f"{name} {ms:.3f} ms" for name, ms in timings.items()),
        best,
    )
    return best, results[best]


def capturing() -> bool:
    return torch.cuda.is_available() and torch.cuda.is_current_stream_capturing()
