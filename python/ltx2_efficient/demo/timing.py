"""Timings that survive a shared machine: every run is timed several times, the repeats of all
runs interleaved (so that load which comes and goes hits each of them alike), and each run
reports the median with its spread. The work ratio (model calls, token-passes) is exact and is
printed beside the measured speedup: a speedup far from it, or a wide spread, says the timing
is noise.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from typing import Any

# Spread (max - min over the median) above which a timing is flagged as unreliable.
NOISY_SPREAD = 0.15
MAX_REPEATS = 9


def check_repeats(repeats: int) -> int:
    if not 1 <= repeats <= MAX_REPEATS:
        raise ValueError(f"repeats must be in [1, {MAX_REPEATS}], got {repeats}")
    return repeats


def interleaved_order(names: Sequence[str], repeat: int) -> list[str]:
    """The order of repeat ``repeat`` (0-based): rotated by one each time, so that no run always
    comes first (or right after the expensive one)."""
    shift = repeat % len(names)
    return [*names[shift:], *names[:shift]]


def time_interleaved(
    names: Sequence[str],
    repeats: int,
    time_one: Callable[[str], float],
    first: dict[str, float] | None = None,
) -> dict[str, list[float]]:
    """Seconds of every run of every name: ``first`` holds one already-made timing per name (the
    generation pass), the rest come from ``time_one`` in interleaved order."""
    samples: dict[str, list[float]] = {name: [] for name in names}
    start = 0
    if first is not None:
        for name in names:
            samples[name].append(first[name])
        start = 1
    for repeat in range(start, repeats):
        for name in interleaved_order(names, repeat):
            samples[name].append(time_one(name))
    return samples


def spread(samples: Sequence[float]) -> float:
    """(max - min) / median: 0 for a single sample."""
    middle = statistics.median(samples)
    return (max(samples) - min(samples)) / middle if middle > 0 else 0.0


def timing_summary(run: Sequence[float], dense: Sequence[float]) -> dict[str, Any]:
    """Median, spread and the speedup over the dense run (median over median, with the range of
    the repeat-by-repeat ratios); ``noisy`` when either spread is wide."""
    run_median = statistics.median(run)
    dense_median = statistics.median(dense)
    ratios = [d / r for d, r in zip(dense, run, strict=True) if r > 0]
    return {
        "model_s": run_median,
        "model_s_samples": list(run),
        "model_s_spread": spread(run),
        "speedup_model": dense_median / run_median if run_median > 0 else None,
        "speedup_range": [min(ratios), max(ratios)] if ratios else None,
        "timing_noisy": max(spread(run), spread(dense)) > NOISY_SPREAD,
    }


def work_ratios(summary: dict[str, Any], dense: dict[str, Any]) -> dict[str, float | None]:
    """The dense run's work over this run's: model calls and token-passes (exact, not timed)."""
    return {
        "work_ratio_calls": dense["model_calls"] / summary["model_calls"] if summary["model_calls"] else None,
        "work_ratio_token_passes": (
            dense["token_passes"] / summary["token_passes"] if summary["token_passes"] else None
        ),
    }


def spread_cell(summary: dict[str, Any]) -> str:
    """ "4%", or "1 run" where a single timing has no spread."""
    if len(summary.get("model_s_samples", [])) < 2:
        return "1 run"
    return f"{summary.get('model_s_spread', 0.0):.0%}"


def speedup_cell(summary: dict[str, Any]) -> str:
    """ "2.31x (2.10-2.40)" with a '?' when noisy; "n/a" without a timing."""
    value = summary.get("speedup_model")
    if value is None:
        return "n/a"
    cell = f"{value:.2f}x"
    low_high = summary.get("speedup_range")
    if low_high is not None and len(summary.get("model_s_samples", [])) > 1:
        cell += f" ({low_high[0]:.2f}-{low_high[1]:.2f})"
    return cell + (" ?" if summary.get("timing_noisy") else "")
