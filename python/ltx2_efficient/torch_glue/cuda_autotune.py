"""Picks the fastest of the equivalent CUDA paths for window attention, once per call shape.

On a GPU the C++ kernel, the frame-batched fused SDPA and the chunked-SDPA loop compute the same
function (the tests hold them to the same float64 reference), but which one is fastest depends on
the card and the size: a single-launch kernel wins where launch overhead dominates, the vendor's
fused SDPA over frame windows wins on Hopper at the LTX-2 sizes. The first call of a shape times
each (one warm-up each, then three rounds that run every candidate once, with CUDA events and the
L2 cache flushed before each timed run, as it is in a model where other layers run in between;
no output is kept meanwhile, the winner runs once more for the result) and every later call of
that shape takes the winner.
``LTX2EFF_ATTENTION_AUTOTUNE=0`` turns this off (always the kernel). Nothing is measured while a
CUDA graph is being captured: the kernel runs.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Callable, Hashable
from typing import TypeVar

import torch

from ltx2_efficient import config

log = logging.getLogger(__name__)

AUTOTUNE_ENV = config.ATTENTION_AUTOTUNE_ENV
_TIMED_RUNS = 3
_choices: dict[Hashable, str] = {}
R = TypeVar("R")


def enabled() -> bool:
    """Whether autotuning is on (``LTX2EFF_ATTENTION_AUTOTUNE``, default on; see ``config``)."""
    return config.attention_autotune()


def cached_choice(key: Hashable) -> str | None:
    return _choices.get(key)


def choices() -> dict[Hashable, str]:
    """Every decision made so far (shape key -> path name)."""
    return dict(_choices)


def clear() -> None:
    _choices.clear()


class _L2Flush:
    """Evicts the L2 cache of the current device before a timed run (a buffer the size of its L2,
    zeroed), so a candidate that re-reads inputs cached by its own previous run gets no advantage
    the model would not give it. Nothing to do off the GPU. The caller makes the inputs' device
    current."""

    def __init__(self) -> None:
        self.buffer: torch.Tensor | None = None
        if torch.cuda.is_available():
            props = torch.cuda.get_device_properties(torch.cuda.current_device())
            size = int(getattr(props, "L2_cache_size", 0)) or 64 << 20
            try:
                self.buffer = torch.empty(size, dtype=torch.uint8, device="cuda")
            except torch.OutOfMemoryError:  # a full card: time without the flush
                log.info("autotune: no memory for the L2 flush buffer; timing without it")

    def __call__(self) -> None:
        if self.buffer is not None:
            self.buffer.zero_()


def _timed_run(fn: Callable[[], object], flush: _L2Flush) -> float:
    """One run of fn in milliseconds (CUDA events on the GPU). Its result is not kept, so a
    candidate never holds more than one output."""
    flush()
    if torch.cuda.is_available():
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        return start.elapsed_time(end)
    t0 = time.perf_counter()  # host-side work only (tests)
    fn()
    return (time.perf_counter() - t0) * 1e3


def pick(key: Hashable, candidates: dict[str, Callable[[], R]], describe: str) -> tuple[str, R]:
    """Times every candidate for ``key``, remembers the fastest, returns (name, its result).

    Each candidate runs once to warm up (graph builds, first-call allocations), then the timed runs
    go round the candidates in turn, so a drift of clocks or temperature meets all of them alike;
    each candidate's time is the median of its runs. No candidate's output is kept while the others
    run (the first call of a shape would otherwise hold one output per candidate): the winner runs
    once more for the result. A candidate that raises is dropped (the error of the last one is
    re-raised if all fail).
    """
    error: Exception | None = None
    live: dict[str, Callable[[], R]] = {}
    for name, fn in candidates.items():
        try:
            fn()  # warm-up; the output is not kept
            live[name] = fn
        except (RuntimeError, ValueError) as exc:  # Unavailable is a RuntimeError
            error = exc
            log.info("window attention %s: %s cannot run: %s", describe, name, exc)
    runs: dict[str, list[float]] = {name: [] for name in live}
    flush = _L2Flush()
    for _ in range(_TIMED_RUNS):
        for name in list(live):
            try:
                runs[name].append(_timed_run(live[name], flush))
            except (RuntimeError, ValueError) as exc:
                error = exc
                del live[name], runs[name]
                log.info("window attention %s: %s cannot run: %s", describe, name, exc)
    del flush
    timings = {name: statistics.median(times) for name, times in runs.items()}
    if not timings:
        assert error is not None
        raise error
    # The fastest that also gives its result now (a path that fails on this last run is dropped).
    for best in sorted(timings, key=timings.__getitem__):
        try:
            result = live[best]()
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
