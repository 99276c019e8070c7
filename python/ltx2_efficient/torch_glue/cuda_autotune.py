"""Picks the fastest of the equivalent CUDA paths for window attention, once per call shape.

On a GPU the C++ kernel, the frame-batched fused SDPA and the chunked-SDPA loop compute the same
function (the tests hold them to the same float64 reference), but which one is fastest depends on
the card and the size: a single-launch kernel wins where launch overhead dominates, the vendor's
fused SDPA over frame windows wins on Hopper at the LTX-2 sizes. The first call of a shape times
each (one warm-up and three timed runs, with CUDA events; no output is kept meanwhile, the winner
runs once more for the result) and every later call of that shape takes the winner.
``LTX2EFF_ATTENTION_AUTOTUNE=0`` turns this off (always the kernel). Nothing is measured while a
CUDA graph is being captured: the kernel runs.
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


def _time_ms(fn: Callable[[], object]) -> float:
    """Median time of fn over the timed runs, after one warm-up. Each result is dropped as soon as
    its run is timed, so a candidate never holds more than one output."""
    fn()  # warm-up
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
        del result
    return statistics.median(times)


def pick(key: Hashable, candidates: dict[str, Callable[[], R]], describe: str) -> tuple[str, R]:
    """Times every candidate once for ``key``, remembers the fastest, returns (name, its result).

    No candidate's output is kept while the others run (the first call of a shape would otherwise
    hold one output per candidate): the winner runs once more for the result. A candidate that
    raises is skipped (the error of the last one is re-raised if all fail).
    """
    timings: dict[str, float] = {}
    error: Exception | None = None
    for name, fn in candidates.items():
        try:
            timings[name] = _time_ms(fn)
        except (RuntimeError, ValueError) as exc:  # Unavailable is a RuntimeError
            error = exc
            log.info("window attention %s: %s cannot run: %s", describe, name, exc)
    if not timings:
        assert error is not None
        raise error
    # The fastest that also gives its result now (a path that fails on this last run is dropped).
    for best in sorted(timings, key=timings.__getitem__):
        try:
            result = candidates[best]()
        except (RuntimeError, ValueError) as exc:
            error = exc
            continue
        _choices[key] = best
        log.info(
            "window attention %s: %s -> %s",
            describe,
            ", ".join(f"{name} {ms:.3f} ms" for name, ms in timings.items()),
            best,
        )
        return best, result
    assert error is not None
    raise error


def capturing() -> bool:
    return torch.cuda.is_available() and torch.cuda.is_current_stream_capturing()
